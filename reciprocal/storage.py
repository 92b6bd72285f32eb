"""Storage with SQLModel: a SQLite file by default, PostgreSQL by URL.

The tables, the connection, and the conversions between rows and domain objects. Nothing outside
this module touches a row's columns directly except through these helpers and the session; the
solver never sees a row. Database-level constraints back the two worst bugs: a home let twice
(unique offer per move) and two live proposals for one home (a partial unique index).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import JSON, Column, Index, UniqueConstraint, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError
from sqlmodel import Field, Session, SQLModel, create_engine, select

from .domain import (Offer, OfferStatus, PropertyType, Request, RequestKind, RequestStatus, Risk)
from .errors import DatabaseError

SCHEMA_VERSION = 1
DEFAULT_DB = "reciprocal.db"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class MetaRow(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class OfferRow(SQLModel, table=True):
    __tablename__ = "offer"
    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(index=True, unique=True)
    provider: str = Field(index=True)
    area: str
    bedrooms: int
    property_type: str
    floor: Optional[int] = None
    step_free: bool = False
    wheelchair_accessible: bool = False
    tenancy_offered: Optional[str] = None
    weekly_rent: Optional[float] = None
    available_from: date
    restrictions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: str = ""
    status: str = Field(default=OfferStatus.open.value, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    closed_on: Optional[date] = None


class RequestRow(SQLModel, table=True):
    __tablename__ = "request"
    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(index=True, unique=True)
    provider: str = Field(index=True)
    kind: str
    current_tenancy: str
    bedrooms_needed: int
    max_bedrooms: Optional[int] = None
    needs_step_free: bool = False
    needs_wheelchair: bool = False
    avoid_areas: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    preferred_areas: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    risk: str = Risk.standard.value
    referred_on: date
    age: Optional[str] = None
    survivor_area: Optional[str] = None
    survivor_consent: bool = False
    safety_decision_on: Optional[date] = None
    status: str = Field(default=RequestStatus.open.value, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    closed_on: Optional[date] = None


class RoundRow(SQLModel, table=True):
    __tablename__ = "round"
    id: Optional[int] = Field(default=None, primary_key=True)
    on: date
    status: str = Field(default="open", index=True)
    opened_at: datetime = Field(default_factory=utcnow)
    closed_at: Optional[datetime] = None
    # The solver's report: objectives (value, bound, gap, seconds), unmatched reasons, timings.
    report: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    snapshot: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ProposalRow(SQLModel, table=True):
    __tablename__ = "proposal"
    __table_args__ = (
        # At most one live proposal per home and per household, enforced by the database.
        Index("one_live_proposal_per_offer", "offer_ref", unique=True,
              sqlite_where=text("status IN ('pending', 'accepted')"),
              postgresql_where=text("status IN ('pending', 'accepted')")),
        Index("one_live_proposal_per_request", "request_ref", unique=True,
              sqlite_where=text("status IN ('pending', 'accepted')"),
              postgresql_where=text("status IN ('pending', 'accepted')")),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    request_ref: str = Field(index=True)
    offer_ref: str = Field(index=True)
    from_provider: str
    to_provider: str
    status: str = "pending"
    explanation: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decline_reason: Optional[str] = None
    decided_at: Optional[datetime] = None


class MoveRow(SQLModel, table=True):
    __tablename__ = "move"
    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    proposal_id: int = Field(foreign_key="proposal.id", unique=True)
    request_ref: str = Field(unique=True)  # a household moves once through the scheme
    offer_ref: str = Field(unique=True)  # a home is never let twice
    from_provider: str
    to_provider: str
    kind: str
    bedrooms: int
    band: str
    moved_on: date


class LedgerEntryRow(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = (UniqueConstraint("move_id", "provider", "entry_kind", name="one_leg_per_side"),)
    id: Optional[int] = Field(default=None, primary_key=True)  # the entry's sequence number
    move_id: Optional[int] = Field(default=None, foreign_key="move.id", index=True)
    round_id: Optional[int] = None
    provider: str = Field(index=True)
    amount: int  # +1: gave a home; -1: its tenant was housed by another member
    band: str
    entry_kind: str = "move"  # move | correction
    reason: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    prev_hash: str
    hash: str = Field(unique=True)


class ChecklistItemRow(SQLModel, table=True):
    __tablename__ = "checklist_item"
    id: Optional[int] = Field(default=None, primary_key=True)
    move_id: int = Field(foreign_key="move.id", index=True)
    item: str
    owner: str  # the provider who must do it
    status: str = "outstanding"  # outstanding | done
    done_on: Optional[date] = None  # the day the owner reported it done


def resolve_url(db: str | None) -> str:
    """`--db`, else `$RECIPROCAL_DATABASE_URL`, else ./reciprocal.db. A plain path means SQLite."""
    value = db or os.environ.get("RECIPROCAL_DATABASE_URL") or DEFAULT_DB
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser()}"


class Database:
    """One database: its engine and transactions."""

    def __init__(self, url: str):
        self.url = url
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise DatabaseError(f"'{url}' is not a database URL or path") from None
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.path = Path(parsed.database) if self.is_sqlite and parsed.database else None
        self.engine: Engine = create_engine(url, future=True)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def display(self) -> str:
        return str(self.path) if self.path else make_url(self.url).render_as_string(hide_password=True)

    def create(self, scheme_id: str) -> None:
        """Create the schema (idempotent). A new SQLite file is readable by its owner only."""
        if self.path is not None and not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
            os.close(fd)
        SQLModel.metadata.create_all(self.engine)
        with self.transaction() as session:
            existing = session.get(MetaRow, "scheme_id")
            if existing is not None and existing.value != scheme_id:
                raise DatabaseError(f"database {self.display()} belongs to scheme '{existing.value}', "
                                    f"not '{scheme_id}'; nothing was changed")
            session.merge(MetaRow(key="schema_version", value=str(SCHEMA_VERSION)))
            session.merge(MetaRow(key="scheme_id", value=scheme_id))

    def check_ready(self, scheme_id: str | None = None) -> None:
        """Refuse to work on a missing, uninitialised, foreign or newer database."""
        if self.path is not None and not self.path.exists():
            raise DatabaseError(f"database {self.display()} does not exist; run `reciprocal init` first")
        try:
            connection = self.engine.connect()
        except OperationalError as exc:
            raise DatabaseError(f"cannot connect to database {self.display()} "
                                f"({_short_reason(exc)})") from None
        try:
            with Session(bind=connection) as session:
                rows = {m.key: m.value for m in session.exec(select(MetaRow)).all()}
        except (OperationalError, ProgrammingError):
            raise DatabaseError(f"database {self.display()} is not initialised; "
                                f"run `reciprocal init` first") from None
        finally:
            connection.close()
        version = int(rows.get("schema_version", "0") or 0)
        if version == 0:
            raise DatabaseError(f"database {self.display()} is not initialised; run `reciprocal init` first")
        if version != SCHEMA_VERSION:
            raise DatabaseError(f"database {self.display()} has schema version {version}; this engine "
                                f"expects {SCHEMA_VERSION}")
        if scheme_id is not None and rows.get("scheme_id") not in (None, scheme_id):
            raise DatabaseError(f"database {self.display()} belongs to scheme '{rows.get('scheme_id')}', "
                                f"not '{scheme_id}'")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed whole on success, rolled back whole on any error."""
        session = Session(self.engine, expire_on_commit=False)
        try:
            if self.is_sqlite:
                # Take the write lock at the start so two writers serialise instead of deadlocking.
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        session = Session(self.engine, expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()


def _short_reason(exc: OperationalError) -> str:
    """The driver's first line, which names the failure (refused, unknown host...) but not the URL."""
    text = str(getattr(exc, "orig", exc)).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's transaction() issue BEGIN IMMEDIATE itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# -- conversions --------------------------------------------------------------------------------

def offer_from_row(row: OfferRow) -> Offer:
    return Offer(ref=row.ref, provider=row.provider, area=row.area, bedrooms=row.bedrooms,
                 property_type=PropertyType(row.property_type), available_from=row.available_from,
                 floor=row.floor, step_free=row.step_free,
                 wheelchair_accessible=row.wheelchair_accessible,
                 tenancy_offered=row.tenancy_offered, weekly_rent=row.weekly_rent,
                 restrictions=tuple(row.restrictions or ()), notes=row.notes or "",
                 status=OfferStatus(row.status))


def row_from_offer(offer: Offer) -> OfferRow:
    return OfferRow(ref=offer.ref, provider=offer.provider, area=offer.area, bedrooms=offer.bedrooms,
                    property_type=offer.property_type.value, floor=offer.floor,
                    step_free=offer.step_free, wheelchair_accessible=offer.wheelchair_accessible,
                    tenancy_offered=offer.tenancy_offered, weekly_rent=offer.weekly_rent,
                    available_from=offer.available_from, restrictions=list(offer.restrictions),
                    notes=offer.notes, status=offer.status.value)


def request_from_row(row: RequestRow) -> Request:
    return Request(ref=row.ref, provider=row.provider, kind=RequestKind(row.kind),
                   current_tenancy=row.current_tenancy, bedrooms_needed=row.bedrooms_needed,
                   referred_on=row.referred_on, risk=Risk(row.risk), max_bedrooms=row.max_bedrooms,
                   needs_step_free=row.needs_step_free, needs_wheelchair=row.needs_wheelchair,
                   avoid_areas=tuple(row.avoid_areas or ()),
                   preferred_areas=tuple(row.preferred_areas or ()), age=row.age,
                   survivor_area=row.survivor_area, survivor_consent=row.survivor_consent,
                   safety_decision_on=row.safety_decision_on, status=RequestStatus(row.status))


def row_from_request(request: Request) -> RequestRow:
    return RequestRow(ref=request.ref, provider=request.provider, kind=request.kind.value,
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
