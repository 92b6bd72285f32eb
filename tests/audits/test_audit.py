"""`audit verify` and `audit fairness` (SPEC section 7) on databases made by real rounds.

1. Tampering: a database is built by two real weekly rounds (tests/history.py: a decline, a
   correction and a withdrawal), then changed behind the engine's back with raw SQL: an edited amount, a deleted
   entry, reordered entries, a forged chain, a move with one leg or none, a home let twice.
   `verify` must fail and name the first entry (or move) that fails.
2. Invariants under random histories: a hypothesis state machine runs rounds, signs or refuses
   proposals at random, withdraws and corrects; after every step `verify` passes, balances sum to zero and no
   offer is in two moves.
3. The fairness report's figures on that history, the checklist, and the CSV safety of exports.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sqlite3
import stat
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlmodel import func, select
from typer.testing import CliRunner

from cli.app import app
from reciprocal.lifecycle import checklist, run
from reciprocal import audits, ledger
from reciprocal.intake import listing, pot
from reciprocal.lifecycle import views
from reciprocal.config import load_scheme
from reciprocal.domain import Offer, OfferStatus, PropertyType, Request, RequestKind, Risk
from reciprocal.errors import InputFileError, NotFoundError, StateError
from reciprocal.audits.exports import csv_cell, csv_text, write_private
from reciprocal.storage import Database, MoveRow, ProposalEventRow, resolve_url

from tests.conftest import CONFIG_DIR, DEMO_DATA, ready_sqlite
from tests.helpers import reciprocal_many
from tests.moves import refuse, to_accepted
from tests.history import ROUND_1, ROUND_2, build_history, rehash_chain, sql

# The state machine's strategies are built when its class is defined, so the scheme is loaded here.
SCHEME = load_scheme(CONFIG_DIR)
PROVIDERS = sorted(SCHEME.providers)
AREAS = sorted(SCHEME.config.areas)


@pytest.fixture(scope="module")
def history(tmp_path_factory, scheme) -> Path:
    path = tmp_path_factory.mktemp("history") / "history.db"
    build_history(path, scheme)
    return path


@pytest.fixture
def copy(history, tmp_path) -> Path:
    target = tmp_path / "tampered.db"
    shutil.copy2(history, target)
    return target


def verify(path: Path, anchor: str | None = None) -> audits.Verification:
    return audits.verify(Database(resolve_url(str(path))), anchor)


def checks(result: audits.Verification) -> set[tuple[str, int | None]]:
    return {(f.check, f.entry) for f in result.failures}


# -- 1. tampering -----------------------------------------------------------------------------------

def test_the_history_as_written_verifies(history):
    result = verify(history)
    assert result.ok, [str(f) for f in result.failures]
    assert (result.entries, result.moves, result.corrections, result.head) == (20, 9, 1, 20)
    assert result.first is None


def test_an_edited_amount_is_named(copy):
    sql(copy, "UPDATE ledger_entry SET amount = 2 WHERE id = 7")
    result = verify(copy)
    assert not result.ok
    assert result.first.entry == 7 and result.first.check == "hash"
    assert str(result.first) == ("ledger entry 7: its hash does not match its content: the entry "
                                 "was changed after it was written")
    assert ("sum", None) in checks(result)  # and the balances no longer sum to zero


def test_an_edited_correction_reason_is_named(copy):
    sql(copy, "UPDATE ledger_entry SET reason = 'typo' WHERE id = 12")
    assert verify(copy).first.entry == 12


def test_an_edited_timestamp_is_named(copy):
    sql(copy, "UPDATE ledger_entry SET created_at = '2020-01-01 00:00:00.000000' WHERE id = 3")
    assert (verify(copy).first.check, verify(copy).first.entry) == ("hash", 3)


def test_a_deleted_entry_is_named(copy):
    sql(copy, "DELETE FROM ledger_entry WHERE id = 5")
    result = verify(copy)
    assert (result.first.check, result.first.entry) == ("missing", 6)
    assert str(result.first) == "ledger entry 6: it follows entry 4: entry 5 is missing (deleted, or " \
                                "the entries were renumbered)"
    # The move that lost its leg is named too.
    assert any(f.check == "legs" and f.move == 3 for f in result.failures)


def test_deleted_leading_entries_are_named(copy):
    sql(copy, "DELETE FROM ledger_entry WHERE id IN (1, 2)")
    result = verify(copy)
    assert (result.first.check, result.first.entry) == ("missing", 3)
    assert "entry 1 to 2 is missing" in result.first.message


def test_reordered_entries_are_named(copy):
    # Swap entries 9 and 10 (the two legs of move 5) by renumbering them.
    sql(copy, "UPDATE ledger_entry SET id = -9 WHERE id = 9", "UPDATE ledger_entry SET id = 9 WHERE id = 10",
        "UPDATE ledger_entry SET id = 10 WHERE id = -9")
    result = verify(copy)
    assert result.first.entry == 9
    assert {("link", 9), ("hash", 9), ("hash", 10)} <= checks(result)


def test_swapped_contents_are_named(copy):
    # Keep the ids and hashes; swap what two entries say (entries 13 and 15: two moves' credits).
    conn = sqlite3.connect(copy)
    cols = "move_id, round_id, provider, amount, band, entry_kind, reason, created_at"
    a = conn.execute(f"SELECT {cols} FROM ledger_entry WHERE id = 13").fetchone()
    b = conn.execute(f"SELECT {cols} FROM ledger_entry WHERE id = 15").fetchone()
    setter = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
    conn.execute("UPDATE ledger_entry SET entry_kind = 'swapping' WHERE id = 15")  # past one_leg_per_side
    conn.execute(f"UPDATE ledger_entry SET {setter} WHERE id = 13", b)
    conn.execute(f"UPDATE ledger_entry SET {setter} WHERE id = 15", a)
    conn.commit()
    conn.close()
    result = verify(copy)
    assert (result.first.check, result.first.entry) == ("hash", 13)


def test_a_deleted_newest_leg_leaves_a_move_with_one_leg(copy):
    sql(copy, "DELETE FROM ledger_entry WHERE id = 20")
    result = verify(copy)
    # The chain up to entry 19 is intact; the invariant names the leg left behind.
    assert (result.first.check, result.first.entry, result.first.move) == ("legs", 19, 9)
    debtor = sqlite3.connect(copy).execute("SELECT from_provider FROM move WHERE id = 9").fetchone()[0]
    assert result.first.message == f"move 9 lacks its move leg debiting {debtor} (it has entry 19)"
    assert ("sum", None) in checks(result)


def test_a_forged_chain_is_caught_by_the_invariants(copy):
    """Someone who knows the hash recipe edits an amount and rehashes every entry after it."""
    sql(copy, "UPDATE ledger_entry SET amount = 3 WHERE id = 13")
    rehash(copy)
    result = verify(copy)
    assert not any(f.check in audits.CHAIN_CHECKS for f in result.failures)
    assert (result.first.check, result.first.entry) == ("legs", 13)
    assert result.first.message.startswith("it is not one of move 6's move legs (")
    assert " +3 in band " in result.first.message
    assert ("sum", None) in checks(result)


def test_a_move_with_no_legs_is_named(copy):
    # A whole move added behind the engine's back: its offer and request exist, its legs do not.
    sql(copy, "INSERT INTO move (round_id, proposal_id, request_ref, offer_ref, from_provider, "
              "to_provider, kind, bedrooms, band, moved_on) SELECT 2, id, 'RQ-0105', 'OF-2611-09', "
              "'huntingdonshire', 'east_cambridgeshire', 'survivor', 2, '2 bed', '2026-11-30' "
              "FROM proposal WHERE status = 'refused'")
    result = verify(copy)
    legless = [f for f in result.failures if f.check == "legs"]
    assert [(f.move, f.entry) for f in legless] == [(10, None)]
    assert str(legless[0]) == "move 10: it has no move legs in the ledger"
    # Its offer and request were never let or moved by the engine either.
    assert {f.message for f in result.failures if f.check == "status"} == {
        "its offer OF-2611-09 is available, not let", "its request RQ-0105 is active, not moved"}


def sql_rows(path, statement: str) -> list:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(statement).fetchall()
    finally:
        conn.close()


def test_a_home_let_twice_is_named(copy):
    """The database's unique constraint is dropped first (as a careless migration might), then a
    second move for offer OF-2612-01, with legs forged onto the chain."""
    drop_unique_constraints_of_move(copy)
    sql(copy, "INSERT INTO move (round_id, proposal_id, request_ref, offer_ref, from_provider, "
              "to_provider, kind, bedrooms, band, moved_on) SELECT 2, id, 'RQ-0105', 'OF-2612-01', "
              "'huntingdonshire', 'cambridge_city', 'survivor', 3, '3+ bed', '2026-11-30' "
              "FROM proposal WHERE status = 'refused'")
    sql(copy, "INSERT INTO ledger_entry (id, move_id, round_id, provider, amount, band, entry_kind, "
              "reason, created_at, prev_hash, hash) VALUES (21, 10, 2, 'cambridge_city', 1, '3+ bed', "
              "'move', '', '2026-11-30 10:00:00.000000', 'x', 'h21'), (22, 10, 2, 'huntingdonshire', "
              "-1, '3+ bed', 'move', '', '2026-11-30 10:00:00.000000', 'x', 'h22')")
    rehash(copy)
    result = verify(copy)
    twice = [f for f in result.failures if f.check == "twice"]
    assert [(f.move, f.entry) for f in twice] == [(10, 21)]
    assert twice[0].message.startswith("offer OF-2612-01 is let twice: moves ")
    assert result.first == twice[0]


def test_a_cut_off_newest_move_is_named_by_its_signed_proposal(copy):
    sql(copy, "DELETE FROM ledger_entry WHERE move_id = 9", "DELETE FROM checklist_item WHERE move_id = 9",
        "DELETE FROM move WHERE id = 9")
    result = verify(copy)
    assert [(f.check, f.message) for f in result.failures] == [("signed", "is signed with 0 move(s)")]
    assert result.first.proposal is not None


def test_a_cut_off_newest_move_and_trail_are_caught_by_the_anchor(copy, history):
    anchor = verify(history).head_hash
    with Database(resolve_url(str(copy))).reading() as session:
        move = session.get(MoveRow, 9)
        proposal_id = move.proposal_id
        signing = session.exec(select(ProposalEventRow).where(ProposalEventRow.proposal_id == proposal_id,
                                                              ProposalEventRow.to_status == "signed")).one()
        accepted = session.exec(select(ProposalEventRow).where(ProposalEventRow.proposal_id == proposal_id,
                                                               ProposalEventRow.to_status == "accepted")).one()
    later = f"SELECT id FROM proposal_event WHERE id > {signing.id}"
    # The whole signing removed behind the engine's back: move, legs, checklist, the trail's newest
    # events (nothing after the signing but signings of the same week), and every status put back.
    assert len(sql_rows(copy, later)) == 0
    sql(copy, "DELETE FROM ledger_entry WHERE move_id = 9", "DELETE FROM checklist_item WHERE move_id = 9",
        "DELETE FROM move WHERE id = 9", f"DELETE FROM proposal_event WHERE id = {signing.id}",
        f"UPDATE proposal SET status = 'accepted', tenancy_start = NULL, decided_at = NULL, stage_on = "
        f"'{accepted.on}', due_on = '{accepted.detail['due_on']}' WHERE id = {proposal_id}",
        f"UPDATE offer SET status = 'available', closed_on = NULL WHERE ref = '{move.offer_ref}'",
        f"UPDATE request SET status = 'active', closed_on = NULL WHERE ref = '{move.request_ref}'")
    assert verify(copy).ok  # a hash chain alone cannot see its own tail cut off...
    result = verify(copy, anchor)
    assert [f.check for f in result.failures] == ["anchor"]  # ...an anchor from an earlier audit can
    assert [(f.check, f.entry) for f in verify(copy, verify(history).anchor).failures] == [
        ("anchor", 20), ("anchor", None)]  # both chains' heads were cut off
    assert verify(copy, verify(copy).head_hash[:16]).ok
    with pytest.raises(InputFileError, match="the anchor is too short"):
        verify(copy, "4b52af")


def test_verify_command_names_the_entry_and_exits_7(copy, tmp_path):
    sql(copy, "UPDATE ledger_entry SET provider = 'fenland' WHERE id = 4")
    proc, as_json = reciprocal_many([("audit", "verify"), ("audit", "verify", "--format", "json")],
                                    db=copy, cwd=tmp_path)
    assert proc.returncode == 7
    assert proc.stderr.splitlines()[0] == ("ledger verification FAILED at ledger entry 4: its hash does "
                                           "not match its content: the entry was changed after it was "
                                           "written")
    assert as_json.returncode == 7
    data = json.loads(as_json.stdout)
    assert data["ok"] is False and data["first_failure"]["entry"] == 4


def rehash(path: Path) -> None:
    """Recompute every ledger entry's prev_hash and hash with the engine's own recipe."""
    from sqlmodel import select
    from reciprocal.storage import LedgerEntryRow
    rehash_chain(Database(resolve_url(str(path))),
                 lambda session: session.exec(select(LedgerEntryRow).order_by(LedgerEntryRow.id)).all(), ledger.hash_of)


def drop_unique_constraints_of_move(path: Path) -> None:
    """Rebuild the move table without its UNIQUE constraints (SQLite cannot drop one in place)."""
    conn = sqlite3.connect(path)
    ddl = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'move'").fetchone()[0]
    loose = re.sub(r",\s*UNIQUE \([a-z_]+\)", "", ddl).replace("CREATE TABLE move", "CREATE TABLE move_loose")
    assert "UNIQUE" not in loose
    conn.executescript(f"PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON; {loose}; "
                       "INSERT INTO move_loose SELECT * FROM move; DROP TABLE move; "
                       "ALTER TABLE move_loose RENAME TO move;")
    conn.close()


# -- 2. invariants under random histories -----------------------------------------------------------

class LedgerHistory(RuleBasedStateMachine):
    """Random weeks: new homes and households, rounds, proposals signed or refused, withdrawals
    and corrections, in any order the engine allows."""

    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="ledger-history-")
        self.db = ready_sqlite(os.path.join(self.dir, "h.db"), SCHEME.id)  # as `Database.create` makes it
        self.day = ROUND_1
        self.serial = 0

    def teardown(self):
        self.db.engine.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    @initialize(data=st.data())
    def the_demo_week(self, data):
        """The demo week's pot and round, answered at random: moves from the start."""
        pot.import_offers(self.db, SCHEME, DEMO_DATA / "offers.csv")
        pot.import_requests(self.db, SCHEME, DEMO_DATA / "requests.csv")
        run.run_round(self.db, SCHEME, self.day)
        self._answer_all(data)

    @rule(giver=st.sampled_from(PROVIDERS), bedrooms=st.integers(1, 3), pick=st.integers(0, 5),
          house=st.booleans(), landlord=st.sampled_from(PROVIDERS), needs=st.integers(1, 3),
          avoid=st.sets(st.sampled_from(AREAS), max_size=1), high=st.booleans(), waited=st.integers(0, 200))
    def new_offer_and_request(self, giver, bedrooms, pick, house, landlord, needs, avoid, high, waited):
        """A home and a household join the pot."""
        self.serial += 1
        areas = SCHEME.providers[giver].areas
        tenancy = "secure" if SCHEME.providers[landlord].kind == "local_authority" else "assured"
        pot.add_records(self.db, [Offer(f"OF-H{self.serial}", giver, areas[pick % len(areas)], bedrooms,
                                        PropertyType.house if house else PropertyType.flat, self.day,
                                        step_free=house)])
        pot.add_records(self.db, [Request(f"RQ-H{self.serial}", landlord, RequestKind.survivor, tenancy,
                                          needs, self.day - timedelta(days=waited),
                                          Risk.high if high else Risk.standard,
                                          avoid_areas=tuple(sorted(avoid)))])

    @rule()
    def run_round(self):
        self.day += timedelta(days=7)
        run.run_round(self.db, SCHEME, self.day)

    @rule(data=st.data())
    def answer(self, data):
        """Each waiting proposal signed (through every stage), refused (which re-solves), or left."""
        self._answer_all(data)

    def _answer_all(self, data):
        for p in views.proposal_list(self.db, ["proposed"]):
            what = data.draw(st.integers(0, 4), label=f"answer for {p['request']}")
            if what == 0:
                refuse(self.db, SCHEME, p["id"], self.day, "declined in test")
            elif what < 4:  # mostly signed
                to_accepted(self.db, SCHEME, p["id"], self.day)
                run.sign(self.db, SCHEME, p["id"], self.day, self.day)

    @rule(data=st.data(), offer=st.booleans())
    def withdraw(self, data, offer):
        records = listing.list_offers(self.db) if offer else listing.list_requests(self.db)
        if records:
            ref = data.draw(st.sampled_from([r.ref for r in records]))
            if offer:
                run.offer_change(self.db, SCHEME, ref, self.day, OfferStatus.withdrawn)
            else:
                run.request_change(self.db, SCHEME, "withdraw", ref, self.day)

    def _moves(self) -> list[int]:
        with self.db.reading() as session:
            return list(session.exec(select(MoveRow.id)).all())

    @precondition(lambda self: self._moves())
    @rule(data=st.data())
    def correct(self, data):
        """Correct a move; a move corrected already is refused."""
        moves = self._moves()
        with self.db.reading() as session:
            done = {e.move_id for e in ledger.entries(session) if e.entry_kind == "correction"}
        move = data.draw(st.sampled_from(moves))
        if move in done:
            with pytest.raises(StateError):
                ledger.correct(self.db, move, "again")
        else:
            ledger.correct(self.db, move, f"correction of move {move}")

    @invariant()
    def ledger_verifies(self):
        result = audits.verify(self.db)
        assert result.ok, [str(f) for f in result.failures]

    @invariant()
    def balances_sum_to_zero_in_total_and_by_band(self):
        with self.db.reading() as session:
            bal = ledger.balances(session)
            assert sum(bal.total.values()) == 0
            bands = {}
            for by_band in bal.by_band.values():
                for band, n in by_band.items():
                    bands[band] = bands.get(band, 0) + n
            assert all(n == 0 for n in bands.values()), bands
            summary = ledger.summary(session, {p: 0 for p in PROVIDERS})
            assert all(r["given"] - r["received"] == r["balance"] for r in summary["providers"])

    @invariant()
    def no_offer_in_two_moves(self):
        with self.db.reading() as session:
            twice = session.exec(select(MoveRow.offer_ref, func.count()).group_by(MoveRow.offer_ref)
                                 .having(func.count() > 1)).all()
            assert twice == []


