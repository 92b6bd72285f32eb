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
    if not rows:
        return []
    keys = rows[0].keys()
    if any(row.keys() != keys for row in rows):  # else a later row's extra column would be dropped
        raise ValueError(f"insert_rows into {row_type.__tablename__}: every row must give the same columns")
    table = row_type.__table__
    if session.get_bind().dialect.name == "sqlite" and not any(
            c.default is not None and not (c.default.is_scalar or c.default.is_callable) for c in table.columns):
        return _insert_on_sqlite(session, table, rows, returning)
    return _insert_by_sqlalchemy(session, table, rows, chunk, returning)


def _insert_by_sqlalchemy(session: Session, table, rows: list[dict], chunk: int,
                          returning: tuple[str, ...]) -> list[tuple]:
    """`insert_rows` through SQLAlchemy's multi-row INSERT (PostgreSQL)."""
    statement = insert(table)
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    out: list[tuple] = []
    for start in range(0, len(rows), chunk):
        result = session.execute(statement, rows[start:start + chunk])
        if returning:
            out += [tuple(r) for r in result.all()]
    return out


def _insert_on_sqlite(session: Session, table, rows: list[dict], returning: tuple[str, ...]) -> list[tuple]:
    """`insert_rows` on SQLite: the driver's own `executemany`, each value made what the ORM
    stores by the column type's own bind processor (SQLAlchemy's, column by column), and each
    column left out given its default (a value, or a function called for each row) as SQLAlchemy
    gives it. SQLAlchemy's per-row handling of the parameters was a third of a national round's
    writing time; the stored values are the same byte for byte (`tests/store/test_bulk_insert.py`).
    The new rows' `returning` columns are read back by id: the caller holds the write lock, so
    the rows with an id above the largest before are these."""
    connection = session.connection()
    dialect = connection.dialect
    given = list(rows[0])
    defaults = [(c.name, c.default) for c in table.columns if c.name not in rows[0] and c.default is not None]
    names = given + [name for name, _ in defaults]
    columns: list[list] = [[row[name] for row in rows] for name in given]
    for _name, default in defaults:
        columns.append([default.arg(None) for _ in rows] if default.is_callable else [default.arg] * len(rows))
    for k, name in enumerate(names):
        convert = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            columns[k] = [convert(v) for v in columns[k]]
    before = None
    if returning:
        before = connection.exec_driver_sql(f'SELECT max(id) FROM "{table.name}"').scalar() or 0
    quoted = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" * len(names))
    connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', list(zip(*columns)))
    if not returning:
        return []
    wanted = ", ".join(f'"{name}"' for name in returning)
    found = connection.exec_driver_sql(f'SELECT {wanted} FROM "{table.name}" WHERE id > ?', (before,)).all()
    return [tuple(r) for r in found]


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
