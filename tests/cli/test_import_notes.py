"""`request import` without `--on` says that staleness counts from each household's referral
(issue 20, item 2): a waiting list imported as it stands must not go stale by surprise."""
from __future__ import annotations

from tests.conftest import DEMO_DATA, ON_POSTGRES, drop_database, pg_create_database
from tests.helpers import reciprocal


def test_request_import_says_how_staleness_counts_unless_on_is_given(tmp_path):
    db = pg_create_database() if ON_POSTGRES else str(tmp_path / "r.db")
    try:
        assert reciprocal("init", db=db, cwd=tmp_path).returncode == 0
        plain = reciprocal("request", "import", str(DEMO_DATA / "requests.csv"), db=db, cwd=tmp_path)
        assert plain.returncode == 0, plain.stderr
        assert "staleness counts from each household's referral day" in plain.stderr
        assert "--on DAY" in plain.stderr and "Note:" not in plain.stdout
    finally:
        drop_database(db)
    db = pg_create_database() if ON_POSTGRES else str(tmp_path / "s.db")
    try:
        assert reciprocal("init", db=db, cwd=tmp_path).returncode == 0
        dated = reciprocal("request", "import", str(DEMO_DATA / "requests.csv"), "--on", "2026-11-23",
                           db=db, cwd=tmp_path)
        assert dated.returncode == 0, dated.stderr
        assert "staleness" not in dated.stderr
    finally:
        drop_database(db)
