"""Issue 24: rule 9's counted balances are replayed from the ledger and the trail once per state
of them in a process, shared by every reader (`due`, a pack for every member, `audit fairness`),
and made again as soon as either changes; a pack for every member reads the week once, not once
per member. Counted in replays and SQL statements, never in seconds. On the suite's backend.

Uses issue 19's case (`test_past_limit`): fenland past its limit after its give was refused.
"""
from __future__ import annotations

import pytest
from sqlalchemy import event

from reciprocal import audits
from reciprocal.audits import packs
from reciprocal.ledger import counted
from reciprocal.lifecycle import run, views

from tests.lifecycle.test_past_limit import (REFUSED, SIGNED, fell_through, proposal_of, strict,  # noqa: F401
                                             where, with_max_debt)
from tests.moves import to_accepted


@pytest.fixture
def replays(monkeypatch) -> list[int]:
    """One item per replay of the ledger and the trail made from now on."""
    made: list[int] = []
    replay = counted._replay

    def counting(session, scheme):
        made.append(1)
        return replay(session, scheme)

    monkeypatch.setattr(counted, "_replay", counting)
    monkeypatch.setattr(counted, "_memo", None, raising=False)  # nothing carried over from an earlier test
    return made


def test_every_reader_of_one_state_shares_one_replay(db, strict, fell_through, replays):
    before = where(db, strict)
    packs.packs(db, strict, REFUSED)  # its own positions, the circulation's and the audit's
    views.due_for(db, strict, REFUSED, REFUSED)
    audits.fairness(db, strict, until=REFUSED, today=REFUSED)
    where(db, strict, REFUSED)
    assert len(replays) == 1
    assert where(db, strict) == before


def test_a_change_to_the_trail_or_another_scheme_replays_again(db, strict, fell_through, replays):
    # Another scheme object (its terms may differ): fenland's limit of 2 leaves it within.
    loose = with_max_debt(strict, 2)
    assert where(db, loose).past_limit_by == 0
    assert where(db, strict).past_limit_by == 1
    assert where(db, strict).past_limit_by == 1  # the same state: not replayed
    assert len(replays) == 2
    # The trail grows (RQ-F1's household signs for OF-C1): replayed, and read as it is now.
    placed = proposal_of(db, "RQ-F1")["id"]
    to_accepted(db, strict, placed, SIGNED)
    run.sign(db, strict, placed, SIGNED, SIGNED)
    now = where(db, strict)
    assert len(replays) == 3
    assert now.counted_balance == -2 and now.counted_gives == 0  # the move counts as its placement did


def _statements(db, work) -> int:
    """How many SQL statements `work()` sends to the database."""
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(sent)


def test_packs_for_every_member_read_the_week_once_not_once_per_member(db, strict, fell_through):
    members = sorted(p.id for p in strict.providers.values() if p.status == "active")
    assert len(members) > 10
    one = _statements(db, lambda: packs.packs(db, strict, REFUSED, members=members[:1]))
    every = _statements(db, lambda: packs.packs(db, strict, REFUSED, members=members))
    assert every - one < len(members) - 1, (one, every)
