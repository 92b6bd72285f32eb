"""`audit verify` covers moves as well as the ledger (issue 14): a move row is not hash-chained
itself, so it is held to what is: its proposal's signing event (chained; it records the home, the
household, both landlords, the band and the day), its proposal, and the landlords of its home and
household. Each tampering below is named by verify, on the suite's backend."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from reciprocal import audits
from reciprocal.intake import pot
from reciprocal.lifecycle import run, views

from tests.conftest import DEMO_DATA, ROUND_DAY
from tests.moves import sign_live


@pytest.fixture
def signed(db, scheme):
    """The demo week, every proposal signed: a few moves between different landlords."""
    pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    pot.import_requests(db, scheme, DEMO_DATA / "requests.csv")
    run.run_round(db, scheme, ROUND_DAY)
    sign_live(db, scheme, ROUND_DAY + timedelta(days=2))
    assert audits.verify(db).ok
    with db.reading() as session:
        moves = [dict(r._mapping) for r in session.execute(text(
            "SELECT id, offer_ref, request_ref, from_provider, to_provider, moved_on FROM move ORDER BY id"))]
    assert len(moves) >= 2
    return moves


def tamper(db, *statements: str) -> None:
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def failures(db) -> list[str]:
    result = audits.verify(db)
    assert not result.ok
    return [str(f) for f in result.failures]


def test_two_moves_swapping_homes_between_landlords_are_named(db, signed):
    a, b = next((x, y) for x in signed for y in signed if x["to_provider"] != y["to_provider"])
    tamper(db, f"UPDATE move SET offer_ref = 'SWAP' WHERE id = {a['id']}",
           f"UPDATE move SET offer_ref = '{a['offer_ref']}' WHERE id = {b['id']}",
           f"UPDATE move SET offer_ref = '{b['offer_ref']}' WHERE id = {a['id']}")
    found = failures(db)
    for move in (a, b):
        assert any(f.startswith(f"move {move['id']}: its offer_ref is") and "signing" in f for f in found), found


def test_a_changed_date_is_named(db, signed):
    move = signed[0]
    tamper(db, f"UPDATE move SET moved_on = '2027-04-01' WHERE id = {move['id']}")
    found = failures(db)
    assert any(f.startswith(f"move {move['id']}: its moved_on is 2027-04-01, but its signing") for f in found), found


def test_a_changed_landlord_is_named(db, signed):
    move = signed[0]
    other = next(m["to_provider"] for m in signed if m["to_provider"] not in (move["to_provider"],
                                                                             move["from_provider"]))
    tamper(db, f"UPDATE move SET to_provider = '{other}' WHERE id = {move['id']}")
    found = failures(db)
    assert any(f.startswith(f"move {move['id']}: its to_provider is {other}") for f in found), found
    assert any(f"home {move['offer_ref']} is {move['to_provider']}'s" in f for f in found), found


def test_a_deleted_move_is_named(db, signed):
    """The database's foreign keys make a move go only with its legs and checklist."""
    move = signed[0]
    tamper(db, f"DELETE FROM ledger_entry WHERE move_id = {move['id']}",
           f"DELETE FROM checklist_item WHERE move_id = {move['id']}",
           f"DELETE FROM move WHERE id = {move['id']}")
    found = failures(db)
    assert any(f.endswith("is signed with 0 move(s)") for f in found), found
    assert any(f.startswith("ledger entry") and "missing" in f for f in found), found


def test_the_verify_command_exits_7_naming_the_move(db, signed, tmp_path):
    from tests.helpers import reciprocal
    move = signed[0]
    tamper(db, f"UPDATE move SET moved_on = '2027-04-01' WHERE id = {move['id']}")
    proc = reciprocal("audit", "verify", db=db.url, cwd=tmp_path)
    assert proc.returncode == 7, proc.stderr
    assert f"move {move['id']}" in proc.stdout + proc.stderr
