"""`reciprocal db ...`: the database's schema revision, and upgrading it (Alembic migrations)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cli.context import FORMAT_HELP, out, parse_format, print_json, settings

if TYPE_CHECKING:
    from reciprocal.storage import Database

db_app = typer.Typer(help="The database: its schema revision, and upgrades to this release.",
                     no_args_is_help=True)


def _database(ctx: typer.Context) -> Database:
    from reciprocal.storage import Database, resolve_url
    return Database(resolve_url(settings(ctx).db))


def say(text: str) -> None:
    """One line, never wrapped (scripts read it), never read as markup."""
    out.print(text, markup=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Upgrade the database's schema to this release (one transaction; back up first)."""
    fmt = parse_format(format)
    db = _database(ctx)
    before, after = db.upgrade()
    if fmt == "json":
        print_json({"database": db.display(), "before": before, "after": after,
                    "upgraded": before != after})
    elif before == after:
        say(f"Database {db.display()} is already at schema revision {after}; nothing to do.")
    else:
        say(f"Database {db.display()} upgraded from schema revision {before or '(before migrations)'} "
            f"to {after}.")


@db_app.command("current")
def db_current(ctx: typer.Context, format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Show the database's schema revision and the one this release needs."""
    from reciprocal.storage import SCHEMA_HEAD
    fmt = parse_format(format)
    db = _database(ctx)
    current = db.revision()
    if fmt == "json":
        print_json({"database": db.display(), "current": current, "head": SCHEMA_HEAD,
                    "up_to_date": current == SCHEMA_HEAD})
    elif current == SCHEMA_HEAD:
        say(f"Database {db.display()} is at schema revision {current}, this release's.")
    else:
        say(f"Database {db.display()} is at schema revision {current or '(before migrations)'}; this "
            f"release needs {SCHEMA_HEAD}: run `reciprocal db upgrade`.")
