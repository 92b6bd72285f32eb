"""Schema migrations (Alembic): how a database made by an earlier release reaches this one.

`versions/` holds one file per schema change, oldest first: `0001_baseline` is the schema as it
stood when migrations began (the tables `SQLModel.metadata.create_all` used to make, meta
`schema_version` 1); each later revision changes it in a step that runs in one transaction.
`Database.create` and `Database.upgrade` (`reciprocal init`, `reciprocal db upgrade`) call `upgrade`
here on a connection that already holds the database's write lock, so a migration never runs
alongside a command, and a failed one leaves the database as it was.

A database from before migrations (a `meta` table but no `alembic_version`) is adopted: stamped at
the baseline, after adding the one column (`checklist_item.done_on`) that databases made before
the baseline lacked, then upgraded like any other.

Developers make a new revision with
`alembic -c reciprocal/storage/migrations/alembic.ini revision --autogenerate -m "what changed"` against a
database at head (`-x db=URL`, else `$RECIPROCAL_DATABASE_URL`, else ./reciprocal.db), then read
and trim what it wrote: a revision is reviewed code, not a dump.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

HERE = Path(__file__).resolve().parent
BASELINE = "0001_baseline"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    return scripts().get_current_head()


def known_revisions() -> list[str]:
    """Every revision, oldest first."""
    return [s.revision for s in reversed(list(scripts().walk_revisions()))]


def current(connection: Connection) -> str | None:
    """The revision the database is at; None if it has no `alembic_version` table."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection, target: str = "head") -> None:
    """Bring the schema to `target` on `connection`, inside the caller's transaction."""
    if current(connection) is None and inspect(connection).has_table("meta"):
        adopt(connection)
    command.upgrade(_config(connection), target)


def adopt(connection: Connection) -> None:
    """Stamp a database made before migrations at the baseline (its tables are the baseline's)."""
    columns = {c["name"] for c in inspect(connection).get_columns("checklist_item")}
    if "done_on" not in columns:
        connection.execute(text("ALTER TABLE checklist_item ADD COLUMN done_on DATE"))
    command.stamp(_config(connection), BASELINE)
