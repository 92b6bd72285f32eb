"""Storage with SQLModel: a SQLite file by default, PostgreSQL by URL.

The tables, the connection, and the conversions between rows and domain objects. Nothing outside
this module touches a row's columns directly except through these helpers and the session; the
solver never sees a row. Database-level constraints back the two worst bugs: a home let twice
(unique offer per move) and two live proposals for one home (a partial unique index).

Writers take turns. On SQLite a write transaction starts with BEGIN IMMEDIATE, which takes the
database's one write lock; on PostgreSQL it starts by taking one transaction-level advisory lock
(`pg_advisory_xact_lock`), the same single write lock in another form. Every write goes through
`Database.transaction`, so two `round close`, two `round run`, a `decide` racing a `close` or two
imports simply queue, and the second sees all of the first's work. Why not row locks or
SERIALIZABLE: `round run` has no row to lock until it has made one, and a serialisation failure
would mean re-running the solver; writes here are a few a week, so one writer at a time costs
nothing and gives both backends the same behaviour. A writer that waits longer than
`WRITE_WAIT_SECONDS` gives up with a clear message and changes nothing.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import JSON, Column, Index, UniqueConstraint, delete, event, insert, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.exc import DatabaseError as DriverError
from sqlmodel import Field, Session, SQLModel, create_engine

from reciprocal.domain import (LIVE_PROPOSAL, ChecklistStatus, Offer, OfferStatus, ProposalStatus, RoundStatus, PropertyType, Request, RequestKind, RequestStatus, Risk)
from reciprocal.errors import DatabaseError

# The live stages, as the partial unique indexes read them: a home and a household are each in at
# most one live proposal (rule 10), enforced by the database as well as by the engine.
LIVE_SQL = "status IN (" + ", ".join(f"'{s.value}'" for s in LIVE_PROPOSAL) + ")"

# meta.schema_version: 1 was the schema before migrations; 2 means "kept by the migrations in
# reciprocal/migrations", whose revision (in alembic_version) must then be SCHEMA_HEAD. An engine
# from before migrations refuses a version 2 database instead of misreading it.
SCHEMA_VERSION = 2
SCHEMA_HEAD = "0005_case_updates"
DEFAULT_DB = "reciprocal.db"
# How long a writer waits for another to finish before giving up (SQLite busy timeout,
# PostgreSQL lock_timeout).
WRITE_WAIT_SECONDS = 30
# The key of the PostgreSQL advisory lock that every write transaction takes ("RECIPROC").
WRITE_LOCK_KEY = 0x5245434950524F43
# The largest id a row can have on every backend (PostgreSQL's INTEGER); a larger one names no row.
MAX_ID = 2**31 - 1


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
    available_until: Optional[date] = None
    status: str = Field(default=OfferStatus.available.value, index=True)
    for_request: Optional[str] = Field(default=None, index=True)
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
    status: str = Field(default=RequestStatus.active.value, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    closed_on: Optional[date] = None
    outcome: Optional[str] = None  # why a closed request closed (RequestOutcome)
    hold_reason: Optional[str] = None  # on_hold: why
    look_again_on: Optional[date] = None  # on_hold: when to look again
    reconfirmed_on: Optional[date] = None  # the last day its landlord said it still needs to move
    # The day `request purge` removed this closed household's details (reciprocal.intake.purge).
    purged_on: Optional[date] = None


class RoundRow(SQLModel, table=True):
    __tablename__ = "round"
    id: Optional[int] = Field(default=None, primary_key=True)
    on: date
    status: str = Field(default=RoundStatus.run.value, index=True)
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
              sqlite_where=text(LIVE_SQL), postgresql_where=text(LIVE_SQL)),
        Index("one_live_proposal_per_request", "request_ref", unique=True,
              sqlite_where=text(LIVE_SQL), postgresql_where=text(LIVE_SQL)),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    request_ref: str = Field(index=True)
    offer_ref: str = Field(index=True)
    from_provider: str
    to_provider: str
    status: str = ProposalStatus.proposed.value
    explanation: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decline_reason: Optional[str] = None  # the free text of a refusal, lapse or cancellation
    decided_at: Optional[datetime] = None
    stage_on: Optional[date] = None  # the day the current stage began (or the proposal ended)
    due_on: Optional[date] = None  # the day a live stage lapses after (working days)
    refused_by: Optional[str] = None  # RefusedBy
    refusal_reason: Optional[str] = None  # one of the scheme's lifecycle.refusal_reasons
    reasonable_offer: Optional[bool] = None  # for a household refusal: was the home reasonable?
    viewing_on: Optional[date] = None
    tenancy_start: Optional[date] = None


class ProposalEventRow(SQLModel, table=True):
    """The proposal trail: one row per change of stage, append-only and hash-chained."""

    __tablename__ = "proposal_event"
    id: Optional[int] = Field(default=None, primary_key=True)  # the event's sequence number
    # None: an update of a request's or an offer's facts (`case_ref`), chained with the rest.
    proposal_id: Optional[int] = Field(default=None, foreign_key="proposal.id", index=True)
    from_status: Optional[str] = None  # None: the proposal was made
    to_status: str
    on: date  # the day it happened (the command's --on)
    role: str  # Role: who made the change
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    prev_hash: str
    hash: str = Field(unique=True)
    # An update's case (`request:REF` or `offer:REF`; also in the chained detail) and its fields'
    # values before and after, kept out of the chain so that `request purge` can blank them (the
    # chained detail holds their digest): reciprocal.lifecycle.updates.
    case_ref: Optional[str] = Field(default=None, index=True)
    case_values: Optional[dict] = Field(default=None, sa_column=Column(JSON, nullable=True))


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
    status: str = ChecklistStatus.outstanding.value
    done_on: Optional[date] = None  # the day the owner reported it done


class ReciprocalSession(Session):
    """A session whose `get` takes an id no row can have (`round close 99999999999999999999`) as
    naming no row, where the driver would overflow; the caller then says "no round ..."."""

    def get(self, entity, ident, **kwargs):
        if isinstance(ident, int) and not isinstance(ident, bool) and not -MAX_ID - 1 <= ident <= MAX_ID:
            return None
        return super().get(entity, ident, **kwargs)


def resolve_url(db: str | None) -> str:
    """`--db`, else `$RECIPROCAL_DATABASE_URL`, else ./reciprocal.db. A plain path means SQLite."""
    value = db or os.environ.get("RECIPROCAL_DATABASE_URL") or DEFAULT_DB
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser()}"


# Query parameters whose values are credentials, wherever they sit in a URL.
SECRET_PARAMS = ("password", "passwd", "pwd", "pass", "sslpassword", "secret", "token", "apikey",
                 "api_key", "key", "sslkey")
_SECRET_QUERY = re.compile(r"([?&](?:" + "|".join(SECRET_PARAMS) + r")=)[^&#]*", re.IGNORECASE)
URL_SHAPE = "postgresql+psycopg://user:password@host:5432/database, or a file path for SQLite"


def _netloc(url: str) -> tuple[str, str, str]:
    """(scheme, netloc, rest) of a URL, read as text (it may be malformed)."""
    scheme, _, after = url.partition("://")
    cut = min([k for k in (after.find("/"), after.find("?")) if k >= 0], default=len(after))
    return scheme, after[:cut], after[cut:]


def safe_url(url: str) -> str:
    """A database URL as it may be shown: no password, wherever it sits (in the user part, even
    with an unescaped `@`, or as a query parameter). Works on malformed URLs too: it is what every
    message about a database shows."""
    if "://" not in url:
        return url  # a file path: nothing secret in it
    scheme, netloc, rest = _netloc(url)
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:***@{host}" if colon and "@" not in user else f"***@{host}" if colon or "@" in user \
            else f"{user}@{host}"
    return f"{scheme}://{netloc}{_SECRET_QUERY.sub(lambda m: m.group(1) + '***', rest)}"


def _secrets(url: str) -> list[str]:
    """The credential strings of a URL, longest first (to scrub from a driver's message)."""
    if "://" not in url:
        return []
    _, netloc, rest = _netloc(url)
    userinfo = netloc.rpartition("@")[0]
    found = [userinfo.partition(":")[2]] + [m.group(0).split("=", 1)[1] for m in _SECRET_QUERY.finditer(rest)]
    found += [part for secret in found for part in secret.split("@")]
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)