# No shrinking: each step runs the solver, and shrinking a long history takes minutes; a failure
# still prints the whole sequence of steps that broke the invariant.
LedgerHistory.TestCase.settings = settings(max_examples=15, stateful_step_count=15, deadline=None,
                                           phases=[Phase.explicit, Phase.reuse, Phase.generate],
                                           suppress_health_check=[HealthCheck.too_slow])
test_ledger_invariants_hold_over_random_histories = LedgerHistory.TestCase


# -- 3. the fairness report, the checklist, exports -------------------------------------------------

@pytest.fixture(scope="module")
def report(history, scheme) -> dict:
    return audits.fairness(Database(resolve_url(str(history))), scheme, today=ROUND_2)


def _row(report, provider) -> dict:
    return next(r for r in report["providers"] if r["provider"] == provider)


def test_fairness_figures_follow_the_ledger(report):
    # cambridge_city: gave OF-2611-01 (wk 1) and OF-2612-01 (wk 2); its household RQ-0102's move
    # (move 2) was corrected, so it has received nothing.
    ccc = _row(report, "cambridge_city")
    assert (ccc["given"], ccc["received"], ccc["balance"], ccc["lowest_balance"]) == (2, 0, 2, 0)
    assert _row(report, "cambridge_city")["balance_by_band"] == {"0-1 bed": 0, "2 bed": 1, "3+ bed": 1}
    # peterborough_city: its home in move 2 no longer counts; its household RQ-0103 moved in wk 2.
    pcc = _row(report, "peterborough_city")
    assert (pcc["given"], pcc["received"], pcc["balance"], pcc["lowest_balance"]) == (0, 1, -1, -1)
    assert all(r["debt_limit_ok"] for r in report["providers"])
    m = report["scheme_measures"]
    assert (m["moves"], m["corrections"], m["sum_of_balances"], m["max_abs_balance"]) == (9, 1, 0, 2)
    assert sum(r["given"] for r in report["providers"]) == 8  # nine moves, one corrected
    assert sum(r["received"] for r in report["providers"]) == 8
    assert report["period"] == {"since": "2026-11-23", "until": "2026-11-30"}


