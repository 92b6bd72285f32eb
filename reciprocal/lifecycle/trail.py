"""The proposal trail: every change of a proposal's stage, append-only and hash-chained.

Each event records the proposal, the stage it left (None when the proposal was made) and the one
it entered, the day (the command's `--on`), the role that made the change, details (a refusal's
reason, a viewing date, the round that proposed it) and the moment it was written. Its hash covers
all of that, its sequence number and its predecessor's hash (`reciprocal.hashchain`), so an edit,
a deletion or a reordering behind the engine's back breaks the chain; `audit verify` recomputes it.
"""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from sqlmodel import Session, select

from reciprocal.hashchain import GENESIS, event_hash
from reciprocal.storage import ProposalEventRow, ProposalRow, insert_rows, utcnow


# The hash a stored event should have (`hashchain.event_hash`: pure, so `audit verify` reads
# without the ORM).
hash_of = event_hash


def record(session: Session, proposal: ProposalRow, from_status: str | None, to_status: str, on: date,
           role: str, detail: dict | None = None) -> ProposalEventRow:
    """Append one event; the caller holds the write lock (every write transaction takes it)."""
    return ProposalEventRow(**record_many(session, [(proposal.id, from_status, to_status, on, role, detail)])[0])


Event = tuple[int, "str | None", str, date, str, "dict | None"]  # proposal id, from, to, on, role, detail


def record_many(session: Session, new: list[Event], extra: dict | None = None) -> list[dict]:
    """Append events in order, chained one to the next, in one statement (a round's thousands of
    proposals each start one): their column values, as stored. The caller holds the write lock.
    `extra`: unchained columns for every event (a case update's `case_ref`, `case_values`)."""
    if not new:
        return []
    last = session.exec(select(ProposalEventRow).order_by(ProposalEventRow.id.desc()).limit(1)
                        .with_for_update()).first()
    prev = last.hash if last else GENESIS
    seq = last.id if last else 0
    stamp = utcnow()  # one write, one moment
    rows: list[dict] = []
    for proposal_id, from_status, to_status, on, role, detail in new:
        seq += 1
        values = dict(id=seq, proposal_id=proposal_id, from_status=from_status, to_status=to_status,
                      on=on, role=getattr(role, "value", role), detail=dict(detail or {}),
                      created_at=stamp, prev_hash=prev, **(extra or {}))
        values["hash"] = prev = hash_of(SimpleNamespace(**values), prev)
        rows.append(values)
    insert_rows(session, ProposalEventRow, rows)
    return rows


def record_case(session: Session, case_ref: str, on: date, role: str, detail: dict,
                values: dict) -> ProposalEventRow:
    """Append the update of a request's or an offer's facts (`reciprocal.lifecycle.updates`): an
    event of no proposal, chained with the rest; `values` (before and after) are kept beside it,
    unchained, their digest in `detail`."""
    return ProposalEventRow(**record_many(session, [(None, None, "updated", on, role, detail)],
                                          {"case_ref": case_ref, "case_values": values})[0])


def case_events(session: Session, case_ref: str | None = None) -> list[ProposalEventRow]:
    """The updates of one case (`request:REF`, `offer:REF`), or of every case, in order."""
    query = select(ProposalEventRow).where(ProposalEventRow.proposal_id.is_(None))
    if case_ref is not None:
        query = query.where(ProposalEventRow.case_ref == case_ref)
    return list(session.exec(query.order_by(ProposalEventRow.id)).all())


def events(session: Session, proposal_id: int | None = None) -> list[ProposalEventRow]:
    query = select(ProposalEventRow)
    if proposal_id is not None:
        query = query.where(ProposalEventRow.proposal_id == proposal_id)
    return list(session.exec(query.order_by(ProposalEventRow.id)).all())
