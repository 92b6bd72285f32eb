"""`storage.rows.insert_rows` on SQLite goes to the driver's `executemany` with the values made by
SQLAlchemy's own bind processors (issue 24: SQLAlchemy's per-row handling of parameters was most
of a national round's writing time). What it stores must be what SQLAlchemy's INSERT stores, byte
for byte and type for type, defaults included; and the ids it hands back must be the new rows'."""
from __future__ import annotations

import sqlite3
from datetime import date, datetime, timezone

import pytest

from reciprocal.storage import rows as bulk
from reciprocal.storage.catalogue import TABLES
from reciprocal.storage.tables import OfferRow, ProposalEventRow, ProposalRow, RequestRow, RoundRow

from tests.conftest import only_sqlite, ready_sqlite

pytestmark = only_sqlite

MOMENT = datetime(2026, 11, 23, 9, 30, 1, 123456, tzinfo=timezone.utc)


def _offers() -> list[dict]:
    return [dict(ref=f"OF-{n}", provider="p", area="a", bedrooms=n % 4 + 1, property_type="flat",
                 floor=None if n % 3 else 2, step_free=bool(n % 2), wheelchair_accessible=False,
                 tenancy_offered="secure", weekly_rent=None if n % 2 else 101.25,
                 available_from=date(2026, 11, n % 28 + 1), restrictions=[] if n % 2 else ["no_pets", "é"],
                 notes="", available_until=None, status="available", for_request=None, created_at=MOMENT)
            for n in range(30)]


def _requests() -> list[dict]:
    return [dict(ref=f"RQ-{n}", provider="p", kind="transfer", current_tenancy="secure", bedrooms_needed=2,
                 max_bedrooms=None, needs_step_free=bool(n % 2), needs_wheelchair=False,
                 avoid_areas=["x", "y"][: n % 3], preferred_areas=[], risk="high", referred_on=date(2026, 1, 2),
                 age=None, survivor_area=None, survivor_consent=False, safety_decision_on=None, status="active",
                 created_at=MOMENT)
            for n in range(30)]


def _proposals() -> list[dict]:  # the columns `proposals.propose` gives; the rest are NULL
    return [dict(round_id=1, request_ref=f"RQ-{n}", offer_ref=f"OF-{n}", from_provider="p", to_provider="q",
                 explanation={"made_on": "2026-11-23", "score": n, "why": ["a", 1.5, None, "é"]},
                 status="proposed", stage_on=date(2026, 11, 23), due_on=date(2026, 11, 26))
            for n in range(30)]


def _events() -> list[dict]:
    return [dict(id=n + 1, proposal_id=n + 1, from_status=None, to_status="proposed", on=date(2026, 11, 23),
                 role="engine", detail={"round": 1, "due_on": "2026-11-26"}, created_at=MOMENT,
                 prev_hash="0" * 64, hash=f"{n:064d}")
            for n in range(30)]


CASES = [(OfferRow, _offers), (RequestRow, _requests), (ProposalRow, _proposals), (ProposalEventRow, _events)]


def _stored(db, table: str) -> list[tuple]:
    """Every column of every row as SQLite keeps it: its storage class and its exact text."""
    columns = ", ".join(f'typeof("{c}"), quote("{c}")' for c in TABLES[table])
    with sqlite3.connect(db.path) as connection:
        return connection.execute(f'SELECT {columns} FROM "{table}" ORDER BY id').fetchall()


def _parents(db, row_type) -> None:
    """Rounds 1 and 2, and (for trail events) the 30 proposals, that the rows' foreign keys name."""
    with db.transaction() as session:
        if row_type in (ProposalRow, ProposalEventRow):
            bulk._insert_by_sqlalchemy(session, RoundRow.__table__, [dict(id=n, on=date(2026, 11, 23), report={},
                                                                          snapshot={}) for n in (1, 2)], 100, ())
        if row_type is ProposalEventRow:
            bulk._insert_by_sqlalchemy(session, ProposalRow.__table__, _proposals(), 100, ())


