"""The flow engine's grouped offers (`matching.flow._group_interchangeable_offers`).

Offers of one member that every pair rule and every linear objective treat alike are solved as
one node carrying as many units as it has offers, and the moves handed back one offer each. These
tests require the same value at every level as the engine solving every offer as its own node, on
random rounds and on the generated regional round, every proposal an eligible pair with one
proposal per request and per offer, the pins kept and rule 9 respected; and they require the exact
check to refuse a grouping that the hashes alone would make (every hash forced to collide).
"""
from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching.flow
from matching.flow import _group_interchangeable_offers

from tests.engine.regional import regional_round
from tests.oracle import respects_debt_limit
from tests.strategies import balances_st, gives_st, objective_order_st, pinned_instance, round_st


def _levels(solution):
    return [(lv.name, lv.value) for lv in solution.levels]


def _assert_valid(inst, solution, balances, scheme):
    chosen = sorted(solution.chosen)
    assert set(chosen) <= set(inst.pairs)  # every move an eligible pair of the round itself
    assert len({i for i, _ in chosen}) == len(chosen) == len({j for _, j in chosen})
    assert all(inst.pairs[k] in set(chosen) for k in inst.pinned)
    assert all(lv.status == "OPTIMAL" and lv.bound == lv.value for lv in solution.levels)
    assert respects_debt_limit(chosen, inst.requests, inst.offers, balances, scheme)


def _solve_both(inst, objectives):
    grouped = matching.flow.solve_flow(inst, objectives)
    with mock.patch.object(matching.flow, "GROUP_OFFERS", False):
        alone = matching.flow.solve_flow(inst, objectives)
    return grouped, alone


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=12, max_offers=14), balances=balances_st(),
       order=objective_order_st(), data=st.data(), gives=gives_st)
def test_grouped_offers_agree_with_every_offer_its_own_node(round_, balances, order, data, gives):
    scheme, objectives, inst = pinned_instance(round_, balances, order, gives, data)
    grouped, alone = _solve_both(inst, objectives)
    assert _levels(grouped) == _levels(alone)
    _assert_valid(inst, grouped, balances, scheme)


def test_a_regional_round_groups_its_offers_and_keeps_every_level():
    """The generated regional round: far fewer offer nodes than offers, each group one member's
    offers with the same requests, and every level as with every offer its own node."""
    instance, inst, objectives = regional_round()
    view, members = _group_interchangeable_offers(inst, objectives)
    assert len(view.offers) < 0.8 * len(inst.offers) and view.n_pairs < 0.8 * inst.n_pairs
    assert sorted(j for group in members for j in group) == list(range(len(inst.offers)))
    assert view.offer_copies.tolist() == [len(group) for group in members]
    requests_of = [set() for _ in inst.offers]
    for i, j in inst.pairs:
        requests_of[j].add(i)
    for group in members:
        assert len({inst.offers[j].provider for j in group}) == 1
        assert all(requests_of[j] == requests_of[group[0]] for j in group)
    grouped, alone = _solve_both(inst, objectives)
    assert _levels(grouped) == _levels(alone)
    _assert_valid(inst, grouped, instance.balances, instance.scheme)


def test_offers_whose_hashes_collide_are_not_grouped():
    """With every hash forced to zero, offers of one member with as many pairs would share a key;
    the exact check finds that their requests or weights differ and groups nothing."""
    _, inst, objectives = regional_round()

    class Zeros:
        def integers(self, low, high, size, dtype):
            return np.zeros(size, dtype=dtype)

    with mock.patch.object(matching.flow.np.random, "default_rng", lambda seed: Zeros()):
        assert _group_interchangeable_offers(inst, objectives) is None


def _twins(inst, objectives):
    """Two offers the regional round groups together, and a request eligible for both."""
    _, members = _group_interchangeable_offers(inst, objectives)
    group = next(g for g in members if len(g) >= 2)
    first, second = group[0], group[1]
    k = next(k for k, (i, j) in enumerate(inst.pairs) if j == second)
    return first, second, inst.pairs[k][0], k


def test_an_offer_made_for_a_household_is_never_grouped():
    """A home offered for its household is proposed to it (a pin), even where another home of the
    same member is interchangeable with it: grouped, the household could get the other one."""
    instance, inst, objectives = regional_round()
    first, second, request, k = _twins(inst, objectives)
    inst.pinned = [k]
    view, members = _group_interchangeable_offers(inst, objectives)
    assert [second] in members and not any(second in g and len(g) > 1 for g in members)
    grouped, alone = _solve_both(inst, objectives)
    assert (request, second) in grouped.chosen
    assert _levels(grouped) == _levels(alone)
    _assert_valid(inst, grouped, instance.balances, instance.scheme)


def test_offers_weighed_differently_are_not_grouped():
    """Two offers with the same requests but another weight at one level (here preference_fit,
    raised for one of them) are two nodes, and every level is still as with every offer alone."""
    instance, inst, objectives = regional_round()
    first, second, _, _ = _twins(inst, objectives)
    preference = inst.pair_preference.copy()
    preference[inst.pair_offer == second] += 1
    inst.__dict__["pair_preference"] = preference
    _, members = _group_interchangeable_offers(inst, objectives)
    assert not any(first in g and second in g for g in members)
    grouped, alone = _solve_both(inst, objectives)
    assert _levels(grouped) == _levels(alone)
