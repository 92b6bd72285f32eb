"""The pot: the offers and requests members put in, how they get there and how they leave.

Imports are all or nothing and idempotent: a row identical to a stored one is left alone, a row
whose ref is stored with different values is an error (a ref names one home or one household).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from reciprocal.config import Scheme
from reciprocal.domain import (LIVE_PROPOSAL, Offer, OfferStatus, ProposalStatus, Request, RequestStatus)
from reciprocal.errors import InputFileError, NotFoundError, Problem, StateError
from reciprocal.intake.readers import differences, read_offers, read_requests
from reciprocal.storage import (Database, OfferRow, ProposalRow, RequestRow, offer_from_row, request_from_row,
                      row_from_offer, row_from_request, utcnow)


@dataclass(frozen=True)
class ImportResult:
    added: int
    unchanged: int


def import_offers(db: Database, scheme: Scheme, path: Path) -> ImportResult:
    rows = read_offers(path, scheme)
    return _store(db, [r for _, r in rows], OfferRow, offer_from_row, row_from_offer, path.name,
                  {r.ref: line for line, r in rows})


def import_requests(db: Database, scheme: Scheme, path: Path) -> ImportResult:
    rows = read_requests(path, scheme)
    return _store(db, [r for _, r in rows], RequestRow, request_from_row, row_from_request,
                  path.name, {r.ref: line for line, r in rows})


def add_records(db: Database, records: list, source: str = "--option") -> ImportResult:
    if isinstance(records[0], Offer):
        return _store(db, records, OfferRow, offer_from_row, row_from_offer, source)
    return _store(db, records, RequestRow, request_from_row, row_from_request, source)


def _store(db, records, row_type, from_row, to_row, source: str,
           lines: dict[str, int] | None = None) -> ImportResult:
    added = unchanged = 0
    with db.transaction() as session:
        refs = [r.ref for r in records]
        existing = {}
        for start in range(0, len(refs), 500):
            chunk = refs[start:start + 500]
            for row in session.exec(select(row_type).where(row_type.ref.in_(chunk))).all():
                existing[row.ref] = row
        problems = []
        for record in records:
            row = existing.get(record.ref)
            if row is None:
                session.add(to_row(record))
                added += 1
                continue
            diff = differences(from_row(row), record)
            if diff:
                problems.append(Problem(source, f"ref {record.ref} is already stored with different "
                                        f"values ({', '.join(diff)}); withdraw it and use a new ref",
                                        (lines or {}).get(record.ref), "ref"))
            else:
                unchanged += 1
        if problems:
            raise InputFileError(problems, f"{len(problems)} problem(s) in {source}; nothing was imported")
    return ImportResult(added, unchanged)


def list_offers(db: Database, status: str | None = OfferStatus.open.value, provider: str | None = None) -> list[Offer]:
    with db.reading() as session:
        query = select(OfferRow).order_by(OfferRow.ref)
        if status:
            query = query.where(OfferRow.status == status)
        if provider:
            query = query.where(OfferRow.provider == provider)
        return [offer_from_row(r) for r in session.exec(query).all()]


def list_requests(db: Database, status: str | None = RequestStatus.open.value, provider: str | None = None) -> list[Request]:
    with db.reading() as session:
        query = select(RequestRow).order_by(RequestRow.ref)
        if status:
            query = query.where(RequestRow.status == status)
        if provider:
            query = query.where(RequestRow.provider == provider)
        return [request_from_row(r) for r in session.exec(query).all()]


def withdraw_offer(db: Database, ref: str) -> int:
    """Withdraw an open offer; any live proposal of it is cancelled. Returns proposals cancelled."""
    return _withdraw(db, OfferRow, ref, "offer", OfferStatus.withdrawn.value, ProposalRow.offer_ref)


def withdraw_request(db: Database, ref: str) -> int:
    return _withdraw(db, RequestRow, ref, "request", RequestStatus.withdrawn.value,
                     ProposalRow.request_ref)


def _withdraw(db: Database, row_type, ref: str, what: str, new_status: str, proposal_col) -> int:
    with db.transaction() as session:
        row = session.exec(select(row_type).where(row_type.ref == ref)).first()
        if row is None:
            raise NotFoundError(f"no {what} with ref {ref}")
        if row.status != OfferStatus.open:  # one value for offers and requests: "open"
            raise StateError(f"{what} {ref} is {row.status}, not open; nothing was changed")
        row.status = new_status
        row.closed_on = utcnow().date()
        session.add(row)
        cancelled = 0
        live = [s.value for s in LIVE_PROPOSAL]
        for proposal in session.exec(select(ProposalRow).where(proposal_col == ref,
                                                               ProposalRow.status.in_(live))).all():
            proposal.status = ProposalStatus.cancelled.value
            proposal.decline_reason = f"{what} withdrawn"
            proposal.decided_at = utcnow()
            session.add(proposal)
            cancelled += 1
        return cancelled


def get_open(session: Session) -> tuple[list[Offer], list[Request]]:
    offers = [offer_from_row(r) for r in
              session.exec(select(OfferRow).where(OfferRow.status == OfferStatus.open.value)).all()]
    requests = [request_from_row(r) for r in
                session.exec(select(RequestRow).where(RequestRow.status == RequestStatus.open.value)).all()]
    return offers, requests
