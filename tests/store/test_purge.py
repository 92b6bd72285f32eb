"""Data protection: `request purge` removes closed households' details and nothing else; exports
and the database file are readable by their owner only; an internal error shows no household data.
On the suite's backend."""
from __future__ import annotations

import json
import stat
from dataclasses import asdict
from datetime import date

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from reciprocal.lifecycle import run
from reciprocal.lifecycle.run import run_round
from reciprocal import audits
from reciprocal.intake import purge
from reciprocal.ledger import balances
from reciprocal.intake.pot import add_records, import_offers, import_requests
from reciprocal.lifecycle.views import round_view
from reciprocal.storage import RequestRow
from sqlmodel import select

from tests.moves import refuse, sign_live
from tests.conftest import DEMO_DATA, ON_POSTGRES, ROUND_DAY, command, make_request

AFTER_ROUND = date(2026, 11, 24)
FAR_FUTURE = date(2100, 1, 1)


@pytest.fixture
def closed_week(db, scheme):
    """The demo week: one proposal refused, the rest signed; one request withdrawn; the other
    requests left active."""
    import_offers(db, scheme, DEMO_DATA / "offers.csv")
    import_requests(db, scheme, DEMO_DATA / "requests.csv")
    round_id = run_round(db, scheme, ROUND_DAY).round_id
    proposals = round_view(db, round_id)["proposals"]
    refuse(db, scheme, proposals[0]["id"], ROUND_DAY, "too far from school", resolve=False)
    sign_live(db, scheme, ROUND_DAY)
    open_refs = [r["request"] for r in round_view(db, round_id)["unmatched"]]
    run.request_change(db, scheme, "withdraw", open_refs[0], ROUND_DAY)
    return db


def snapshot(db) -> dict:
    """Every row of the tables purge must not touch, and each request as stored."""
    engine = create_engine(db.url, poolclass=NullPool)
    with engine.connect() as conn:
        out = {table: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()]
               for table in ("ledger_entry", "move", "offer", "checklist_item")}
    engine.dispose()
    with db.reading() as session:
        out["request"] = {r.ref: r.model_dump() for r in session.exec(select(RequestRow)).all()}
        out["balances"] = asdict(balances(session))
    return out


def test_purge_removes_closed_households_details_and_nothing_else(closed_week):
    db = closed_week
    before = snapshot(db)
    closed = {ref for ref, r in before["request"].items() if r["status"] in ("moved", "closed")}
    assert len(closed) >= 3
    result = purge.purge_closed(db, FAR_FUTURE, today=AFTER_ROUND)
    assert sorted(result.purged) == sorted(closed) and result.already_purged == 0
    after = snapshot(db)
    # The ledger (its sums and every entry with its hash), moves, homes and checklists: untouched.
    for table in ("ledger_entry", "move", "offer", "checklist_item", "balances"):
        assert after[table] == before[table], table
    verification = audits.verify(db)
    assert verification.ok, [str(f) for f in verification.failures]
    assert verification.head_hash == audits.verify(db).head_hash
    for ref, row in after["request"].items():
        if ref not in closed:
            assert row == before["request"][ref]  # open households are never purged
            continue
        for name in purge.KEPT:
            assert row[name] == before["request"][ref][name], (ref, name)
        for name, blank in purge.BLANK.items():
            assert row[name] == blank, (ref, name)
        assert row["purged_on"] == AFTER_ROUND


def test_purge_also_removes_what_rounds_wrote_about_the_household(closed_week):
    db = closed_week
    view = round_view(db, 1)
    declined = next(p for p in view["proposals"] if p["status"] == "refused")
    assert declined["decline_reason"] == "too far from school"
    assert any("risk" in reason for reason in declined["reasons"])
    withdrawn = next(r.ref for r in _requests(db) if r.status == "closed")
    assert withdrawn in [u["request"] for u in view["unmatched"]]
    purge.purge_closed(db, FAR_FUTURE, today=AFTER_ROUND)
    view = round_view(db, 1)
    note = "details of this household were purged on 2026-11-24"
    purged = {r.ref for r in _requests(db) if r.purged_on}
    for p in view["proposals"]:
        if p["request"] not in purged:  # the declined household is still open: untouched
            assert p["reasons"] != [note] and "preferences_met" in p
            continue
        assert p["reasons"] == [note]
        assert "preferences_met" not in p and "objective_contributions" not in p
        assert p["rules_passed"] and p["balance_effect"]  # what the audit needs stays
    assert next(p for p in view["proposals"] if p["id"] == declined["id"])["decline_reason"] == (
        "too far from school")  # its household is still open
    purged_unmatched = [u for u in view["unmatched"] if u["request"] == withdrawn]
    assert purged_unmatched == [{"request": withdrawn, "reason_code": purged_unmatched[0]["reason_code"],
                                 "reason": note, "provider": purged_unmatched[0]["provider"]}]
    still_open = [u for u in view["unmatched"] if u["request"] != withdrawn]
    assert still_open and all(u["reason"] != note for u in still_open)


