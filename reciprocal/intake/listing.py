"""The pot as `offer list`, `request list` and `circulate` read it, through the `Reader` (plain SQL, the
plain driver) so that a list loads no ORM (issue 24). `pot` stores, withdraws and reads the pot
for a round; this module only lists it, in the same order and with the same records.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from reciprocal.domain import Offer, OfferStatus, PropertyType, Request, RequestKind, RequestStatus, Risk

if TYPE_CHECKING:
    from reciprocal.storage import Database, Reader

# `open` is the same as the open status of each kind.
OPEN_ALIAS = {"offer": OfferStatus.available.value, "request": RequestStatus.active.value}


def offer_of(row: dict) -> Offer:
    """An offer from its row (as `storage.rows.offer_from_row` makes one from an ORM row)."""
    return Offer(ref=row["ref"], provider=row["provider"], area=row["area"], bedrooms=row["bedrooms"],
                 property_type=PropertyType(row["property_type"]), available_from=row["available_from"],
                 floor=row["floor"], step_free=row["step_free"],
                 wheelchair_accessible=row["wheelchair_accessible"],
                 tenancy_offered=row["tenancy_offered"], weekly_rent=row["weekly_rent"],
                 restrictions=tuple(row["restrictions"] or ()), notes=row["notes"] or "",
                 available_until=row["available_until"], status=OfferStatus(row["status"]),
                 for_request=row["for_request"])


def request_of(row: dict) -> Request:
    """A request from its row (as `storage.rows.request_from_row` makes one from an ORM row)."""
    return Request(ref=row["ref"], provider=row["provider"], kind=RequestKind(row["kind"]),
                   current_tenancy=row["current_tenancy"], bedrooms_needed=row["bedrooms_needed"],
                   referred_on=row["referred_on"], risk=Risk(row["risk"]), max_bedrooms=row["max_bedrooms"],
                   needs_step_free=row["needs_step_free"], needs_wheelchair=row["needs_wheelchair"],
                   avoid_areas=tuple(row["avoid_areas"] or ()),
                   preferred_areas=tuple(row["preferred_areas"] or ()), age=row["age"],
                   survivor_area=row["survivor_area"], survivor_consent=row["survivor_consent"],
                   safety_decision_on=row["safety_decision_on"], status=RequestStatus(row["status"]))


def _listed(db: Database | Reader, kind: str, status: str | None, provider: str | None,
            order: str = "ref") -> list[dict]:
    where = (["status = :status"] if status else []) + (["provider = :provider"] if provider else [])
    with db.reader() as reader:
        return reader.rows(f"SELECT * FROM {kind}" + (" WHERE " + " AND ".join(where) if where else "")
                           + (" ORDER BY id" if order == "id" else " ORDER BY ref"),
                           {"status": OPEN_ALIAS[kind] if status == "open" else status, "provider": provider})


def list_offers(db: Database | Reader, status: str | None = OfferStatus.available.value,
                provider: str | None = None) -> list[Offer]:
    """Offers in `status` (None: every one; `open`: available), of one provider if given, by ref."""
    return [offer_of(r) for r in _listed(db, "offer", status, provider)]


def list_requests(db: Database | Reader, status: str | None = RequestStatus.active.value,
                  provider: str | None = None, order: str = "ref") -> list[Request]:
    """Requests in `status` (None: every one; `open`: active), of one provider if given, by ref
    (or by `id`: the order they came in, as a round and the circulation read them)."""
    return [request_of(r) for r in _listed(db, "request", status, provider, order)]
