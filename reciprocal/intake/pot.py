"""The pot: the offers and requests members put in, and how they get there (how they leave is
the lifecycle's: `reciprocal.lifecycle.cases`).

Imports are all or nothing and idempotent: a row identical to a stored one is left alone, a row
whose ref is stored with different values is an error (a ref names one home or one household).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from sqlmodel import Session, select

from reciprocal.config import Scheme
from reciprocal.domain import (Offer, OfferStatus, Request, RequestStatus)
from reciprocal.errors import InputFileError, Problem
from reciprocal.intake.readers import differences, read_offers, read_requests
from reciprocal.storage import (Database, OfferRow, RequestRow, offer_from_row, request_from_row,
                      row_from_offer, row_from_request)


@dataclass(frozen=True)
class ImportResult:
    added: int
    unchanged: int


def import_offers(db: Database, scheme: Scheme, path: Path) -> ImportResult:
    rows = read_offers(path, scheme)
    return _store(db, [r for _, r in rows], OfferRow, offer_from_row, row_from_offer, path.name,
                  {r.ref: line for line, r in rows})


def import_requests(db: Database, scheme: Scheme, path: Path, referred: bool = False) -> ImportResult:
    """Requests land `active` (the member that sent them approved them), or `referred` (awaiting
    their landlord's approval, `request approve`) when `referred` is set."""
    rows = read_requests(path, scheme)
    records = [r for _, r in rows]
    if referred:
        records = [replace(r, status=RequestStatus.referred) for r in records]
    return _store(db, records, RequestRow, request_from_row, row_from_request,
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


# `--status open` (the word before proposals lived across rounds) still lists what is in the pot.
OPEN_ALIAS = {"offer": OfferStatus.available.value, "request": RequestStatus.active.value}


def list_offers(db: Database, status: str | None = OfferStatus.available.value,
                provider: str | None = None) -> list[Offer]:
    with db.reading() as session:
        query = select(OfferRow).order_by(OfferRow.ref)
        if status:
            query = query.where(OfferRow.status == (OPEN_ALIAS["offer"] if status == "open" else status))
        if provider:
            query = query.where(OfferRow.provider == provider)
        return [offer_from_row(r) for r in session.exec(query).all()]


def list_requests(db: Database, status: str | None = RequestStatus.active.value,
                  provider: str | None = None) -> list[Request]:
    with db.reading() as session:
        query = select(RequestRow).order_by(RequestRow.ref)
        if status:
            query = query.where(RequestRow.status == (OPEN_ALIAS["request"] if status == "open" else status))
        if provider:
            query = query.where(RequestRow.provider == provider)
        return [request_from_row(r) for r in session.exec(query).all()]


def get_open(session: Session) -> tuple[list[Offer], list[Request]]:
    """Every available offer and active request (live proposals are the lifecycle's to exclude)."""
    offers = [offer_from_row(r) for r in
              session.exec(select(OfferRow).where(OfferRow.status == OfferStatus.available.value)).all()]
    requests = [request_from_row(r) for r in
                session.exec(select(RequestRow).where(RequestRow.status == RequestStatus.active.value)).all()]
    return offers, requests