def test_fairness_moves_between_and_history(report):
    pairs = {(m["from_provider"], m["to_provider"]): m["moves"] for m in report["moves_between"]}
    assert sum(pairs.values()) == 9  # corrected moves still happened
    assert pairs[("cambridge_city", "peterborough_city")] == 1
    history = report["balance_history"]
    assert history["dates"] == ["2026-11-22", "2026-11-23", "2026-11-30"]
    # Opening, end of week 1 (the correction is dated on the move's day at the earliest), end of week 2.
    assert history["providers"]["cambridge_city"] == [0, 1, 2]
    assert all(sum(v[k] for v in history["providers"].values()) == 0 for k in range(3))


def test_fairness_time_to_move(report):
    # fenland's RQ-0101: referred 2026-09-14, moved 2026-11-23: 70 days = 10.0 weeks.
    assert _row(report, "fenland")["median_weeks_to_move"] == 10.0
    assert _row(report, "fenland")["households_moved"] == 1


def test_fairness_period_filter(history, scheme):
    db = Database(resolve_url(str(history)))
    week_2 = audits.fairness(db, scheme, since=ROUND_2, until=ROUND_2, today=ROUND_2)
    assert week_2["scheme_measures"]["moves"] == 4
    assert _row(week_2, "cambridge_city")["opening_balance"] == 1
    assert (_row(week_2, "cambridge_city")["given"], _row(week_2, "cambridge_city")["balance"]) == (1, 2)