def _requests(db) -> list[RequestRow]:
    with db.reading() as session:
        return list(session.exec(select(RequestRow)).all())


def test_purge_is_idempotent_and_keeps_to_its_date(closed_week):
    db = closed_week
    assert purge.purge_closed(db, ROUND_DAY, today=AFTER_ROUND).purged == []  # closed on, not before
    dry = purge.purge_closed(db, FAR_FUTURE, dry_run=True)
    assert dry.purged and all(r.purged_on is None for r in _requests(db))
    first = purge.purge_closed(db, FAR_FUTURE, today=AFTER_ROUND)
    assert first.purged == dry.purged
    again = purge.purge_closed(db, FAR_FUTURE, today=date(2027, 1, 1))
    assert again.purged == [] and again.already_purged == len(first.purged)
    assert {r.purged_on for r in _requests(db) if r.purged_on} == {AFTER_ROUND}


def test_a_purged_round_still_carries_on(closed_week, scheme):
    """The next round runs and closes on a purged database; the ledger still verifies."""
    db = closed_week
    purge.purge_closed(db, FAR_FUTURE, today=AFTER_ROUND)
    add_records(db, [make_request(ref="RQ-NEW", provider="fenland")])
    run_round(db, scheme, date(2026, 11, 30))
    sign_live(db, scheme, date(2026, 11, 30))
    assert audits.verify(db).ok


def test_request_purge_command(launcher, closed_week):
    db = closed_week
    url = db.url
    dry = launcher.reciprocal("request", "purge", "--closed-before", "2100-01-01", "--dry-run",
                              "--format", "json", db=url)
    assert dry.code == 0, dry.stderr
    would = json.loads(dry.stdout)
    assert would["dry_run"] is True and would["purged"]
    done = launcher.reciprocal("request", "purge", "--closed-before", "2100-01-01", db=url)
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines()[0] == (f"Closed before 2100-01-01: purged the details of "
                                           f"{len(would['purged'])} household(s); 0 already purged. "
                                           f"Moves and the ledger are kept.")
    verify = launcher.reciprocal("audit", "verify", db=url)
    assert verify.code == 0, verify.stderr
    bad = launcher.reciprocal("request", "purge", "--closed-before", "last week", db=url)
    assert bad.code == 2
    assert "'last week' is not a date (YYYY-MM-DD)" in bad.stderr
    missing = launcher.reciprocal("request", "purge", db=url)
    assert missing.code == 2 and "--closed-before" in missing.stderr


# -- files readable by their owner only, and no household data on errors ---------------------------

@pytest.mark.parametrize("args", [
    ("audit", "fairness", "--format", "csv"),
    ("audit", "fairness", "--format", "html"),
    ("report", "quarterly", "--year", "2026", "--format", "csv"),
])
def test_exports_are_readable_by_their_owner_only(launcher, tmp_path, closed_week, args):
    target = tmp_path / "export.out"
    proc = launcher.reciprocal(*args, "--output", str(target), db=closed_week.url, umask=0)
    assert proc.code == 0, proc.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    target.chmod(0o644)  # an existing file is narrowed too
    again = launcher.reciprocal(*args, "--output", str(target), db=closed_week.url, umask=0)
    assert again.code == 0, again.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.skipif(ON_POSTGRES, reason="about the SQLite file itself")
def test_the_sqlite_file_is_readable_by_its_owner_only_even_from_the_demo(launcher, tmp_path):
    proc = launcher.reciprocal("demo", "--db", str(tmp_path / "demo.db"), db=None, umask=0)
    assert proc.code == 0, proc.stderr
    assert stat.S_IMODE((tmp_path / "demo.db").stat().st_mode) == 0o600


def test_an_internal_error_shows_no_household_data(launcher, db):
    """A failure deep in the database (here a trigger refusing every new request) is reported by
    its kind only: never the SQL, its parameters, or a traceback with local variables."""
    engine = create_engine(db.url, poolclass=NullPool)
    with engine.begin() as conn:
        if ON_POSTGRES:
            conn.exec_driver_sql("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                                 "RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON request FOR EACH ROW "
                                 "EXECUTE FUNCTION refuse()")
        else:
            conn.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON request "
                                 "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    engine.dispose()
    proc = launcher.run(command(db.url, "request", "add", "--ref", "RQ-SECRET-77", "--provider", "fenland",
                                "--kind", "survivor", "--current-tenancy", "secure", "--bedrooms-needed",
                                "2", "--risk", "high", "--referred-on", "2026-10-01", "--avoid-areas",
                                "huntingdonshire", "--preferred-areas", "south_cambridgeshire"))[0]
    assert proc.code == 70
    assert proc.stdout == ""
    assert proc.stderr.startswith("internal error (")
    for secret in ("RQ-SECRET-77", "huntingdonshire", "south_cambridgeshire", "INSERT", "Traceback"):
        assert secret not in proc.stderr
