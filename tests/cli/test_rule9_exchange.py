"""Issue 19, through the real commands: with `max_debt: 0`, two members each offering a home that
suits the other's household are proposed both in one round (`round run`): a member's give in a
round funds its placement in it (gives counted from `proposed`, the default). Before, no exchange
could ever start at `max_debt: 0`. On the suite's backend."""
from __future__ import annotations

import json
import re
import shutil

from tests.conftest import ON_POSTGRES, drop_database, pg_create_database
from tests.helpers import CONFIG_DIR, reciprocal

OFFERS = """ref,provider,area,bedrooms,property_type,available_from
OF-F,fenland,fenland,2,flat,2026-11-20
OF-C,cambridge_city,cambridge,2,flat,2026-11-20
"""
REQUESTS = """ref,provider,kind,current_tenancy,bedrooms_needed,avoid_areas,risk,referred_on
RQ-F,fenland,survivor,secure,2,fenland,standard,2026-10-01
RQ-C,cambridge_city,survivor,secure,2,cambridge,standard,2026-10-01
"""


def test_at_max_debt_0_two_members_swapping_one_home_each_are_proposed_in_one_round(tmp_path):
    config = tmp_path / "mou_configs"
    shutil.copytree(CONFIG_DIR, config)
    scheme_yaml = config / "scheme.yaml"
    text, n = re.subn(r"(?m)^(\s*max_debt:)\s*\d+", r"\1 0", scheme_yaml.read_text())
    assert n == 1 and "gives_count_from: proposed" in text  # the default rule: gives count from proposed
    scheme_yaml.write_text(text)
    for member in ("fenland", "cambridge_city"):
        assert "max_debt" not in (config / "providers" / f"{member}.yaml").read_text()
    (tmp_path / "offers.csv").write_text(OFFERS)
    (tmp_path / "requests.csv").write_text(REQUESTS)
    db = pg_create_database() if ON_POSTGRES else str(tmp_path / "r.db")
    try:
        for args in (("init",), ("offer", "import", "offers.csv"), ("request", "import", "requests.csv")):
            proc = reciprocal(*args, db=db, cwd=tmp_path, config=config)
            assert proc.returncode == 0, proc.stderr
        proc = reciprocal("round", "run", "--on", "2026-11-23", "--format", "json", db=db, cwd=tmp_path,
                          config=config)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert {(p["request"], p["offer"]) for p in result["proposals"]} == {("RQ-F", "OF-C"), ("RQ-C", "OF-F")}
        assert result["unmatched"] == []
        proc = reciprocal("audit", "verify", db=db, cwd=tmp_path, config=config)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "no proposal made past its member's debt limit" in proc.stdout
        # Without configs the chains are still checked, and the output says rule 9 was not.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        proc = reciprocal("audit", "verify", db=db, cwd=elsewhere, config=None)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "debt limit" not in proc.stdout and "rule 9" in proc.stderr and "was not checked" in proc.stderr
    finally:
        drop_database(db)
