"""Storage with SQLModel: a SQLite file by default, PostgreSQL by URL, in these modules:

- `tables`: the tables, one SQLModel class each, and the constraints that back the two worst bugs
  (a home let twice, two live proposals for one home or one household);
- `urls`: which database `--db` names, and a URL checked and shown without its secrets (no ORM);
- `database`: the engine, the schema's readiness and the transactions, one writer at a time;
- `rows`: rows to domain objects and back;
- `catalogue`, `readiness`, `reader`: the read commands' way in, with the plain driver and no ORM
  (issue 24): every column's kind, the one judgement of a database's readiness, and `Reader`.

Nothing outside this package touches a row's columns directly except through these helpers and
the session; the solver never sees a row. Every name is importable from `reciprocal.storage` as
before the split, loaded when first asked for, so that `from reciprocal.storage.urls import
check_url` (or this package itself) loads no ORM.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from reciprocal.lazy_exports import lazy_exports

# Each public name and the module that defines it.
_HOMES = {
    "catalogue": ("MAX_ID", "utcnow"),
    "tables": ("LIVE_SQL", "MetaRow", "OfferRow", "RequestRow", "RoundRow", "ProposalRow",
               "ProposalEventRow", "MoveRow", "LedgerEntryRow", "ChecklistItemRow"),
    "urls": ("DEFAULT_DB", "resolve_url", "SECRET_PARAMS", "URL_SHAPE", "safe_url", "check_url"),
    "readiness": ("SCHEMA_VERSION", "SCHEMA_HEAD"),
    "database": ("WRITE_WAIT_SECONDS", "WRITE_LOCK_KEY", "ReciprocalSession", "Database"),
    "reader": ("Reader",),
    "rows": ("offer_from_row", "insert_rows", "offer_values", "request_from_row", "request_values"),
}
__getattr__, __all__ = lazy_exports(__name__, _HOMES)


if TYPE_CHECKING:
    from reciprocal.storage.database import WRITE_LOCK_KEY, WRITE_WAIT_SECONDS, Database, ReciprocalSession
    from reciprocal.storage.reader import Reader
    from reciprocal.storage.readiness import SCHEMA_HEAD, SCHEMA_VERSION
    from reciprocal.storage.rows import insert_rows, offer_from_row, offer_values, request_from_row, request_values
    from reciprocal.storage.catalogue import MAX_ID, utcnow
    from reciprocal.storage.tables import (LIVE_SQL, ChecklistItemRow, LedgerEntryRow, MetaRow, MoveRow,
                                           OfferRow, ProposalEventRow, ProposalRow, RequestRow, RoundRow)
    from reciprocal.storage.urls import DEFAULT_DB, SECRET_PARAMS, URL_SHAPE, check_url, resolve_url, safe_url
