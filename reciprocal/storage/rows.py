"""ORM rows to domain objects and back (an offer's or a request's columns are read in `records`,
for plain rows and ORM rows alike), and bulk inserts."""
from __future__ import annotations

from sqlalchemy import insert
from sqlmodel import Session

from reciprocal.domain import Offer, Request
from reciprocal.storage.catalogue import TABLES
from reciprocal.storage.records import offer_of, request_of
from reciprocal.storage.tables import OfferRow, RequestRow


def offer_from_row(row: OfferRow) -> Offer:
    """An ORM row (or a SQLAlchemy row) of `offer` as an offer (`records.offer_of`)."""
    return offer_of({name: getattr(row, name) for name in TABLES["offer"]})


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
    """An ORM row (or a SQLAlchemy row) of `request` as a request (`records.request_of`)."""
    return request_of({name: getattr(row, name) for name in TABLES["request"]})


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
