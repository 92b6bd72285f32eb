"""Members the database has records of but the MoU configs do not define.

A provider whose YAML file was deleted or renamed still has offers, requests, proposals, moves and
ledger entries in the database. Matching would silently drop it and the ledger would show it with
no debt limit, so every command that reads both the configs and the database refuses first
(`cli.context.Settings.database`), and `config validate --db` lists it beside the YAML problems.
One DISTINCT query per table: a few milliseconds however long the history, read through the
plain driver (`reciprocal.storage.reader`), so that a read command checking its members loads no
ORM.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from reciprocal.errors import ConfigError, Problem

if TYPE_CHECKING:  # a read that needs no scheme (`round list`) does not load the configs' models
    from reciprocal.config import Scheme
    from reciprocal.storage import Database, Reader

# Each table and the columns in it that hold a member (provider) id.
MEMBER_COLUMNS = (
    ("offers", "offer", ("provider",)),
    ("requests", "request", ("provider",)),
    ("proposals", "proposal", ("from_provider", "to_provider")),
    ("moves", "move", ("from_provider", "to_provider")),
    ("ledger entries", "ledger_entry", ("provider",)),
    ("checklist items", "checklist_item", ("owner",)),
)


def members_in_database(db: Database | Reader) -> dict[str, list[str]]:
    """Every member id the database's records name, with the kinds of record naming it."""
    found: dict[str, list[str]] = {}
    with db.reader() as reader:
        for what, table, columns in MEMBER_COLUMNS:
            query = (" UNION ".join(f"SELECT {c} AS member FROM {table}" for c in columns) if len(columns) > 1
                     else f"SELECT DISTINCT {columns[0]} AS member FROM {table}")
            for row in reader.rows(query):
                found.setdefault(row["member"], []).append(what)
        return found


def undefined_members(db: Database | Reader, defined: Iterable[str]) -> dict[str, list[str]]:
    """The member ids the database names and `defined` lacks (sorted), with their kinds of record."""
    defined = set(defined)
    return {m: what for m, what in sorted(members_in_database(db).items()) if m not in defined}


def undefined_member_problems(db: Database | Reader, defined: Iterable[str], folder: str
                              ) -> tuple[dict[str, list[str]], list[Problem]]:
    """The undefined members and one problem for each, naming the folder their file is missing from."""
    missing = undefined_members(db, defined)
    return missing, [Problem(db.display(), f"member '{member}' has {', '.join(what)} in the database but "
                                           f"no file in {folder}/providers/ defines it (deleted or renamed?)")
                     for member, what in missing.items()]


def check_members(db: Database | Reader, scheme: Scheme) -> None:
    """Refuse (ConfigError, nothing written) if the database names a member `scheme` lacks."""
    missing, problems = undefined_member_problems(db, scheme.providers, scheme.source)
    if problems:
        raise ConfigError(problems, f"The database {db.display()} has records of member(s) that the MoU "
                                    f"configs in {scheme.source} do not define: {', '.join(missing)}. Nothing "
                                    f"was done: restore providers/<id>.yaml (a member that left keeps its "
                                    f"file, with `left:`), or point --config at the scheme's folder")
