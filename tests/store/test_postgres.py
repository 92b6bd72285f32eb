"""What a second backend can get wrong, checked on the suite's backend (both, in `make test`):
moments in time, JSON columns, the write lock and its timeout, and what is shown of a URL."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from reciprocal import storage
from reciprocal.errors import DatabaseError
from reciprocal.storage import Database, LedgerEntryRow, RoundRow, resolve_url

from tests.conftest import ON_POSTGRES, ROUND_DAY

NEPAL = timezone(timedelta(hours=5, minutes=45))


def test_the_test_server_is_not_on_utc(db):
    """A server whose time zone is not UTC is where naive timestamps go wrong; the test role's
    zone (scripts/pg-test-server) makes every test below meaningful."""
    if not ON_POSTGRES:
        pytest.skip("SQLite has no time zone")
    engine = create_engine(db.url, poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW timezone")).scalar() != "UTC"
    engine.dispose()


def test_moments_round_trip_as_the_same_instant_in_utc(db):
    moment = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=NEPAL)
    with db.transaction() as session:
        session.add(RoundRow(on=ROUND_DAY, opened_at=moment, closed_at=moment + timedelta(hours=1)))
    with db.reading() as session:
        row = session.get(RoundRow, 1)
    assert row.opened_at == moment and row.opened_at.utcoffset() == timedelta(0)
    assert row.opened_at.microsecond == 123456
    assert row.closed_at - row.opened_at == timedelta(hours=1)


def test_the_ledger_hash_survives_the_round_trip(db):
    """An entry's hash covers the moment it was written, to the microsecond."""
    from reciprocal.ledger import GENESIS, entry_hash, hash_of
    moment = datetime(2026, 11, 23, 23, 59, 59, 999999, tzinfo=timezone.utc)
    digest = entry_hash(GENESIS, seq=1, move_id=None, round_id=None, provider="fenland", amount=0,
                        band="2 bed", entry_kind="correction", reason="test", created_at=moment)
    with db.transaction() as session:
        session.add(LedgerEntryRow(id=1, provider="fenland", amount=0, band="2 bed", entry_kind="correction",
                                   reason="test", created_at=moment, prev_hash=GENESIS, hash=digest))
    with db.reading() as session:
        assert hash_of(session.get(LedgerEntryRow, 1)) == digest


def test_json_columns_keep_what_was_written(db):
    report = {"unmatched": [{"request": "RQ-1", "reason": "aucune offre compatible — ✓", "n": None}],
              "objectives": [{"name": "high_risk_moved", "value": 2.5, "bound": 3}],
              "zeta": 1, "alpha": [1, [2, {"b": True}]]}
    with db.transaction() as session:
        session.add(RoundRow(on=ROUND_DAY, report=report, snapshot={"offers": [], "requests": ["RQ-1"]}))
    with db.reading() as session:
        row = session.get(RoundRow, 1)
    assert row.report == report
    assert list(row.report) == ["unmatched", "objectives", "zeta", "alpha"]  # key order kept


def test_a_writer_that_waits_too_long_gives_up_plainly(db, monkeypatch):
    monkeypatch.setattr(storage.database, "WRITE_WAIT_SECONDS", 1)
    second = Database(db.url)  # connects after the change, so SQLite's busy timeout is 1 s too
    try:
        with db.transaction() as session:
            session.add(RoundRow(on=ROUND_DAY))
            session.flush()
            started = time.monotonic()
            with pytest.raises(DatabaseError) as caught:
                with second.transaction() as other:
                    other.add(RoundRow(on=ROUND_DAY))
            waited = time.monotonic() - started
    finally:
        second.engine.dispose()
    assert caught.value.message == (f"database {db.display()} is busy: another reciprocal command has "
                                    f"been writing to it for 1 s; nothing was changed; try again")
    assert 0.8 <= waited < 10
    with db.reading() as session:  # the first writer's work is there, the second's is not
        assert len(session.execute(text("SELECT id FROM round")).all()) == 1


def test_an_id_no_row_can_have_is_not_found(db):
    with db.reading() as session:
        assert session.get(RoundRow, 10**20) is None
        assert session.get(RoundRow, -(10**20)) is None


def test_the_password_in_a_url_is_never_shown():
    database = Database("postgresql+psycopg://coordinator:s3cret@db.example.invalid:5432/reciprocal")
    assert database.display() == "postgresql+psycopg://coordinator:***@db.example.invalid:5432/reciprocal"
    database.engine.dispose()


def test_sqlite_paths_and_urls_resolve_alike(tmp_path):
    assert resolve_url(str(tmp_path / "r.db")) == f"sqlite:///{tmp_path / 'r.db'}"
    assert resolve_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"