def _insert(db, row_type, rows: list[dict], how) -> list[tuple]:
    _parents(db, row_type)
    with db.transaction() as session:
        if how is bulk._insert_on_sqlite:
            return how(session, row_type.__table__, rows, ("id",) if row_type is ProposalRow else ())
        return how(session, row_type.__table__, rows, 7, ("id",) if row_type is ProposalRow else ())


@pytest.mark.parametrize("row_type, make", CASES, ids=lambda c: getattr(c, "__tablename__", ""))
def test_the_driver_path_stores_what_sqlalchemy_stores(tmp_path, scheme, row_type, make):
    by_sqlalchemy = ready_sqlite(tmp_path / "a.db", scheme.id)
    by_driver = ready_sqlite(tmp_path / "b.db", scheme.id)
    ids_a = _insert(by_sqlalchemy, row_type, make(), bulk._insert_by_sqlalchemy)
    ids_b = _insert(by_driver, row_type, make(), bulk._insert_on_sqlite)
    stored = _stored(by_driver, row_type.__tablename__)
    assert len(stored) == 30
    assert stored == _stored(by_sqlalchemy, row_type.__tablename__)
    assert sorted(ids_a) == sorted(ids_b)


def test_the_ids_handed_back_are_the_new_rows_only(tmp_path, scheme):
    db = ready_sqlite(tmp_path / "r.db", scheme.id)
    _parents(db, ProposalRow)
    first = _proposals()[:10]
    with db.transaction() as session:
        old = dict(bulk.insert_rows(session, ProposalRow, first, returning=("request_ref", "id")))
    later = [{**p, "round_id": 2} for p in _proposals()[10:]]
    with db.transaction() as session:
        new = dict(bulk.insert_rows(session, ProposalRow, later, returning=("request_ref", "id")))
    assert sorted(new) == sorted(p["request_ref"] for p in later)
    assert not set(new.values()) & set(old.values())
    with sqlite3.connect(db.path) as connection:
        assert dict(connection.execute("SELECT request_ref, id FROM proposal WHERE round_id = 2")) == new


def test_a_column_left_out_gets_its_default_on_every_row(tmp_path, scheme):
    """The offer's `created_at` (a callable default) and `status`, `notes`... (plain defaults)."""
    db = ready_sqlite(tmp_path / "r.db", scheme.id)
    left_out = ("created_at", "status", "notes", "step_free")
    offers = [{k: v for k, v in o.items() if k not in left_out} for o in _offers()]
    with db.transaction() as session:
        bulk.insert_rows(session, OfferRow, offers)
    with sqlite3.connect(db.path) as connection:
        got = connection.execute("SELECT created_at, status, notes, step_free FROM offer").fetchall()
    assert len(got) == 30
    for created_at, status, notes, step_free in got:
        assert (status, notes, step_free) == ("available", "", 0)
        assert abs(datetime.fromisoformat(created_at).replace(tzinfo=timezone.utc)
                   - datetime.now(timezone.utc)).total_seconds() < 3600


def test_rows_that_give_different_columns_are_refused_not_cut(tmp_path, scheme):
    """Both ways take the columns from the first row: a later row's extra value would be dropped
    and the default stored. A caller's mistake, refused before anything is written."""
    db = ready_sqlite(tmp_path / "r.db", scheme.id)
    offers = [{k: v for k, v in o.items() if k != "notes"} for o in _offers()[:3]]
    offers[2]["notes"] = "kept?"
    with pytest.raises(ValueError, match="every row must give the same columns"):
        with db.transaction() as session:
            bulk.insert_rows(session, OfferRow, offers)
    with sqlite3.connect(db.path) as connection:
        assert connection.execute("SELECT count(*) FROM offer").fetchone() == (0,)
