"""A ledger history made by real rounds, shared by the audit tests: two weekly rounds on the demo
data (a decline, a correction, a withdrawal, a ticked checklist item) in a SQLite file, with the
ledger's clock set to each week's day, and raw SQL on such a file (to tamper with it)."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from unittest import mock

from reciprocal import ledger
from reciprocal.domain import Offer, PropertyType
from reciprocal.intake import pot
from reciprocal.lifecycle import checklist, run, views

from reciprocal.storage import Database, resolve_url
from tests.conftest import DEMO_DATA
from tests.moves import refuse, sign_live

ROUND_1 = date(2026, 11, 23)
ROUND_2 = date(2026, 11, 30)
CORRECTION_REASON = "MoU board 2026-11: counted under the old bilateral agreement"
# Homes added for the second week, each fit for a household left over from the first.
WEEK_2_OFFERS = [
    Offer("OF-2612-01", "cambridge_city", "cambridge", 3, PropertyType.house, ROUND_2),
    Offer("OF-2612-02", "fenland", "fenland", 4, PropertyType.house, ROUND_2),
    Offer("OF-2612-03", "granta_vale_housing", "cambridge", 2, PropertyType.flat, ROUND_2),
    Offer("OF-2612-04", "south_cambridgeshire", "south_cambridgeshire", 2, PropertyType.bungalow,
          ROUND_2, step_free=True, wheelchair_accessible=True),
]


def build_history(path: Path, scheme) -> Database:
    """Two weekly rounds on the demo data, as a coordinator would run them.

    Week 1 (2026-11-23): RQ-0103 declines its home, everyone else accepts: 5 moves (entries 1-10).
    Move 2 (cambridge_city's household into a peterborough_city home) is corrected: entries 11-12.
    Week 2 (2026-11-30): four new homes; every proposal accepted: 4 moves (entries 13-20).
    RQ-0112 is withdrawn; one checklist item of move 1 is ticked."""
    db = Database(resolve_url(str(path)))
    db.create(scheme.id)
    pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    pot.import_requests(db, scheme, DEMO_DATA / "requests.csv", approved_on=ROUND_1)
    # The clock is set to the week's day, so that every figure below is the same on any day.
    sql(path, "UPDATE offer SET created_at = '2026-11-23 09:00:00.000000'")
    with ledger_clock(ROUND_1):
        _week_1(db, scheme)
    pot.add_records(db, WEEK_2_OFFERS)
    sql(path, "UPDATE offer SET created_at = '2026-11-30 09:00:00.000000' WHERE ref LIKE 'OF-2612-%'")
    with ledger_clock(ROUND_2):
        _week_2(db, scheme)
    return db


@contextmanager
def ledger_clock(day: date):
    with mock.patch("reciprocal.ledger.utcnow",
                    lambda: datetime(day.year, day.month, day.day, 12, 0, tzinfo=timezone.utc)):
        yield


def _week_1(db: Database, scheme) -> None:
    round_id = run.run_round(db, scheme, ROUND_1).round_id
    for p in views.round_view(db, round_id)["proposals"]:
        if p["request"] == "RQ-0103":  # refused; the re-solve offers its home to RQ-0106
            refuse(db, scheme, p["id"], ROUND_1, "household declined: too far from school")
    assert len(sign_live(db, scheme, ROUND_1, tenancy_start=ROUND_1)) == 5
    ledger.correct(db, 2, CORRECTION_REASON)


def _week_2(db: Database, scheme) -> None:
    run.run_round(db, scheme, ROUND_2)
    assert len(sign_live(db, scheme, ROUND_2, tenancy_start=ROUND_2)) == 4
    run.request_change(db, scheme, "withdraw", "RQ-0112", ROUND_2)
    checklist.tick(db, 1, "da_move_flagged_to_new_landlord", ROUND_2)


def sql(path: Path, *statements: str, params=()) -> None:
    conn = sqlite3.connect(path)
    try:
        for s in statements:
            conn.execute(s, params)
        conn.commit()
    finally:
        conn.close()


def rehash_chain(db: Database, records, hash_of) -> None:
    """Recompute every prev_hash and hash of one chain (`records(session)`, in order) with the
    engine's own recipe `hash_of(row, prev)`: a forger's tool, since the recipe is public."""
    with db.transaction() as session:
        prev = ledger.GENESIS
        for row in records(session):
            row.prev_hash = prev
            row.hash = hash_of(row, prev)
            session.add(row)
            session.flush()
            prev = row.hash
