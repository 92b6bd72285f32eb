"""The pot: the offers and requests members put in, and how they get there (how they leave is
the lifecycle's: `reciprocal.lifecycle.cases`).

Imports are all or nothing and idempotent: a row identical to a stored one is left alone, a row
whose ref is stored with different values is an error (a ref names one home or one household).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Callable

from sqlmodel import Session, select

from reciprocal.config import Scheme
from reciprocal.domain import (Offer, OfferStatus, Request, RequestStatus)
from reciprocal.errors import InputFileError, Problem
from reciprocal.storage import (Database, OfferRow, RequestRow, offer_from_row, request_from_row,
                      insert_rows, offer_values, request_values, utcnow)
from reciprocal.intake.listing import records


@dataclass(frozen=True)
class ImportResult:
    added: int
    unchanged: int


def import_offers(db: Database, scheme: Scheme, path: Path, today: date | None = None, *,
                  progress: Callable[[str], None] | None = None) -> ImportResult:
    """All rows or none. `progress`, if given, is told each step as it starts (for a status line)."""
    say = progress or (lambda _message: None)
    say(f"reading and checking {path.name}")
    from reciprocal.intake.readers import read_offers  # the CSV and XLSX readers: only to import
    rows = read_offers(path, scheme)
    lines = {r.ref: line for line, r in rows}
    say(f"storing {len(rows):,} offer(s)")
    return _store(db, [r for _, r in rows], OfferRow, offer_from_row, offer_values, path.name,
                  lines, _for_request_check(scheme, path.name, lines, today))


def import_requests(db: Database, scheme: Scheme, path: Path, referred: bool = False, *,
                    approved_on: date | None = None,
                    progress: Callable[[str], None] | None = None) -> ImportResult:
    """Requests land `active` (the member that sent them approved them), or `referred` (awaiting
    their landlord's approval, `request approve`) when `referred` is set. `approved_on`: the day
    the member approved the active ones (`request import --on`), from which staleness counts if it
    is later than the referral; without it, staleness counts from each household's referral, never
    from the day of the import. `progress`: as for offers."""
    say = progress or (lambda _message: None)
    say(f"reading and checking {path.name}")
    from reciprocal.intake.readers import read_requests
    rows = read_requests(path, scheme)
    say(f"storing {len(rows):,} request(s)")
    records = [r for _, r in rows]
    if referred:
        records = [replace(r, status=RequestStatus.referred) for r in records]
    return _store(db, records, RequestRow, request_from_row, _approved_values(None if referred else approved_on),
                  path.name, {r.ref: line for line, r in rows})


def _approved_values(approved_on: date | None):
    """A request's column values, with the day its landlord approved it (if stated)."""
    if approved_on is None:
        return request_values
    return lambda request: {**request_values(request), "reconfirmed_on": approved_on}


def add_records(db: Database, records: list, source: str = "--option", scheme: Scheme | None = None,
                today: date | None = None, approved_on: date | None = None) -> ImportResult:
    if isinstance(records[0], Offer):
        if scheme is None and any(r.for_request for r in records):
            raise ValueError("offers made for a household are checked against the scheme's rules")
        check = _for_request_check(scheme, source, {}, today) if scheme is not None else None
        return _store(db, records, OfferRow, offer_from_row, offer_values, source, None, check)
    return _store(db, records, RequestRow, request_from_row, _approved_values(approved_on), source)


def _for_request_check(scheme: Scheme, source: str, lines: dict[str, int], today: date | None):
    """At intake, an offer made for a household (`for_request`) must name a household that is
    still waiting, and pass every hard rule that does not depend on the day for it: else it could
    never be proposed to that household, and it is refused naming the rule that fails."""
    def check(session: Session, offers: list[Offer]) -> list[Problem]:
        wanted = {o.for_request for o in offers if o.for_request}
        if not wanted:
            return []
        # The rules load NumPy: only when an offer is made for a household.
        from matching.pinning import standing_failures
        found = {row.ref: request_from_row(row) for row in
                 session.exec(select(RequestRow).where(RequestRow.ref.in_(sorted(wanted)))).all()}
        problems = []
        for offer in offers:
            ref = offer.for_request
            if not ref:
                continue
            line = lines.get(offer.ref)
            request = found.get(ref)
            if request is None:
                problems.append(Problem(source, f"offer {offer.ref} is made for {ref}, which is not a "
                                        f"request in the database", line, "for_request"))
                continue
            if request.status in ENDED:
                problems.append(Problem(source, f"offer {offer.ref} is made for {ref}, which is "
                                        f"{request.status.value}: no home can be offered for it now",
                                        line, "for_request"))
                continue
            on = max(today or date.today(), offer.available_from)
            for rule in standing_failures(scheme, request, offer, on):
                problems.append(Problem(source, f"offer {offer.ref} could never be proposed to {ref}: "
                                        f"{rule.name} (rule {rule.spec_rule}): {rule.failed}",
                                        line, "for_request"))
        return problems
    return check


def _store(db, records, row_type, from_row, to_row, source: str,
           lines: dict[str, int] | None = None, check=None) -> ImportResult:
    from reciprocal.intake.readers import differences
    added = unchanged = 0
    with db.transaction() as session:
        refs = [r.ref for r in records]
        existing = {}
        for start in range(0, len(refs), 500):
            chunk = refs[start:start + 500]
            for row in session.exec(select(row_type).where(row_type.ref.in_(chunk))).all():
                existing[row.ref] = row
        problems = []
        new_rows = []
        stamp = utcnow()  # one import, one moment
        for record in records:
            row = existing.get(record.ref)
            if row is None:
                new_rows.append({**to_row(record), "created_at": stamp})
                continue
            diff = differences(from_row(row), record)
            if diff:
                problems.append(Problem(source, f"ref {record.ref} is already stored with different "
                                        f"values ({', '.join(diff)}); withdraw it and use a new ref",
                                        (lines or {}).get(record.ref), "ref"))
            else:
                unchanged += 1
        added = len(new_rows)
        insert_rows(session, row_type, new_rows)
        if check is not None:
            problems += check(session, records)
        if problems:
            problems.sort(key=lambda p: p.line or 0)
            raise InputFileError(problems, f"{len(problems)} problem(s) in {source}; nothing was imported")
    return ImportResult(added, unchanged)


# A household that has moved or whose case is closed can have no home offered for it.
ENDED = (RequestStatus.moved, RequestStatus.closed)


# `--status open` (the word before proposals lived across rounds) still lists what is in the pot.
def get_open(session: Session) -> tuple[list[Offer], list[Request]]:
    """Every available offer and active request, in the order they came in (live proposals are the
    lifecycle's to exclude). Read as plain rows, after the session's pending changes (a request just
    marked stale, a proposal just lapsed): an ORM object per row took seconds for a national pot."""
    return records(session, "offer", OfferStatus.available.value, order="id"), open_requests(session)


def open_requests(session: Session) -> list[Request]:
    """Every active request, as `get_open` reads them."""
    return records(session, "request", RequestStatus.active.value, order="id")
