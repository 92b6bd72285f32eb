"""Shared fixtures: the example scheme, fresh databases, and tiny hand-built offers and requests.

The database backend comes from `RECIPROCAL_TEST_DATABASE_URL`: unset, every test database is a
SQLite file; set to a PostgreSQL URL (`make test` does this on its second run, with the server
`scripts/pg-test-server` starts), every test gets a database of its own on that server. Either
way a fresh database is a copy of one made by `Database.create` at the start of the session
(a file copy, or `CREATE DATABASE ... TEMPLATE`), which is much faster than migrating each one.
"""
from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from reciprocal.config import Scheme, load_scheme
from reciprocal.domain import Offer, PropertyType, Request, RequestKind, Risk
from reciprocal.storage import Database, resolve_url

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "mou_configs"
DEMO_DATA = ROOT / "reciprocal" / "demo_data"
ROUND_DAY = date(2026, 11, 23)

TEST_DATABASE_URL = os.environ.get("RECIPROCAL_TEST_DATABASE_URL") or None
BACKEND = make_url(TEST_DATABASE_URL).get_backend_name() if TEST_DATABASE_URL else "sqlite"
ON_POSTGRES = BACKEND == "postgresql"
if TEST_DATABASE_URL and not ON_POSTGRES:
    raise RuntimeError(f"RECIPROCAL_TEST_DATABASE_URL must be a PostgreSQL URL, not {BACKEND}")

only_sqlite = pytest.mark.skipif(ON_POSTGRES, reason="about the SQLite file itself")


def pytest_report_header(config) -> str:
    if ON_POSTGRES:
        shown = make_url(TEST_DATABASE_URL).render_as_string(hide_password=True)
        return f"database backend: postgresql ({shown})"
    return "database backend: sqlite"


@pytest.fixture(scope="session")
def scheme() -> Scheme:
    return load_scheme(CONFIG_DIR)


# -- PostgreSQL: one database per test, copied from a template ---------------------------------

_names = itertools.count(1)
PREFIX = "rt_"


def _admin():
    """A connection to the server's test database, for CREATE and DROP DATABASE."""
    engine = create_engine(TEST_DATABASE_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    return engine


def _with_database(name: str) -> str:
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


def pg_create_database(template: str | None = None) -> str:
    """A new, empty (or template-copied) database on the test server; returns its URL."""
    name = f"{PREFIX}{os.getpid()}_{next(_names)}"
    engine = _admin()
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        # FILE_COPY: for a database this small, copying files beats logging every block, and
        # the copy drops several times faster.
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}" STRATEGY FILE_COPY'
                                                            if template else ""))
    engine.dispose()
    return _with_database(name)


def pg_drop_database(url: str) -> None:
    name = make_url(url).database
    engine = _admin()
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def _drop_stale_databases() -> None:
    """Databases left by an earlier run that was killed (their process is gone)."""
    engine = _admin()
    with engine.connect() as conn:
        names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                             {"p": PREFIX.replace("_", r"\_") + "%"}).scalars().all()
        for name in names:
            pid = name[len(PREFIX):].split("_")[0]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def db_template(tmp_path_factory, scheme) -> Iterator[str]:
    """A database made ready by `Database.create`: a SQLite file path, or a PostgreSQL database name."""
    if ON_POSTGRES:
        _drop_stale_databases()
        url = pg_create_database()
        database = Database(url)
        database.create(scheme.id)
        database.engine.dispose()
        name = make_url(url).database
        yield name
        pg_drop_database(url)
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        database = Database(resolve_url(str(path)))
        database.create(scheme.id)
        database.engine.dispose()
        yield str(path)


@pytest.fixture
def db_url(tmp_path, db_template) -> Iterator[str]:
    """The URL of a fresh database, initialised for the example scheme, for this test alone.

    Give it to the command line as `--db URL`; on SQLite it is a plain path."""
    if ON_POSTGRES:
        url = pg_create_database(db_template)
        yield url
        pg_drop_database(url)
    else:
        target = tmp_path / "test.db"
        shutil.copy2(db_template, target)
        yield str(target)


@pytest.fixture
def empty_db_url(tmp_path) -> Iterator[str]:
    """The URL of a database that `reciprocal init` has not touched: on SQLite a path that does
    not exist yet, on PostgreSQL a new, empty database."""
    if ON_POSTGRES:
        url = pg_create_database()
        yield url
        pg_drop_database(url)
    else:
        yield str(tmp_path / "new.db")


@pytest.fixture
def db(db_url) -> Iterator[Database]:
    database = Database(resolve_url(db_url))
    yield database
    database.engine.dispose()


def copy_database(source: str, directory: Path) -> str:
    """A copy of a ready database (a SQLite path, or a PostgreSQL URL or database name that no one
    is connected to): `directory / "r.db"` on SQLite, a new database on PostgreSQL (drop it with
    `drop_database`)."""
    if ON_POSTGRES:
        return pg_create_database(make_url(source).database if "://" in source else source)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "r.db"
    shutil.copy2(source, target)
    return str(target)


def drop_database(url: str) -> None:
    """Drop a PostgreSQL test database (a SQLite file goes with its temporary folder)."""
    if ON_POSTGRES:
        pg_drop_database(url)


def count(url: str | Database, table: str) -> int:
    """Rows in one table, read through a connection of its own (any backend)."""
    return scalar(url, f"SELECT count(*) FROM {table}")


def scalar(url: str | Database, statement: str, **params):
    engine = create_engine(url.url if isinstance(url, Database) else resolve_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(statement), params).scalar()
    finally:
        engine.dispose()


def make_offer(**overrides) -> Offer:
    """A 2-bed Cambridge City flat in Cambridge, available now, no restrictions."""
    base = Offer(ref="OF-1", provider="cambridge_city", area="cambridge", bedrooms=2,
                 property_type=PropertyType.flat, available_from=date(2026, 11, 20))
    return replace(base, **overrides)


def make_request(**overrides) -> Request:
    """A standard-risk Fenland survivor household on a secure tenancy needing 2 bedrooms."""
    base = Request(ref="RQ-1", provider="fenland", kind=RequestKind.survivor,
                   current_tenancy="secure", bedrooms_needed=2, referred_on=date(2026, 10, 1),
                   risk=Risk.standard)
    return replace(base, **overrides)