def test_gini_of_givings_against_receivings():
    assert audits.gini_against({}, {}) == 0.0
    assert audits.gini_against({"a": 2, "b": 2}, {"a": 2, "b": 2}) == 0.0
    assert audits.gini_against({"a": 3}, {"b": 3}) == 1.0
    # a gives 2 receives 1, b gives 1 receives 2: ordered b (0.5), a (2); the curve runs through
    # (2/3, 1/3) and (1, 1): area = 2/3*1/6 + 1/3*(1/3+1)/2 = 1/9 + 2/9 = 1/3; Gini = 1/3.
    assert audits.gini_against({"a": 2, "b": 1}, {"a": 1, "b": 2}) == pytest.approx(1 / 3, abs=1e-4)


def test_offer_commitment(history, scheme):
    # A whole year from the first round: cambridge_city (4 a year) made 2 offers: short.
    db = Database(resolve_url(str(history)))
    year = audits.fairness(db, scheme, since=date(2026, 11, 1), until=date(2027, 10, 31), today=ROUND_2)
    ccc = _row(year, "cambridge_city")
    assert (ccc["offers_made"], ccc["offers_per_year"], ccc["offers_expected"], ccc["offer_commitment_ok"]) \
        == (2, 4, 4.0, False)
    assert "cambridge_city" in year["scheme_measures"]["providers_short_of_offer_commitment"]


