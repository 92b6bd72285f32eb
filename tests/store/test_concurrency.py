"""Two `reciprocal` processes on one round at the same moment, on the suite's backend (SQLite, or
PostgreSQL when `RECIPROCAL_TEST_DATABASE_URL` is set).

Writers take turns (`Database.transaction`: BEGIN IMMEDIATE on SQLite, an advisory lock on
PostgreSQL), so of two signings of one proposal one makes the move and the other changes nothing;
of two `round run` the second queues and sees the first's proposals as reserved; a refusal
racing a signing either lands before it or is refused after it. In every case no home is let
twice, no move is doubled, and the ledger and the proposal trail verify.

The processes are real: a launcher process imports the whole command line once and forks one
child per command; the children wait at a barrier (a file appearing) and then run `main()`
together, so both reach the database within a millisecond of each other instead of 1.5 s of
imports apart (the launcher is in conftest; `test_crash` uses it to kill commands part-way).
"""
from __future__ import annotations

import json

import pytest

from reciprocal import audits
from reciprocal.storage import Database, resolve_url

from tests.conftest import ROUND_DAY, command, copy_database, count, drop_database, no_traceback, rows
from tests.helpers import write_offers_csv

def assert_signed_once(url: str, proposal_id: int) -> None:
    """What one signing of a proposal leaves: one move, two ledger legs, three checklist items,
    its home let once and its household moved once, and a ledger and trail that verify."""
    assert rows(url, f"SELECT count(*) FROM move WHERE proposal_id = {proposal_id}") == [(1,)]
    assert count(url, "move") == 1
    assert count(url, "ledger_entry") == 2
    assert count(url, "checklist_item") == 3
    assert count(url, "offer WHERE status = 'let'") == 1
    assert count(url, "request WHERE status = 'moved'") == 1
    assert rows(url, f"SELECT status FROM proposal WHERE id = {proposal_id}") == [("signed",)]
    verification = audits.verify(Database(resolve_url(url)))
    assert verification.ok, [str(f) for f in verification.failures]


SIGN = ("proposal", "sign", "1", "--tenancy-start", "2026-12-07", "--on", "2026-11-30", "--format", "json")


# -- the races ------------------------------------------------------------------------------------

@pytest.mark.parametrize("attempt", range(3))
def test_two_signings_of_one_proposal_at_once_make_one_move(launcher, accepted_db, tmp_path, attempt):
    url = copy_database(accepted_db, tmp_path)
    try:
        outcomes = launcher.run(*[command(url, *SIGN)] * 2)
        no_traceback(outcomes)
        assert [o.code for o in outcomes] == [0, 0], [o.stderr for o in outcomes]
        changes = sorted(len(json.loads(o.stdout)["changes"]) for o in outcomes)
        assert changes == [0, 3]  # one signed (proposal, offer, request); the other changed nothing
        assert_signed_once(url, 1)
    finally:
        drop_database(url)


@pytest.mark.parametrize("attempt", range(2))
def test_two_runs_at_once_never_propose_a_home_or_household_twice(launcher, pot_db, tmp_path, attempt):
    url = copy_database(pot_db, tmp_path)
    try:
        outcomes = launcher.run(*[command(url, "round", "run", "--on", ROUND_DAY.isoformat(),
                                          "--again", "--format", "json")] * 2)
        no_traceback(outcomes)
        assert [o.code for o in outcomes] == [0, 0], [o.stderr for o in outcomes]
        # The second run queued behind the first and saw its proposals as reserved.
        assert sorted(json.loads(o.stdout)["round"] for o in outcomes) == [1, 2]
        first = min((json.loads(o.stdout) for o in outcomes), key=lambda v: v["round"])
        assert len(first["proposals"]) > 0
        live = "status IN ('proposed', 'nomination_confirmed', 'viewing', 'accepted')"
        assert rows(url, f"SELECT count(*), count(DISTINCT offer_ref), count(DISTINCT request_ref) "
                         f"FROM proposal WHERE {live}") == [(count(url, "proposal"),) * 3]
        verification = audits.verify(Database(resolve_url(url)))
        assert verification.ok, [str(f) for f in verification.failures]
    finally:
        drop_database(url)


@pytest.mark.parametrize("attempt", range(3))
def test_a_refusal_racing_a_signing_lands_before_it_or_is_refused(launcher, accepted_db, tmp_path, attempt):
    url = copy_database(accepted_db, tmp_path)
    try:
        sign, refuse = launcher.run(
            command(url, *SIGN),
            command(url, "proposal", "refuse", "1", "--by", "household", "--reason", "other",
                    "--not-reasonable", "--no-resolve", "--on", "2026-11-30"))
        no_traceback([sign, refuse])
        if refuse.code == 0:  # the refusal came first: the signing is refused, nothing moved
            assert sign.code == 4 and "is refused" in sign.stderr, sign.stderr
            assert count(url, "move") == 0
            assert rows(url, "SELECT status FROM proposal WHERE id = 1") == [("refused",)]
        else:  # the signing came first: the refusal is refused and the household moved
            assert sign.code == 0, sign.stderr
            assert refuse.code == 4 and "can no longer be refused" in refuse.stderr, refuse.stderr
            assert_signed_once(url, 1)
    finally:
        drop_database(url)


def test_two_imports_of_one_file_at_once_store_it_once(launcher, tmp_path, db_url, scheme):
    path = write_offers_csv(tmp_path / "offers.csv", 400)
    outcomes = launcher.run(*[command(db_url, "offer", "import", str(path))] * 2)
    no_traceback(outcomes)
    assert [o.code for o in outcomes] == [0, 0], [o.stderr for o in outcomes]
    assert sorted(o.stdout.strip() for o in outcomes) == [
        "Imported offers.csv: 0 new offer(s), 400 already stored unchanged.",
        "Imported offers.csv: 400 new offer(s), 0 already stored unchanged."]
    assert count(db_url, "offer") == 400
