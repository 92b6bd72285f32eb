"""The one home of rule 9's arithmetic (`reciprocal.domain`): the effect of moves on ledger
accounts, the debt limit, and which accepted moves to hold back. Each function alone, then a
property against a plain re-statement of the rule."""
from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from reciprocal.domain import (GIVES_COUNT_FROM, Account, Balances, counted_effect, debt_headroom, give_counted,
                               hold_backs_for_debt_limit, ledger_effect, receiving_effect,
                               move_effect, over_debt_limit, room_left)

A, B, C = "a", "b", "c"


def test_a_move_credits_the_giver_and_debits_the_receiver_in_total_and_band():
    assert move_effect(A, B) == Counter({Account(B): 1, Account(A): -1})
    assert move_effect(A, B, "2 bed") == Counter({Account(B): 1, Account(A): -1,
                                                 Account(B, "2 bed"): 1, Account(A, "2 bed"): -1})


def test_the_effect_of_moves_sums_and_always_nets_to_zero():
    effect = ledger_effect([(A, B, None), (B, A, None), (A, C, "1 bed")])
    assert effect[Account(A)] == -1 and effect[Account(B)] == 0 and effect[Account(C)] == 1
    assert sum(effect.values()) == 0


def test_room_left_is_negative_exactly_when_the_limit_breaks():
    assert debt_headroom(-2, 2) == 0 and debt_headroom(-3, 2) == 0 and debt_headroom(1, 2) == 3
    assert room_left(-1, -1, 2) == 0  # reaches -2: allowed
    assert room_left(-1, -2, 2) == -1  # would reach -3
    assert room_left(-3, 0, 2) == 0  # already past (a lowered limit): no change is no breach
    assert room_left(-3, -1, 2) == -1


def limits(max_debt: int, band: int | None = None):
    return lambda account: max_debt if account.band is None else band


def test_over_debt_limit_names_totals_first_then_bands():
    start = Balances({A: -2, B: 0}, {A: {"1 bed": 0}})
    effect = ledger_effect([(A, B, "1 bed")])
    assert over_debt_limit(start, effect, limits(2, 5)) == [Account(A)]
    assert over_debt_limit(Balances({A: 0}), effect, limits(2, 0)) == [Account(A, "1 bed")]
    assert over_debt_limit(start, effect, lambda account: None) == []  # no limit: never over


def test_balances_after_an_effect_leave_the_original_alone():
    start = Balances({A: 1}, {A: {"1 bed": 1}})
    after = start.after(ledger_effect([(A, B, "1 bed")]))
    assert after.total == {A: 0, B: 1} and after.by_band == {A: {"1 bed": 0}, B: {"1 bed": 1}}
    assert start.total == {A: 1}


def test_hold_backs_drop_the_lowest_priority_receiving_move_of_the_account_over():
    # a at -2 (max 2) receives two and gives none: both would break; b receives one, fine.
    moves = [(A, B, None, (0, "early")), (A, C, None, (2, "late")), (B, C, None, (1, "x"))]
    held = hold_backs_for_debt_limit(moves, Balances({A: -1}), limits(2))
    assert held == [1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([A, B, C]), st.sampled_from([A, B, C]),
                          st.sampled_from([None, "1 bed", "2 bed"]), st.integers(0, 5)), max_size=8),
       st.dictionaries(st.sampled_from([A, B, C]), st.integers(-4, 4)),
       st.integers(0, 3), st.one_of(st.none(), st.integers(0, 2)))
