"""Rows to domain objects and back: the only place that reads an offer's or a request's columns."""
from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session

from reciprocal.domain import Offer, OfferStatus, PropertyType, Request, RequestKind, RequestStatus, Risk
from reciprocal.storage.tables import OfferRow, RequestRow


def offer_from_row(row: OfferRow) -> Offer:
    return Offer(ref=row.ref, provider=row.provider, area=row.area, bedrooms=row.bedrooms,
                 property_type=PropertyType(row.property_type), available_from=row.available_from,
                 floor=row.floor, step_free=row.step_free,
                 wheelchair_accessible=row.wheelchair_accessible,
                 tenancy_offered=row.tenancy_offered, weekly_rent=row.weekly_rent,
                 restrictions=tuple(row.restrictions or ()), notes=row.notes or "",
                 available_until=row.available_until, status=OfferStatus(row.status),
                 for_request=row.for_request)


def insert_rows(session: Session, row_type, rows: list[dict], chunk: int = 1000,
                returning: tuple[str, ...] = ()) -> list[tuple]:
    """Insert column values in bulk, `chunk` rows a statement (imports, a round's proposals and
    its trail write thousands of rows; one ORM object each cost seconds). Every row must have the
    same keys. `returning`: columns of the new rows to hand back (say the id and a column unique
    among them), in no particular order: SQLite cannot return a multi-row INSERT's rows in the
    order given, and asking for it (`sort_by_parameter_order`) sends one INSERT a row.

    A bulk insert skips the session's autoflush: the session is flushed first, so that a change
    made earlier in the transaction (a proposal just lapsed or refused, freeing its home for a new
    one) is in the database before these rows meet its constraints."""
    session.flush()
    table = row_type.__table__
    statement = insert(table)
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    out: list[tuple] = []
    for start in range(0, len(rows), chunk):
        result = session.execute(statement, rows[start:start + chunk])
        if returning:
            out += [tuple(r) for r in result.all()]
    return out


def offer_values(offer: Offer) -> dict:
    """An offer's column values, for a bulk insert (building 20,000 ORM rows one by one took most
    of a national import)."""
    return dict(ref=offer.ref, provider=offer.provider, area=offer.area, bedrooms=offer.bedrooms,
                    property_type=offer.property_type.value, floor=offer.floor,
                    step_free=offer.step_free, wheelchair_accessible=offer.wheelchair_accessible,
                    tenancy_offered=offer.tenancy_offered, weekly_rent=offer.weekly_rent,
                    available_from=offer.available_from, restrictions=list(offer.restrictions),
                    notes=offer.notes, available_until=offer.available_until,
                    status=offer.status.value, for_request=offer.for_request)


def request_from_row(row: RequestRow) -> Request:
    return Request(ref=row.ref, provider=row.provider, kind=RequestKind(row.kind),
                   current_tenancy=row.current_tenancy, bedrooms_needed=row.bedrooms_needed,
                   referred_on=row.referred_on, risk=Risk(row.risk), max_bedrooms=row.max_bedrooms,
                   needs_step_free=row.needs_step_free, needs_wheelchair=row.needs_wheelchair,
                   avoid_areas=tuple(row.avoid_areas or ()),
                   preferred_areas=tuple(row.preferred_areas or ()), age=row.age,
                   survivor_area=row.survivor_area, survivor_consent=row.survivor_consent,
                   safety_decision_on=row.safety_decision_on, status=RequestStatus(row.status))


def request_values(request: Request) -> dict:
    """A request's column values, for a bulk insert."""
    return dict(ref=request.ref, provider=request.provider, kind=request.kind.value,
                      current_tenancy=request.current_tenancy,
                      bedrooms_needed=request.bedrooms_needed, max_bedrooms=request.max_bedrooms,
                      needs_step_free=request.needs_step_free,
                      needs_wheelchair=request.needs_wheelchair,
                      avoid_areas=list(request.avoid_areas),
                      preferred_areas=list(request.preferred_areas), risk=request.risk.value,
                      referred_on=request.referred_on, age=request.age,
                      survivor_area=request.survivor_area,
                      survivor_consent=request.survivor_consent,
                      safety_decision_on=request.safety_decision_on, status=request.status.value)
