"""The database: its engine, its schema's readiness, and its transactions, one writer at a time.

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
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import delete, event, insert, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.exc import DatabaseError as DriverError
from sqlmodel import Session, create_engine

from reciprocal.errors import DatabaseError
from reciprocal.storage.tables import MAX_ID, MetaRow, live_only_on_postgresql
from reciprocal.storage import readiness
from reciprocal.storage.readiness import SCHEMA_HEAD, SCHEMA_VERSION
from reciprocal.storage.urls import URL_SHAPE, check_url, safe_url

if TYPE_CHECKING:
    from reciprocal.storage.reader import Reader

# How long a writer waits for another to finish before giving up (SQLite busy timeout,
# PostgreSQL lock_timeout).
WRITE_WAIT_SECONDS = 30
# The key of the PostgreSQL advisory lock that every write transaction takes ("RECIPROC").
WRITE_LOCK_KEY = 0x5245434950524F43


class ReciprocalSession(Session):
    """A session whose `get` takes an id no row can have (`round close 99999999999999999999`) as
    naming no row, where the driver would overflow; the caller then says "no round ..."."""

    def get(self, entity, ident, **kwargs):
        if isinstance(ident, int) and not isinstance(ident, bool) and not -MAX_ID - 1 <= ident <= MAX_ID:
            return None
        return super().get(entity, ident, **kwargs)

    def rows(self, sql: str, params: dict | None = None) -> list[dict]:
        """A query's rows as `Reader.rows` gives them (plain dicts of the ORM's values), inside this
        session's transaction, after its pending changes: a reading shared with the read commands."""
        from reciprocal.storage.reader import as_dicts, expanded
        self.flush()
        sql, values = expanded(sql, params or {})
        result = self.execute(text(sql), values)
        return as_dicts(list(result.keys()), result.all(), self.get_bind().dialect.name == "sqlite")


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
        else:
            live_only_on_postgresql()

    def display(self) -> str:
        return str(self.path) if self.path else safe_url(self.url)

    def reader(self) -> Reader:
        """This database as the read commands read it (`reciprocal.storage.reader`), through the
        plain driver; sharing this database's caches (its `identity` is this engine)."""
        from reciprocal.storage.reader import Reader
        reader = Reader(self.url)
        reader.identity = self.engine
        return reader

    def _reason(self, exc: DriverError) -> str:
        """The driver's first line, with any credential of the URL scrubbed out."""
        return readiness.short_reason(exc, self.url)

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
        connection = self._connect()
        try:
            rows = _meta(connection)
            revision = _revision(connection)
        except DriverError as exc:  # not a database at all, or not one of ours
            raise readiness.not_ours(self.display(), self._reason(exc)) from None
        finally:
            connection.close()
        readiness.judge(self.display(), rows, revision, scheme_id, check_revision)

    def _revision_problem(self, revision: str | None) -> str:
        return readiness.revision_problem(self.display(), revision)

    def _connect(self) -> Connection:
        try:
            return self.engine.connect()
        except DBAPIError as exc:  # refused, unknown host, a connection option the driver refuses...
            raise readiness.cannot_connect(self.display(), self._reason(exc)) from None

    def _check_exists(self) -> None:
        if self.path is not None and not self.path.exists():
            raise readiness.does_not_exist(self.display())

    @contextmanager
    def _migrating(self) -> Iterator[Connection]:
        """A connection holding the write lock, for schema work: committed whole or not at all."""
        connection = self._connect()
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


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's transaction() issue BEGIN IMMEDIATE itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={WRITE_WAIT_SECONDS * 1000}")
    cursor.close()