def test_checklist_outstanding_and_done(history, scheme, report):
    db = Database(resolve_url(str(history)))
    everything = checklist.checklist(db, scheme)
    assert len(everything) == 27 and {i["item"] for i in everything} == set(checklist.ITEMS)
    done = [i for i in everything if i["status"] == "done"]
    assert done == [{"move": 1, "request": "RQ-0101", "moved_on": "2026-11-23",
                     "item": "da_move_flagged_to_new_landlord", "owner": "cambridge_city",
                     "status": "done", "done_on": "2026-11-30"}]
    assert len(checklist.checklist(db, scheme, outstanding_only=True)) == 26
    assert report["scheme_measures"]["checklist_outstanding"] == 26
    assert _row(report, "cambridge_city")["checklist_outstanding"] == 5  # moves 1 and OF-2612-01's


def test_tick_is_idempotent_and_names_unknown_items(copy):
    db = Database(resolve_url(str(copy)))
    first = checklist.tick(db, 2, "sanctuary_scheme_check_at_new_home", date(2026, 12, 1))
    again = checklist.tick(db, 2, "sanctuary_scheme_check_at_new_home", date(2026, 12, 9))
    assert (first["already_done"], again["already_done"], again["done_on"]) == (False, True, "2026-12-01")
    assert first["owner"] == "peterborough_city"
    with pytest.raises(NotFoundError, match="move 2 has no checklist item 'tea'; its items are "):
        checklist.tick(db, 2, "tea", date(2026, 12, 1))
    with pytest.raises(NotFoundError, match="no move 99"):
        checklist.tick(db, 99, "sanctuary_scheme_check_at_new_home", date(2026, 12, 1))


