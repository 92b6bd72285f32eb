"""Rounds as weekly matching events (docs/config.md, Lifecycle terms): one row per `round run`, with the snapshot
of the free pot it matched, the report of its solves, and its proposals.

Rounds no longer open and close: proposals live across them, through their stages
(`reciprocal.lifecycle.proposals`), and signing is the move. Rounds made before that
(migration 0003) keep their `closed` status as history. How rounds are listed and shown is
`reciprocal.lifecycle.views`'s.
"""
from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from reciprocal.domain import RoundStatus
from reciprocal.errors import NotFoundError
from reciprocal.storage import ProposalRow, RoundRow


def last_round(session: Session) -> RoundRow | None:
    return session.exec(select(RoundRow).order_by(RoundRow.on.desc(), RoundRow.id.desc()).limit(1)).first()


def create_round(session: Session, on: date, snapshot: dict) -> RoundRow:
    """A new round on `on` (`run.run_round` has refused one dated before the last round)."""
    row = RoundRow(on=on, status=RoundStatus.run.value, snapshot=snapshot, report={})
    session.add(row)
    session.flush()
    return row


def get_round(session: Session, round_id: int) -> RoundRow:
    row = session.get(RoundRow, round_id)
    if row is None:
        raise NotFoundError(f"no round {round_id}")
    return row


def proposals_of(session: Session, round_id: int) -> list[ProposalRow]:
    return list(session.exec(select(ProposalRow).where(ProposalRow.round_id == round_id)
                             .order_by(ProposalRow.id)).all())