def check_url(url: str) -> URL:
    """The parsed URL, or a DatabaseError saying plainly what is wrong with it (never its
    password)."""
    shown = safe_url(url)
    if "://" in url and _netloc(url)[1].count("@") > 1:
        raise DatabaseError(f"database URL {shown}: the user name or password holds '@'; write it "
                            f"percent-encoded (%40), as in {URL_SHAPE}")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"'{shown}' is not a database URL or path ({URL_SHAPE})") from None
    except ValueError:
        raise DatabaseError(f"database URL {shown}: the port must be a number ({URL_SHAPE})") from None
    if parsed.get_backend_name() == "postgres":
        raise DatabaseError(f"database URL {shown}: 'postgres://' is an old spelling; write "
                            f"postgresql+psycopg:// (or postgresql://)")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(f"database URL {shown}: '{parsed.get_backend_name()}' is not a database this "
                            f"engine uses (SQLite or PostgreSQL: {URL_SHAPE})")
    return parsed


class Database:
    """One database: its engine and transactions."""

    def __init__(self, url: str):
        self.url = url
        parsed = check_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.path = Path(parsed.database) if self.is_sqlite and parsed.database else None
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (ArgumentError, ImportError):
            raise DatabaseError(f"database URL {safe_url(url)}: no database driver for "
                                f"'{parsed.drivername}' ({URL_SHAPE})") from None
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def display(self) -> str:
        return str(self.path) if self.path else safe_url(self.url)

    def _reason(self, exc: DriverError) -> str:
        """The driver's first line, with any credential of the URL scrubbed out."""
        reason = _short_reason(exc)
        for secret in _secrets(self.url):
            reason = reason.replace(secret, "***")
        return reason

    def create(self, scheme_id: str) -> None:
        """Make the database ready for a scheme (idempotent): a new one is built by the schema
        migrations, one made by an earlier release is upgraded. A new SQLite file is readable by
        its owner only."""
        if self.path is not None and not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
            os.close(fd)
        from reciprocal.storage import migrations
        with self._migrating() as connection:
            existing = _meta(connection).get("scheme_id")
            if existing is not None and existing != scheme_id:
                raise DatabaseError(f"database {self.display()} belongs to scheme '{existing}', "
                                    f"not '{scheme_id}'; nothing was changed")
            migrations.upgrade(connection)
            _write_meta(connection, scheme_id=scheme_id)

    def upgrade(self) -> tuple[str | None, str]:
        """`reciprocal db upgrade`: bring an initialised database to this engine's schema, in one
        transaction; returns the revisions before (None: made before migrations) and after."""
        self._check_exists()
        from reciprocal.storage import migrations
        with self._migrating() as connection:
            meta = _meta(connection)
            if not meta.get("schema_version"):
                raise DatabaseError(f"database {self.display()} is not initialised; "
                                    f"run `reciprocal init` first")
            before = migrations.current(connection)
            if before is not None and before not in migrations.known_revisions():
                raise DatabaseError(self._revision_problem(before))
            migrations.upgrade(connection)
            _write_meta(connection)
            return before, migrations.current(connection)

    def revision(self) -> str | None:
        """The schema revision the database is at (None: made before migrations)."""
        self.check_ready(check_revision=False)
        with self.engine.connect() as connection:
            return _revision(connection)

    def check_ready(self, scheme_id: str | None = None, check_revision: bool = True) -> None:
        """Refuse to work on a missing, uninitialised, foreign, older or newer database."""
        self._check_exists()
        try:
            connection = self.engine.connect()
        except DBAPIError as exc:  # refused, unknown host, a connection option the driver refuses...
            raise DatabaseError(f"cannot connect to database {self.display()} "
                                f"({self._reason(exc)})") from None
        try:
            rows = _meta(connection)
            revision = _revision(connection)
        except DriverError as exc:  # not a database at all, or not one of ours
            raise DatabaseError(f"database {self.display()} is not a reciprocal database "
                                f"({self._reason(exc)})") from None
        finally:
            connection.close()
        version = int(rows.get("schema_version", "0") or 0)
        if version == 0:
            raise DatabaseError(f"database {self.display()} is not initialised; run `reciprocal init` first")
        if scheme_id is not None and rows.get("scheme_id") not in (None, scheme_id):
            raise DatabaseError(f"database {self.display()} belongs to scheme '{rows.get('scheme_id')}', "
                                f"not '{scheme_id}'")
        if check_revision and revision != SCHEMA_HEAD:
            raise DatabaseError(self._revision_problem(revision))

    def _revision_problem(self, revision: str | None) -> str:
        from reciprocal.storage import migrations
        if revision is None:
            return (f"database {self.display()} was made before schema migrations; run `reciprocal db "
                    f"upgrade` (back it up first)")
        if revision in migrations.known_revisions():
            return (f"database {self.display()} is at schema revision {revision}; this engine needs "
                    f"{SCHEMA_HEAD}: run `reciprocal db upgrade` (back it up first)")
        return (f"database {self.display()} is at schema revision {revision}, which this engine does "
                f"not know (a newer release made it?); use that release, or restore a backup")

    def _check_exists(self) -> None:
        if self.path is not None and not self.path.exists():
            raise DatabaseError(f"database {self.display()} does not exist; run `reciprocal init` first")

    @contextmanager
    def _migrating(self) -> Iterator[Connection]:
        """A connection holding the write lock, for schema work: committed whole or not at all."""
        try:
            connection = self.engine.connect()
        except DBAPIError as exc:  # refused, unknown host, a connection option the driver refuses...
            raise DatabaseError(f"cannot connect to database {self.display()} "
                                f"({self._reason(exc)})") from None
        try:
            self._lock(connection)
            yield connection
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed whole on success, rolled back whole on any error.

        It starts by taking the database's write lock (see the module docstring), before reading
        anything, so that what it reads is what the previous writer left."""
        session = ReciprocalSession(self.engine, expire_on_commit=False)
        try:
            self._lock(session.connection())
            yield session
            try:
                session.commit()
            except OperationalError as exc:
                if _is_lock_timeout(exc):
                    raise self._busy() from None
                raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _lock(self, connection: Connection) -> None:
        """Take the database's write lock as the transaction's first statement."""
        try:
            if self.is_sqlite:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            elif self.engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{WRITE_WAIT_SECONDS}s'")
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
            else:  # pragma: no cover - only SQLite and PostgreSQL are supported
                raise DatabaseError(f"unsupported database backend '{self.engine.dialect.name}'")
        except OperationalError as exc:
            if _is_lock_timeout(exc):
                raise self._busy() from None
            raise

    def _busy(self) -> DatabaseError:
        return DatabaseError(f"database {self.display()} is busy: another reciprocal command has been "
                             f"writing to it for {WRITE_WAIT_SECONDS} s; nothing was changed; try again")

    @contextmanager
    def reading(self) -> Iterator[Session]:
        session = ReciprocalSession(self.engine, expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()


def _meta(connection: Connection) -> dict[str, str]:
    if not inspect(connection).has_table("meta"):
        return {}
    table = MetaRow.__table__
    return {key: value for key, value in connection.execute(table.select()).all()}


def _write_meta(connection: Connection, **values: str) -> None:
    table = MetaRow.__table__
    for key, value in {"schema_version": str(SCHEMA_VERSION), **values}.items():
        connection.execute(delete(table).where(table.c.key == key))
        connection.execute(insert(table).values(key=key, value=value))


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _is_lock_timeout(exc: OperationalError) -> bool:
    """SQLite's "database is locked" after its busy timeout, or PostgreSQL's lock_timeout."""
    orig = getattr(exc, "orig", None)
    return ("database is locked" in str(orig)
            or getattr(orig, "sqlstate", None) == "55P03")  # lock_not_available


def _short_reason(exc: DriverError) -> str:
    """The driver's first line, which names the failure (refused, unknown host...) but not the URL."""
    text = str(getattr(exc, "orig", exc)).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's transaction() issue BEGIN IMMEDIATE itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={WRITE_WAIT_SECONDS * 1000}")
    cursor.close()


# -- conversions --------------------------------------------------------------------------------

def offer_from_row(row: OfferRow) -> Offer:
    return Offer(ref=row.ref, provider=row.provider, area=row.area, bedrooms=row.bedrooms,
                 property_type=PropertyType(row.property_type), available_from=row.available_from,
                 floor=row.floor, step_free=row.step_free,
                 wheelchair_accessible=row.wheelchair_accessible,
                 tenancy_offered=row.tenancy_offered, weekly_rent=row.weekly_rent,
                 restrictions=tuple(row.restrictions or ()), notes=row.notes or "",
                 available_until=row.available_until, status=OfferStatus(row.status),
                 for_request=row.for_request)


def insert_rows(session: Session, row_type, rows: list[dict], chunk: int = 1000) -> None:
    """Insert column values in bulk, `chunk` rows a statement (imports and a round's trail write
    thousands of rows; one ORM object each cost seconds)."""
    for start in range(0, len(rows), chunk):
        session.execute(insert(row_type), rows[start:start + chunk])


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