def test_csv_cells_are_never_formulas():
    for text in ("=1+1", "+44 1223", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_cell(text) == "'" + text
    assert csv_cell(" =1") == " =1"  # nothing is stripped: a leading space is not a formula
    assert csv_cell("RQ-0101") == "RQ-0101"
    assert csv_cell(-2) == -2 and csv_cell(0.5) == 0.5  # numbers the engine computed stay numbers
    assert csv_cell(True) == "yes" and csv_cell(None) == ""
    assert csv_cell(["=a", "b"]) == "'=a;b"
    parsed = list(csv.reader(io.StringIO(csv_text(["=col"], [["=HYPERLINK(\"x\")", -1]]))))
    assert parsed == [["'=col"], ["'=HYPERLINK(\"x\")", "-1"]]


def test_export_files_are_private(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old")
    os.chmod(path, 0o644)
    old = os.umask(0)
    try:
        write_private(path, "new")
        write_private(tmp_path / "fresh.csv", "x")
    finally:
        os.umask(old)
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "fresh.csv").stat().st_mode) == 0o600


def invoke(db: Path, *args: str) -> str:
    """Run a command in this process (fast) and return its output; it must succeed."""
    result = CliRunner().invoke(app, ["--db", str(db), "--config", str(CONFIG_DIR), *args])
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.output


def test_fairness_command_formats(history, tmp_path):
    csv_out = tmp_path / "fairness.csv"
    proc, bad = reciprocal_many([
        ("audit", "fairness", "--until", "2026-11-30", "--format", "csv", "--output", str(csv_out)),
        ("audit", "fairness", "--since", "2026-12-01", "--until", "2026-11-01")], db=history, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(csv_out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(csv_out.open()))
    assert len(rows) == 16
    assert {r["provider"]: r["balance"] for r in rows}["cambridge_city"] == "2"
    assert bad.returncode == 2 and "--since: 2026-12-01 is after --until 2026-11-01" in bad.stderr
    until = ("--until", "2026-11-30")
    assert json.loads(invoke(history, "audit", "fairness", *until, "--format", "json"))["scheme_measures"][
        "moves"] == 9
    md = invoke(history, "audit", "fairness", *until, "--format", "md")
    assert "| cambridge_city | 2 | 0 | 2 | 2 |" in md and "## Moves between providers" in md
    assert "cambridge_city" in invoke(history, "audit", "fairness", *until)
