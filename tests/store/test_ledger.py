"""The ledger (SPEC section 7): double entry, a hash chain, corrections as reversing entries."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli.app import app
from reciprocal import ledger
from reciprocal.intake import pot
from reciprocal.lifecycle import run, views
from reciprocal.errors import IntegrityError, NotFoundError, StateError
from reciprocal.ledger import GENESIS, entry_hash
from reciprocal.storage import LedgerEntryRow, OfferRow, RequestRow

from tests.conftest import CONFIG_DIR, ROUND_DAY, make_offer, make_request
from tests.helpers import reciprocal_many
from tests.moves import sign_live

ROUND_TIME = datetime(2026, 11, 23, 12, 30, tzinfo=timezone.utc)
REASON = "board decision 2026-12: the move was arranged outside the scheme"


@pytest.fixture
def one_move(db, scheme):
    """fenland's household RQ-1 moves into cambridge_city's 2-bed OF-1: move 1, entries 1-2."""
    pot.add_records(db, [make_offer()])
    pot.add_records(db, [make_request()])
    round_id = run.run_round(db, scheme, ROUND_DAY).round_id
    (proposal,) = views.round_view(db, round_id)["proposals"]
    assert sign_live(db, scheme, ROUND_DAY, tenancy_start=ROUND_DAY) == [proposal["id"]]
    return db


def test_a_move_writes_two_chained_legs(one_move):
    with one_move.reading() as session:
        credit, debit = ledger.entries(session)
    assert (credit.id, credit.provider, credit.amount, credit.band, credit.entry_kind) == \
        (1, "cambridge_city", +1, "2 bed", "move")
    assert (debit.id, debit.provider, debit.amount, debit.band) == (2, "fenland", -1, "2 bed")
    assert credit.prev_hash == GENESIS and debit.prev_hash == credit.hash
    for row in (credit, debit):
        assert row.hash == ledger.hash_of(row)


def test_the_hash_covers_every_field_and_the_position():
    base = dict(seq=1, move_id=1, round_id=1, provider="fenland", amount=-1, band="2 bed",
                entry_kind="move", reason="", created_at=ROUND_TIME)
    digest = entry_hash(GENESIS, **base)
    assert len(digest) == 64 and entry_hash(GENESIS, **base) == digest
    for key, other in [("seq", 2), ("move_id", 2), ("round_id", 2), ("provider", "huntingdonshire"),
                       ("amount", 1), ("band", "3+ bed"), ("entry_kind", "correction"), ("reason", "x"),
                       ("created_at", ROUND_TIME.replace(microsecond=1))]:
        assert entry_hash(GENESIS, **{**base, key: other}) != digest, key
    assert entry_hash("1" * 64, **base) != digest


def test_a_timestamp_hashes_alike_with_or_without_its_utc_offset():
    naive = ROUND_TIME.replace(tzinfo=None)
    assert ledger.stamp(ROUND_TIME) == ledger.stamp(naive) == "2026-11-23T12:30:00.000000"


def test_a_correction_reverses_both_legs_with_its_reason(one_move):
    result = ledger.correct(one_move, 1, f"  {REASON}  ")
    assert result == {"move": 1, "reason": REASON, "entries": [
        {"id": 3, "provider": "cambridge_city", "amount": -1, "band": "2 bed"},
        {"id": 4, "provider": "fenland", "amount": +1, "band": "2 bed"}]}
    with one_move.reading() as session:
        rows = ledger.entries(session)
        assert [r.entry_kind for r in rows] == ["move", "move", "correction", "correction"]
        assert rows[2].prev_hash == rows[1].hash and rows[3].prev_hash == rows[2].hash
        assert all(r.reason == REASON for r in rows[2:])
        bal = ledger.balances(session, ["cambridge_city", "fenland"])
        assert bal.total == {"cambridge_city": 0, "fenland": 0}
        assert bal.by_band == {"cambridge_city": {"2 bed": 0}, "fenland": {"2 bed": 0}}
        summary = ledger.summary(session, {"cambridge_city": 2, "fenland": 2})
        assert [(r["provider"], r["given"], r["received"], r["balance"]) for r in summary["providers"]] == \
            [("cambridge_city", 0, 0, 0), ("fenland", 0, 0, 0)]
        # The correction is about the ledger: the household did move, the home stays let.
        assert session.exec(select(OfferRow.status).where(OfferRow.ref == "OF-1")).one() == "let"
        assert session.exec(select(RequestRow.status).where(RequestRow.ref == "RQ-1")).one() == "moved"


def test_a_move_is_corrected_once(one_move):
    ledger.correct(one_move, 1, REASON)
    with pytest.raises(StateError) as raised:
        ledger.correct(one_move, 1, "again")
    assert raised.value.message == (f"move 1 was already corrected (ledger entries 3 and 4: {REASON}); a "
                                    f"move can be corrected once; nothing was written")
    with one_move.reading() as session:
        assert len(ledger.entries(session)) == 4


def test_a_correction_needs_a_reason_and_a_move(one_move):
    with pytest.raises(StateError, match=r"a correction needs a reason \(--reason\)"):
        ledger.correct(one_move, 1, "   ")
    with pytest.raises(NotFoundError, match="no move 7"):
        ledger.correct(one_move, 7, REASON)


def test_a_move_whose_legs_are_gone_is_not_corrected(one_move):
    with one_move.transaction() as session:
        session.delete(session.get(LedgerEntryRow, 2))
    with pytest.raises(IntegrityError, match="move 1 has 1 ledger leg"):
        ledger.correct(one_move, 1, REASON)


def test_a_correction_takes_effect_no_earlier_than_its_move(one_move):
    ledger.correct(one_move, 1, REASON)
    with one_move.reading() as session:
        days = ledger.effective_dates(session)
    # The round was on 2026-11-23; the correction was written today (whatever day that is).
    assert days[1] == days[2] == ROUND_DAY
    assert days[3] == days[4] == max(ROUND_DAY, date.today())


def test_ledger_commands(one_move, tmp_path):
    path = one_move.path or one_move.url  # a PostgreSQL test database has a URL, no file
    done = CliRunner().invoke(app, ["--db", str(path), "--config", str(CONFIG_DIR), "ledger", "correct",
                                    "--move", "1", "--reason", REASON, "--format", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["entries"][0] == {"id": 3, "provider": "cambridge_city", "amount": -1,
                                                     "band": "2 bed"}
    again, blank = reciprocal_many([("ledger", "correct", "--move", "1", "--reason", "again"),
                                    ("ledger", "correct", "--move", "1", "--reason", " ")],
                                   db=path, cwd=tmp_path)
    assert again.returncode == 4 and again.stderr.startswith("move 1 was already corrected")
    assert blank.returncode == 2 and "a correction needs a reason" in blank.stderr
