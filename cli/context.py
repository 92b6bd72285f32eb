"""What every command shares: the database and scheme it works on, and the consoles."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from reciprocal.errors import printable

# The scheme (pydantic, networkx) and the database (SQLAlchemy) are imported where they are first
# used, so that `--help` and usage errors do not load them (tests/cli/test_startup.py).
if TYPE_CHECKING:
    from reciprocal.config import Scheme
    from reciprocal.storage import Database, Reader


class ReaderGone(Exception):
    """Standard output's reader went away (`reciprocal ... | head -1`): `cli.app.main` ends quietly
    with exit 0, as `ls | head` does. Not an OSError, so that Click does not turn it into exit 1."""


def write_out(text: str) -> None:
    """Text for scripts, on standard output as it is (JSON, CSV, a schema)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise ReaderGone from None


class SafeConsole(Console):
    """A console that never sends a terminal a control character it was given: every string
    printed goes through `reciprocal.errors.printable` (tables' cells through `cli.render`)."""

    def print(self, *objects, **kwargs) -> None:
        super().print(*(printable(o) if isinstance(o, str) else o for o in objects), **kwargs)

    def on_broken_pipe(self) -> None:
        """The reader went away: stop printing (Rich's own answer is a silent exit 1)."""
        self.quiet = True
        raise ReaderGone


# Piped output (CI logs, files) gets a readable width for tables instead of Rich's 80-column
# default; plain messages are never wrapped, so a long path stays on one line.
out = SafeConsole(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 140)
# Errors are never wrapped: each problem stays one "file:line: key: reason" line for scripts.
err = SafeConsole(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Settings:
    db: str | None = None
    config: Path | None = None

    def scheme(self) -> Scheme:
        from reciprocal.config import load_scheme
        return load_scheme(self.config)

    def database(self, *, must_exist: bool = True, scheme: Scheme | None = None) -> Database:
        """The database, checked ready; with a scheme, also checked to hold no member that the
        configs do not define (a deleted or renamed provider file), before anything is read."""
        from reciprocal.storage import Database, resolve_url
        from reciprocal.storage.members import check_members
        db = Database(resolve_url(self.db))
        if must_exist:
            db.check_ready(scheme.id if scheme else None)
            if scheme is not None:
                check_members(db, scheme)
        return db

    def reader(self, *, scheme: Scheme | None = None) -> Reader:
        """The database for a read command: read only, through the plain driver (no ORM: issue 24),
        checked as `database` checks it, with the same messages."""
        from reciprocal.storage.members import check_members
        from reciprocal.storage.reader import Reader
        from reciprocal.storage.urls import resolve_url
        reader = Reader(resolve_url(self.db)).check_ready(scheme.id if scheme else None)
        if scheme is not None:
            check_members(reader, scheme)
        return reader


def settings(ctx: typer.Context) -> Settings:
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj


def print_json(data) -> None:
    write_out(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


FORMAT_HELP = "Output format: table (for people) or json (for scripts)."


def parse_format(value: str, allowed: tuple[str, ...] = ("table", "json")) -> str:
    if value not in allowed:
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(allowed)}", param_hint="--format")
    return value


OUT_HELP = "Write to this file (readable by its owner only) instead of standard output."


def one_out(out: Path | None, old: Path | None, old_name: str) -> Path | None:
    """--out, the one spelling of an output file, or the command's old spelling (kept hidden so
    that scripts written for it still work); both at once must agree."""
    if out is not None and old is not None and out != old:
        raise typer.BadParameter(f"give --out or {old_name}, not both", param_hint="--out")
    return out if out is not None else old


def parse_date(value: str, option: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)", param_hint=option) from None
    from reciprocal.working_days import day_problem
    problem = day_problem(day)
    if problem:
        raise typer.BadParameter(problem, param_hint=option)
    return day


ON_HELP = "The day it happened, YYYY-MM-DD (default: today)."


def day_or_today(value: str | None, option: str = "--on") -> date:
    return parse_date(value, option) if value else date.today()
