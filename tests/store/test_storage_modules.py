"""The storage package in its four modules (tables, urls, database, rows): every name it had is
still importable from `reciprocal.storage`, and checking a database URL loads no ORM."""
from __future__ import annotations

import importlib

import pytest

from tests.cli.test_startup import _loaded_after

# Every public name `reciprocal.storage` had as one module, as the rest of the code imports them.
NAMES = ("LIVE_SQL", "SCHEMA_VERSION", "SCHEMA_HEAD", "DEFAULT_DB", "WRITE_WAIT_SECONDS", "WRITE_LOCK_KEY",
         "MAX_ID", "utcnow", "MetaRow", "OfferRow", "RequestRow", "RoundRow", "ProposalRow", "ProposalEventRow",
         "MoveRow", "LedgerEntryRow", "ChecklistItemRow", "ReciprocalSession", "resolve_url", "SECRET_PARAMS",
         "URL_SHAPE", "safe_url", "check_url", "Database", "offer_from_row", "insert_rows", "offer_values",
         "request_from_row", "request_values")


@pytest.mark.parametrize("name", NAMES)
def test_every_name_is_importable_from_the_package(name):
    storage = importlib.import_module("reciprocal.storage")
    assert getattr(storage, name) is not None
    assert name in storage.__all__


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        importlib.import_module("reciprocal.storage").Nothing


def test_checking_a_database_url_loads_no_orm():
    loaded = _loaded_after("from reciprocal.storage import check_url, resolve_url, safe_url\n"
                           "check_url(resolve_url('x.db'))\n"
                           "check_url('postgresql+psycopg://u:p@h:5432/d')\nsafe_url('postgresql://u:p@h/d')")
    assert sorted(m for m in loaded if m.split(".")[0] == "sqlmodel" or m.startswith("sqlalchemy.orm")) == []
