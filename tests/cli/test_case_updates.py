"""`request update`, `offer update`, `request show` at the terminal (issue 21): the README's case,
a bad updates file (exit 2, every problem named, nothing written), and history shown."""
from __future__ import annotations

from tests.conftest import DEMO_DATA
from tests.helpers import reciprocal


def week1(db, tmp_path):
    for args in (("init",), ("offer", "import", str(DEMO_DATA / "offers.csv")),
                 ("request", "import", str(DEMO_DATA / "requests.csv"), "--on", "2026-11-23"),
                 ("round", "run", "--on", "2026-11-23")):
        assert reciprocal(*args, db=db, cwd=tmp_path).returncode == 0


def test_request_update_cancels_the_live_proposal_naming_the_rule_and_show_has_the_history(db_url, tmp_path):
    week1(db_url, tmp_path)
    proc = reciprocal("request", "update", "RQ-0103", "--avoid-areas", "peterborough,cambridge", "--by",
                      "referring_landlord", "--on", "2026-11-25", db=db_url, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "request RQ-0103: active -> active; updated by the referring landlord on 2026-11-25" in proc.stdout
    assert ("proposal 3 (RQ-0103 -> OF-2611-08): proposed -> cancelled; cancelled: OF-2611-08 is in cambridge, "
            "which RQ-0103 now avoids (safety_buffer)") in proc.stdout
    shown = reciprocal("request", "show", "RQ-0103", db=db_url, cwd=tmp_path)
    assert "avoid_areas peterborough -> peterborough;cambridge" in shown.stdout and "2026-08-03" in shown.stdout
    assert reciprocal("audit", "verify", db=db_url, cwd=tmp_path).returncode == 0
    again = reciprocal("request", "update", "RQ-0103", "--avoid-areas", "peterborough;cambridge", db=db_url,
                       cwd=tmp_path)
    assert again.returncode == 0 and "Nothing changed" in again.stdout


def test_a_bad_updates_file_writes_nothing_and_names_every_problem(db_url, tmp_path):
    week1(db_url, tmp_path)
    bad = tmp_path / "homes.csv"
    bad.write_text("ref,available_from,bedrooms\nOF-2611-01,2027-03-01,\nOF-2611-02,2026-02-30,x\nOF-NONE,,2\n")
    proc = reciprocal("offer", "update", "--file", str(bad), "--on", "2026-11-25", db=db_url, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    for said in ("homes.csv:3: available_from: '2026-02-30' is not a date", "homes.csv:3: bedrooms: 'x' is not a whole number",
                 "homes.csv:4: ref: no offer with ref OF-NONE"):
        assert said in proc.stderr, proc.stderr
    listed = reciprocal("proposal", "list", "--format", "json", db=db_url, cwd=tmp_path)
    assert '"cancelled"' not in listed.stdout
    shown = reciprocal("offer", "show", "OF-2611-01", db=db_url, cwd=tmp_path)
    assert "no updates since it was imported" in shown.stdout
    referred = reciprocal("request", "update", "RQ-0105", "--referred-on", "2026-07-01", db=db_url, cwd=tmp_path)
    assert referred.returncode == 2 and "referred_on changes only with a reason" in referred.stderr
