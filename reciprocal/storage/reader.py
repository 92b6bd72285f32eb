"""The read commands' way into the database: the plain driver (`sqlite3`, or `psycopg` for
PostgreSQL) and plain SQL, without SQLAlchemy, SQLModel or pydantic, whose import alone cost a read
command 0.3 s of CPU (issue 24).

A `Reader` opens the database for reading only (SQLite: a `mode=ro` URI, so that no read ever
writes to the file, and a read-only file can be read; PostgreSQL: a session whose transactions
are read only), makes the same readiness checks as `Database.check_ready`, judged in one place
(`reciprocal.storage.readiness`), and hands back rows as plain dicts whose values are exactly the
Python types the ORM gives (`reciprocal.storage.catalogue` says each column's kind).

Queries name their parameters `:name` (translated for psycopg); a list or tuple value is expanded
for `IN :name`. A `Database` and a `Reader` both answer `reader()`, so a read function takes
either (`with db.reader() as reader:` closes the connection when the reading is done): a writer's view after its transaction reads the same way the read command does. A write
session answers `rows` too (`ReciprocalSession.rows`), so a reading shared with writers is written
once, in SQL, and its rows come back the same.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from reciprocal.storage import readiness
from reciprocal.storage.catalogue import converters
from reciprocal.storage.urls import safe_url

# How long a read waits for a writer that is committing (SQLite's lock) before giving up.
READ_WAIT_SECONDS = 30

_PARAM = re.compile(r"(?<![:\w]):(\w+)")
# A PostgreSQL URL of the plain shape, which `urls.check_url` accepts as it is: at most one `@`
# before the host, a numeric port. Any other goes through `check_url`, for its exact message.
_PLAIN_POSTGRES = re.compile(r"^postgresql(?:\+psycopg)?://(?:(?P<user>[^:@/?#\s]*)(?::(?P<password>[^@/?#\s]*))?@)?"
                             r"(?:(?P<host>[A-Za-z0-9.\-]+)|\[(?P<ip6>[0-9A-Fa-f:.]+)\])(?::(?P<port>\d+))?"
                             r"(?:/(?P<dbname>[^?#\s]*))?(?:\?(?P<query>[^#\s]*))?$")


def _plain_url(url: str) -> tuple[bool, Path | None, dict | None]:
    """(is SQLite, its file, PostgreSQL's connection parameters). The usual shapes are read as
    text; anything else goes through `urls.check_url`, which says what is wrong with a bad one (it
    loads SQLAlchemy's URL parser, on that rare path only). The parameters are those SQLAlchemy's
    psycopg dialect would pass (the URL's parts and its query), so that the driver's refusals read
    the same."""
    if url.startswith("sqlite:///") and "?" not in url and len(url) > len("sqlite:///"):
        from urllib.parse import unquote
        # Percent-decoded, as SQLAlchemy reads the same URL for the writers: one file both ways.
        return True, Path(unquote(url[len("sqlite:///"):])), None
    plain = _PLAIN_POSTGRES.match(url)
    if plain:
        from urllib.parse import parse_qsl, unquote
        parts = {k: unquote(v) for k, v in plain.groupdict().items() if v and k != "query"}
        if "ip6" in parts:
            parts["host"] = parts.pop("ip6")
        if "port" in parts:
            parts["port"] = int(parts["port"])
        return False, None, {**parts, **dict(parse_qsl(plain["query"] or "", keep_blank_values=True))}
    from reciprocal.storage.urls import check_url
    parsed = check_url(url)
    if parsed.get_backend_name() == "sqlite":
        return True, Path(parsed.database) if parsed.database else None, None
    # Any other PostgreSQL URL (several hosts, say) is connected as the writers connect it: with
    # the arguments SQLAlchemy's dialect makes of it (and a missing driver is named as they name it).
    from reciprocal.storage.database import Database
    engine = Database(url).engine
    return False, None, engine.dialect.create_connect_args(engine.url)[1]


def _recover_hot_journal(path: Path) -> None:
    """A writer that died inside a transaction (kill -9, a power cut) leaves a hot journal beside the
    file, which SQLite rolls back at the next read; a read-only connection cannot, and answers
    "attempt to write a readonly database". So, when a journal is there, the file is opened once
    for reading as any writer opens it, which lets SQLite finish its own recovery (nothing of ours
    is written), before the read-only connection. A journal of a writer still at work is not hot:
    that read simply waits or passes, as any reader's does."""
    import sqlite3
    journal = Path(f"{path}-journal")
    try:
        if not journal.exists() or journal.stat().st_size == 0:
            return
        connection = sqlite3.connect(str(path), timeout=READ_WAIT_SECONDS, isolation_level=None)
    except (OSError, sqlite3.Error):
        return  # the read-only connection says what is wrong
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        pass  # likewise
    finally:
        connection.close()


class Reader:
    """One database, read only, through the plain driver."""

    def __init__(self, url: str):
        self.url = url
        self.is_sqlite, self.path, self._params = _plain_url(url)
        self._connection = None
        # What a cache of this database's state is kept for (`ledger.counted`'s replay): the
        # reader itself, or the engine of the `Database` that made it, so that the database's
        # sessions and its reader share one.
        self.identity: object = self

    def reader(self) -> Reader:
        return self

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *_exc) -> None:
        """Done reading for now: the connection is closed (a kept one would hold a PostgreSQL
        database open: no `CREATE DATABASE ... TEMPLATE` of it, no `DROP`); the next read opens it again."""
        self.close()

    def display(self) -> str:
        return str(self.path) if self.path else safe_url(self.url)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self):
        if self._connection is not None:
            return self._connection
        if self.is_sqlite:
            import sqlite3
            from urllib.parse import quote
            if self.path is not None and not self.path.exists():
                raise readiness.does_not_exist(self.display())
            if self.path is not None:
                _recover_hot_journal(self.path)
            where = f"file:{quote(str(self.path))}?mode=ro" if self.path is not None else ":memory:"
            try:
                self._connection = sqlite3.connect(where, uri=True,
                                                   timeout=READ_WAIT_SECONDS, isolation_level=None)
            except sqlite3.Error as exc:
                raise readiness.cannot_connect(self.display(), readiness.short_reason(exc, self.url)) from None
        else:
            import psycopg
            try:
                connection = psycopg.connect(autocommit=True, **self._params)
                connection.execute("SET default_transaction_read_only = on")
            except psycopg.Error as exc:
                raise readiness.cannot_connect(self.display(), readiness.short_reason(exc, self.url)) from None
            self._connection = connection
        return self._connection

    def _driver_error(self) -> type[Exception]:
        if self.is_sqlite:
            import sqlite3
            return sqlite3.DatabaseError
        import psycopg
        return psycopg.DatabaseError

    def check_ready(self, scheme_id: str | None = None, check_revision: bool = True) -> Reader:
        """Refuse a missing, uninitialised, foreign, older or newer database (as `Database.check_ready`)."""
        self._connect()
        try:
            meta = ({r["key"]: r["value"] for r in self.rows("SELECT key, value FROM meta")}
                    if self._has_table("meta") else {})
            revision = (self.rows("SELECT version_num FROM alembic_version")
                        if self._has_table("alembic_version") else None)
        except self._driver_error() as exc:  # not a database at all, or not one of ours
            raise readiness.not_ours(self.display(), readiness.short_reason(exc, self.url)) from None
        revision = revision[0]["version_num"] if revision else None
        readiness.judge(self.display(), meta, revision, scheme_id, check_revision)
        return self

    def _has_table(self, name: str) -> bool:
        if self.is_sqlite:
            sql = "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = :name"
        else:  # as the search path finds it
            sql = "SELECT 1 AS found WHERE to_regclass(:name) IS NOT NULL"
        return bool(self.rows(sql, {"name": name}))

    def rows(self, sql: str, params: dict | None = None) -> list[dict]:
        """The rows of a query, as dicts of the ORM's Python values."""
        sql, values = expanded(sql, params or {})
        connection = self._connect()
        if self.is_sqlite:  # a day as the ORM stores it
            values = {k: v.isoformat() if type(v) is date else v for k, v in values.items()}
            cursor = connection.execute(sql, values)
        else:
            cursor = connection.execute(_PARAM.sub(r"%(\1)s", sql.replace("%", "%%")), values)
        names = [d[0] for d in cursor.description or ()]
        found = cursor.fetchall()
        cursor.close()
        return as_dicts(names, found, self.is_sqlite)


def as_dicts(names: list[str], found: list, is_sqlite: bool) -> list[dict]:
    """Rows as dicts of the ORM's Python values: SQLite's text dates, moments and JSON and its
    0/1 booleans, and PostgreSQL's moments in the session's time zone, converted as the catalogue
    says."""
    converting = [(i, c) for i, c in enumerate(converters(names, is_sqlite)) if c is not None]
    if not converting:
        return [dict(zip(names, row)) for row in found]
    if not found:
        return []
    # Column by column (a national pot is 40,000 rows): one comprehension a converted column.
    columns = list(zip(*found))
    for i, convert in converting:
        columns[i] = [None if v is None else convert(v) for v in columns[i]]
    return [dict(zip(names, values)) for values in zip(*columns)]


def expanded(sql: str, params: dict) -> tuple[str, dict]:
    """`IN :name` with a list or tuple value becomes `IN (:name_0, :name_1, ...)`."""
    lists = {k: v for k, v in params.items() if isinstance(v, (list, tuple))}
    if not lists:
        return sql, params
    values = {k: v for k, v in params.items() if k not in lists}
    for name, items in lists.items():
        keys = [f"{name}_{i}" for i in range(len(items))]
        values.update(zip(keys, items))
        inside = ", ".join(f":{k}" for k in keys) or "NULL"
        sql = re.sub(rf"(?<![:\w]):{name}\b", f"({inside})", sql)
    return sql, values
