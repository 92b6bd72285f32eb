"""Issue 24: a round writes its proposals and their trail events as plain rows in bulk, with no
ORM object per proposal, in a number of SQL statements that grows with thousands of proposals,
not with each one; and the database still refuses a second live proposal for a home or a
household. Counted in statements and objects, never in seconds. On the suite's backend.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from reciprocal.domain import RefusedBy
from reciprocal.lifecycle import proposals, run, trail, views
from reciprocal.storage import Database, ProposalRow, resolve_url

from tests.conftest import ROUND_DAY, copy_database, count, drop_database


@contextmanager
def counting(db: Database):
    """SQL statements sent, and ProposalRow objects built or loaded, while the block runs."""
    seen = {"statements": 0, "built": 0, "loaded": 0}

    def statement(*_args):
        seen["statements"] += 1

    def built(*_args):
        seen["built"] += 1

    def loaded(*_args):
        seen["loaded"] += 1

    hooks = [(db.engine, "before_cursor_execute", statement), (ProposalRow, "init", built),
             (ProposalRow, "load", loaded)]
    for target, name, fn in hooks:
        event.listen(target, name, fn)
    try:
        yield seen
    finally:
        for target, name, fn in hooks:
            event.remove(target, name, fn)


@pytest.fixture
def pot(pot_db, tmp_path):
    """A copy of the generated pot (four pilot pots, no round yet)."""
    url = copy_database(pot_db, tmp_path)
    database = Database(resolve_url(url))
    yield database
    database.engine.dispose()
    drop_database(url)


def test_a_round_builds_no_orm_object_per_proposal(pot, scheme):
    with counting(pot) as seen:
        outcome = run.run_round(pot, scheme, ROUND_DAY)
    made = [c for c in outcome.changes if c.to_status == "proposed"]
    assert len(made) > 50
    assert seen["built"] == 0 and seen["loaded"] == 0
    assert views.round_view(pot, outcome.round_id)["proposals"][0]["id"] == int(made[0].ref)


def _fabricated(how_many: int) -> list[dict]:
    return [dict(round_id=1, request_ref=f"RQ-X{n:05d}", offer_ref=f"OF-X{n:05d}", from_provider="fenland",
                 to_provider="cambridge_city", explanation={"n": n}) for n in range(how_many)]


def test_thousands_of_proposals_are_written_in_a_bounded_number_of_statements(pot, scheme):
    run.run_round(pot, scheme, ROUND_DAY)  # round 1, to file them with
    before = count(pot, "proposal")
    with pot.transaction() as session:
        with counting(pot) as seen:
            made = proposals.propose(session, scheme, _fabricated(2500), ROUND_DAY)
    # 1,000 rows a statement: 3 for the proposals, 3 for their events, 1 for the trail's last event
    assert seen["statements"] <= 7 and seen["built"] == seen["loaded"] == 0
    assert count(pot, "proposal") == before + 2500
    # Ids are handed back in the order the proposals were given, and the trail chains them so.
    with pot.reading() as session:
        stored = {p.id: (p.request_ref, p.explanation["n"]) for p in
                  session.exec(select(ProposalRow).where(ProposalRow.id.in_([int(c.ref) for c in made]))).all()}
        events = trail.events(session)
    assert [stored[int(c.ref)] for c in made] == [(f"RQ-X{n:05d}", n) for n in range(2500)]
    assert [(c.request, c.offer) for c in made] == [(f"RQ-X{n:05d}", f"OF-X{n:05d}") for n in range(2500)]
    assert [e.proposal_id for e in events[-2500:]] == [int(c.ref) for c in made]
    assert all(e.hash == trail.hash_of(e) and e.prev_hash == p.hash for p, e in zip(events, events[1:]))


@pytest.mark.parametrize("column", ["offer_ref", "request_ref"])
def test_the_database_refuses_a_second_live_proposal_for_a_home_or_a_household(db, scheme, week1, column):
    live = views.proposal_list(db)[0]
    second = {**_fabricated(1)[0], column: live["offer" if column == "offer_ref" else "request"]}
    before = count(db, "proposal"), count(db, "proposal_event")
    with pytest.raises(IntegrityError, match="one_live_proposal_per|UNIQUE constraint failed"):
        with db.transaction() as session:
            proposals.propose(session, scheme, [second], ROUND_DAY)
    assert (count(db, "proposal"), count(db, "proposal_event")) == before


def test_a_home_freed_earlier_in_the_transaction_can_be_proposed_at_once(db, scheme, week1):
    """The refusal is pending in the session when the bulk insert runs: it is flushed first, so
    the partial unique index sees the home free."""
    pid = week1["RQ-0101"]
    with db.transaction() as session:
        refused = proposals.refuse(session, scheme, pid, ROUND_DAY, RefusedBy.offering_landlord, "other")
        again = {**_fabricated(1)[0], "offer_ref": refused[0].offer}
        made = proposals.propose(session, scheme, [again], ROUND_DAY)
    assert [(p["offer"], p["status"]) for p in views.proposal_list(db) if p["id"] == int(made[0].ref)] == [
        (refused[0].offer, "proposed")]


def test_a_week_that_lapses_every_proposal_writes_them_in_a_few_statements(pot, scheme):
    made = [c for c in run.run_round(pot, scheme, ROUND_DAY).changes if c.to_status == "proposed"]
    with pot.transaction() as session:
        with counting(pot) as seen:
            lapsed = proposals.lapse_overdue(session, scheme, ROUND_DAY + timedelta(days=14))
    # the overdue read, one UPDATE for them all, the trail's last event, the events
    assert len(lapsed) == len(made) > 50 and seen["statements"] <= 5
    assert [c.ref for c in lapsed] == [c.ref for c in made] and {c.to_status for c in lapsed} == {"lapsed"}
    with pot.reading() as session:
        events = trail.events(session)
    assert [(e.proposal_id, e.to_status) for e in events[-len(made):]] == [(int(c.ref), "lapsed") for c in made]
    assert all(e.hash == trail.hash_of(e) and e.prev_hash == p.hash for p, e in zip(events, events[1:]))
