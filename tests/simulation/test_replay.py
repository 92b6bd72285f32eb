"""`reciprocal simulate --replay` (issue 22): the scheme's own stored weeks replayed under each
debt rule, writing nothing. The stored history is the demo's two weeks, imported through the real
import functions and run through real rounds (`tests.history.build_history`)."""
from __future__ import annotations

import hashlib
import json

import pytest
import typer
from sqlmodel import select
from typer.testing import CliRunner

from reciprocal.domain import GIVES_COUNT_FROM
from reciprocal.simulation.replay import replay, stored_year
from reciprocal.simulation.stages import StageAssumptions, run_flow
from reciprocal.storage import ProposalRow, RoundRow

from tests.history import ROUND_1, ROUND_2, build_history


@pytest.fixture(scope="module")
def history(tmp_path_factory, scheme):
    path = tmp_path_factory.mktemp("replay") / "history.db"
    return path, build_history(path, scheme)


def test_replaying_the_engine_proposes_what_the_stored_first_round_proposed(history, scheme):
    _, db = history
    with db.reading() as session:
        first = session.exec(select(RoundRow).order_by(RoundRow.id)).first()
        rows = session.exec(select(ProposalRow).where(ProposalRow.round_id == first.id).order_by(ProposalRow.id))
        # The round's own proposals: a refused home re-offered the same week is a later row for it.
        stored = list({p.offer_ref: (p.request_ref, p.offer_ref) for p in reversed(list(rows))}.values())
    assert stored and first.on == ROUND_1
    year = stored_year(db, scheme, ROUND_1, ROUND_2)
    assert sorted(r.ref for r in year.requests[0]) == sorted(first.snapshot["requests"])
    run = run_flow(scheme, year, "weekly", StageAssumptions(), year.opening)
    day, pairs = run.proposed[0]
    assert day == ROUND_1 and sorted(pairs) == sorted(stored)


def test_the_replay_reads_the_stored_weeks_and_every_debt_rule(history, scheme):
    _, db = history
    year = stored_year(db, scheme, ROUND_1, ROUND_2)
    assert year.weeks == 2 and [len(w) for w in year.offers] == [len(year.offers[0]), 4]  # week 2's homes
    assert all(v == 0 for v in year.opening.values())  # nothing was signed before the first round
    assert year.request_leaves == {"RQ-0112": ROUND_2}  # withdrawn in week 2
    data = replay(year, seeds=2)
    assert set(data["choices"]) == set(GIVES_COUNT_FROM)
    assert len(data["choices"]["proposed"]["households_moved"]["values"]) == 2  # one per seed
    # Later, the ledger's balances before --since are the opening balances.
    later = stored_year(db, scheme, ROUND_2, ROUND_2)
    assert sum(later.opening.values()) == 0 and any(later.opening.values())


def test_the_command_writes_nothing(history, scheme):
    from cli.app import app

    path, _ = history
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    runner = CliRunner()
    done = runner.invoke(app, ["--db", str(path), "simulate", "--replay", "--seeds", "2"])
    assert done.exit_code == 0, done.output
    assert f"from {ROUND_1.isoformat()} to {ROUND_2.isoformat()}" in done.stdout
    assert "| households moved (signed)" in done.stdout and "Nothing was written" in done.stdout
    data = runner.invoke(app, ["--db", str(path), "simulate", "--replay", "--since", ROUND_1.isoformat(),
                               "--until", ROUND_2.isoformat(), "--seeds", "1", "--format", "json"])
    assert data.exit_code == 0, data.output
    assert json.loads(data.stdout)["weeks"] == 2
    bad = runner.invoke(app, ["--db", str(path), "simulate", "--replay", "--since", "2026-12-01",
                              "--until", "2026-11-01"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output and "before --since" in bad.output
    assert runner.invoke(app, ["--db", str(path), "simulate", "--since", "2026-12-01"]).exit_code != 0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
