"""Two `reciprocal` processes on one round at the same moment, on the suite's backend (SQLite, or
PostgreSQL when `RECIPROCAL_TEST_DATABASE_URL` is set).

Writers take turns (`Database.transaction`: BEGIN IMMEDIATE on SQLite, an advisory lock on
PostgreSQL), so of two `round close` one closes and the other finds the round closed; of two
`round run` one opens a round and the other is told a round is open; a `decide` racing a `close`
either lands before it or is refused after it. In every case no home is let twice, no move is
doubled, and the ledger verifies.

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

def assert_single_close(url: str, accepted: int) -> None:
    """What one close of the round leaves: one move per accepted proposal, two ledger legs and
    three checklist items each, every home let once, every household moved once."""
    assert count(url, "move") == accepted
    assert count(url, "ledger_entry") == 2 * accepted
    assert count(url, "checklist_item") == 3 * accepted
    assert rows(url, "SELECT count(DISTINCT offer_ref), count(DISTINCT request_ref) FROM move") == [
        (accepted, accepted)]
    assert count(url, "offer WHERE status = 'let'") == accepted
    assert count(url, "request WHERE status = 'moved'") == accepted
    assert rows(url, "SELECT status FROM round") == [("closed",)]
    verification = audits.verify(Database(resolve_url(url)))
    assert verification.ok, [str(f) for f in verification.failures]


# -- the races ------------------------------------------------------------------------------------

@pytest.mark.parametrize("attempt", range(3))
def test_two_closes_at_once_close_the_round_once(launcher, round_db, tmp_path, attempt):
    template, accepted = round_db
    url = copy_database(template, tmp_path)
    try:
        outcomes = launcher.run(*[command(url, "round", "close", "1", "--format", "json")] * 2)
        no_traceback(outcomes)
        assert [o.code for o in outcomes] == [0, 0], [o.stderr for o in outcomes]
        results = [json.loads(o.stdout) for o in outcomes]
        assert sorted(r["already_closed"] for r in results) == [False, True]
        winner = next(r for r in results if not r["already_closed"])
        loser = next(r for r in results if r["already_closed"])
        assert len(winner["moves"]) == accepted
        assert loser["moves"] == winner["moves"]  # the loser reports the winner's moves, unchanged
        assert_single_close(url, accepted)
    finally:
        drop_database(url)


def test_the_loser_of_a_close_race_is_told_plainly(launcher, round_db, tmp_path):
    template, accepted = round_db
    url = copy_database(template, tmp_path)
    try:
        outcomes = launcher.run(*[command(url, "round", "close", "1")] * 2)
        no_traceback(outcomes)
        texts = sorted(o.stdout.splitlines()[0] for o in outcomes)
        assert texts == [f"Round 1 closed: {accepted} move(s) committed, ledger written, post-move "
                         f"checklists created.",
                         f"Round 1 was already closed; nothing changed ({accepted} move(s))."]
        assert_single_close(url, accepted)
    finally:
        drop_database(url)


@pytest.mark.parametrize("attempt", range(2))
def test_two_runs_at_once_open_one_round(launcher, pot_db, tmp_path, attempt):
    url = copy_database(pot_db, tmp_path)
    try:
        outcomes = launcher.run(*[command(url, "round", "run", "--on", ROUND_DAY.isoformat(),
                                          "--format", "json")] * 2)
        no_traceback(outcomes)
        assert sorted(o.code for o in outcomes) == [0, 4], [o.stderr for o in outcomes]
        winner = next(o for o in outcomes if o.code == 0)
        loser = next(o for o in outcomes if o.code == 4)
        assert json.loads(winner.stdout)["round"] == 1
        assert loser.stderr.strip() == ("round 1 is still open; decide and close it (`reciprocal round "
                                        "close 1`) before running a new round")
        assert loser.stdout == ""
        assert count(url, "round") == 1
        proposals = json.loads(winner.stdout)["proposals"]
        assert count(url, "proposal") == len(proposals) > 0
        assert rows(url, "SELECT count(DISTINCT offer_ref), count(DISTINCT request_ref) FROM proposal") == [
            (len(proposals), len(proposals))]
    finally:
        drop_database(url)


@pytest.mark.parametrize("attempt", range(2))
def test_a_decline_racing_a_close_lands_before_it_or_is_refused(launcher, round_db, tmp_path, attempt):
    template, accepted = round_db
    url = copy_database(template, tmp_path)
    try:
        first = "SELECT id, request_ref FROM proposal ORDER BY id LIMIT 1"
        declined_id, declined_request = rows(url, first)[0]
        close, decline = launcher.run(
            command(url, "round", "close", "1", "--format", "json"),
            command(url, "round", "decide", "1", "--proposal", str(declined_id), "--decline",
                    "--reason", "household declined", "--no-resolve", "--format", "json"))
        no_traceback([close, decline])
        assert close.code == 0, close.stderr
        moved = {m["request"] for m in json.loads(close.stdout)["moves"]}
        if decline.code == 0:  # the decline came first: that household did not move
            assert json.loads(decline.stdout)["status"] == "declined"
            assert declined_request not in moved
            assert_single_close(url, accepted - 1)
            assert rows(url, f"SELECT status FROM proposal WHERE id = {declined_id}") == [("declined",)]
        else:  # the close came first: the decline is refused and the household moved
            assert decline.code == 4
            assert decline.stderr.strip() == ("round 1 is closed; its proposals can no longer be "
                                              "decided")
            assert declined_request in moved
            assert_single_close(url, accepted)
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
