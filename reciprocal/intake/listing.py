"""The pot as `offer list`, `request list` and `circulate` read it, through the `Reader` (plain SQL, the
plain driver) so that a list loads no ORM (issue 24). `pot` stores, withdraws and reads the pot
for a round; this module only lists it, in the same order and with the same records.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from reciprocal.domain import Offer, OfferStatus, Request, RequestStatus
from reciprocal.storage.records import COLUMNS, offer_of, request_of

if TYPE_CHECKING:
    from reciprocal.storage import Database, Reader

# `open` is the same as the open status of each kind.
OPEN_ALIAS = {"offer": OfferStatus.available.value, "request": RequestStatus.active.value}


def records(source, kind: str, status: str | None, provider: str | None = None,
            order: str = "ref") -> list[Offer] | list[Request]:
    """The offers or requests (`kind`) in `status` (None: every one; `open`: available or active),
    of one provider if given, by ref or by `id` (the order they came in), read from `source`: a
    `Reader`, or a write session (`rows`, after its pending changes) as a round reads its pot."""
    where = (["status = :status"] if status else []) + (["provider = :provider"] if provider else [])
    found = source.rows(f"SELECT {COLUMNS[kind]} FROM {kind}" + (" WHERE " + " AND ".join(where) if where else "")
                        + (" ORDER BY id" if order == "id" else " ORDER BY ref"),
                        {"status": OPEN_ALIAS[kind] if status == "open" else status, "provider": provider})
    return [(offer_of if kind == "offer" else request_of)(r) for r in found]


def list_offers(db: Database | Reader, status: str | None = OfferStatus.available.value,
                provider: str | None = None) -> list[Offer]:
    """Offers in `status` (None: every one; `open`: available), of one provider if given, by ref."""
    with db.reader() as reader:
        return records(reader, "offer", status, provider)


def list_requests(db: Database | Reader, status: str | None = RequestStatus.active.value,
                  provider: str | None = None, order: str = "ref") -> list[Request]:
    """Requests in `status` (None: every one; `open`: active), of one provider if given, by ref
    (or by `id`: the order they came in, as a round and the circulation read them)."""
    with db.reader() as reader:
        return records(reader, "request", status, provider, order)