def test_after_hold_backs_no_account_is_pushed_past_its_limit(moves, start, max_debt, band_limit):
    moves = [m for m in moves if m[0] != m[1]]
    balances = Balances(dict(start))
    held = hold_backs_for_debt_limit(moves, balances, limits(max_debt, band_limit))
    kept = [m[:3] for k, m in enumerate(moves) if k not in held]
    effect = ledger_effect(kept)
    # The rule restated plainly: an account whose balance the kept moves lower ends at or above
    # -limit.
    for account, change in effect.items():
        limit = max_debt if account.band is None else band_limit
        if limit is not None and change < 0:
            assert balances.get(account) + change >= -limit
    # Only receiving moves of an over account are held, so nothing is held when nothing is over.
    if not over_debt_limit(balances, ledger_effect(m[:3] for m in moves), limits(max_debt, band_limit)):
        assert held == []


MEMBERS = ("a", "b", "c", "d")
moves_drawn = st.lists(st.tuples(st.sampled_from(MEMBERS), st.sampled_from(MEMBERS),
                                 st.sampled_from((None, "1 bed", "2 bed"))).filter(lambda m: m[0] != m[1]),
                       max_size=12)


@settings(max_examples=300, deadline=None)
@given(moves=moves_drawn, start=st.dictionaries(st.sampled_from(MEMBERS), st.integers(-4, 3)),
       limits=st.dictionaries(st.sampled_from(MEMBERS), st.one_of(st.none(), st.integers(0, 3))),
       rule=st.sampled_from(("proposed", "nomination_confirmed", "accepted", "signed")))
def test_the_greedy_check_a_move_at_a_time_agrees_with_limit_breaches(moves, start, limits, rule):
    """`LimitCheck` (the hand policies' batch, built greedily) lets a move in exactly when
    `limit_breaches` finds nothing in the batch with it, whatever came before."""
    from reciprocal.domain import LimitCheck, limit_breaches
    balances = {Account(m): b for m, b in start.items()}

    def limit_of(account: Account):
        return limits.get(account.provider, 2) if account.band is None else 1

    check, batch = LimitCheck(balances, limit_of, rule), []
    for move in moves:
        agrees = not limit_breaches(balances, batch + [move], limit_of, rule)
        assert check.fits(move) == agrees, (batch, move)
        if agrees:
            check.add(move)
            batch.append(move)


# -- the sums, as they were written first: a Counter of each move, added up ----------------------
# `ledger_effect`, `receiving_effect` and `counted_effect` now add into one dict of (provider, band)
# and make each account once (issue 24: a round checks 12,909 moves); they must give the same
# Counter, key for key in the same order, zeros and all.

def _by_counters(moves):
    total = Counter()
    for frm, to, band in moves:
        total.update(move_effect(frm, to, band))
    return total


def _receiving_by_counters(moves):
    total = Counter()
    for frm, _to, band in moves:
        total[Account(frm)] -= 1
        if band is not None:
            total[Account(frm, band)] -= 1
    return total


def _counted_by_counters(live, gives_count_from):
    total = Counter()
    for frm, to, band, stage in live:
        if give_counted(stage, gives_count_from):
            total.update(move_effect(frm, to, band))
        else:
            total.update(_receiving_by_counters([(frm, to, band)]))
    return total


MOVES = st.lists(st.tuples(st.sampled_from([A, B, C]), st.sampled_from([A, B, C]),
                           st.sampled_from([None, "1 bed", "2 bed"])), max_size=12)


@settings(max_examples=300, deadline=None)
@given(moves=MOVES, stages=st.lists(st.sampled_from(list(GIVES_COUNT_FROM) + ["viewing"]), min_size=12,
                                    max_size=12), gives=st.sampled_from(GIVES_COUNT_FROM))
def test_the_summed_effects_are_the_counters_added_up(moves, stages, gives):
    """Within one provider too (a move no rule proposes, counted as `move_effect` counts it)."""
    for got, want in ((ledger_effect(moves), _by_counters(moves)),
                      (receiving_effect(moves), _receiving_by_counters(moves))):
        assert list(got.items()) == list(want.items())
        assert all(type(k) is Account for k in got)
    live = [(*m, s) for m, s in zip(moves, stages)]
    assert list(counted_effect(live, gives).items()) == list(_counted_by_counters(live, gives).items())
