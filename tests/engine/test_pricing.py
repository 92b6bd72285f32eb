"""The flow engine's priced stages (`matching.flow._priced_min_cost_flow`) against the whole network.

When gives fund placements (rule 9 from `proposed`), a stage whose pair costs are alike per request
is first solved on a few pair arcs per request and per offer; the restricted optimum's potentials
then either prove it optimal for every pair or bring in the pairs that could improve it. These
tests force the restriction to be poor (one pair each, or none at all) so that pairs must be priced
in, and require the same value at every level as the engine solving every stage on the whole
network, each level proven (OPTIMAL, bound = value), with the pins kept and rule 9 respected.
"""
from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching.flow

from tests.engine.regional import regional_round
from tests.oracle import respects_debt_limit
from tests.strategies import balances_st, gives_st, objective_order_st, pinned_instance, round_st


def _levels(solution):
    return [(lv.name, lv.value) for lv in solution.levels]


def _assert_proven_and_valid(inst, solution, balances, scheme):
    assert all(lv.status == "OPTIMAL" and lv.bound == lv.value for lv in solution.levels)
    chosen = set(solution.chosen)
    assert all(inst.pairs[k] in chosen for k in inst.pinned)
    assert len({i for i, _ in chosen}) == len(chosen) == len({j for _, j in chosen})
    assert respects_debt_limit(sorted(chosen), inst.requests, inst.offers, balances, scheme)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=16, max_offers=16), balances=balances_st(),
       order=objective_order_st(), data=st.data(), gives=gives_st, first=st.sampled_from([0, 1, 2]))
def test_priced_stages_agree_with_the_whole_network(round_, balances, order, data, gives, first):
    """Random rounds, objective orders and gives rules, some homes offered for a household; the
    priced stages start from `first` pairs per request and per offer (0: none at all)."""
    scheme, objectives, inst = pinned_instance(round_, balances, order, gives, data)
    with mock.patch.object(matching.flow, "FIRST_PAIRS", max(first, 1)):
        if first:
            priced = matching.flow.solve_flow(inst, objectives)
        else:
            with mock.patch.object(matching.flow, "_first_pairs",
                                   lambda inst: np.zeros(inst.n_pairs, dtype=bool)):
                priced = matching.flow.solve_flow(inst, objectives)
    with mock.patch.object(matching.flow, "PRICING", False):
        whole = matching.flow.solve_flow(inst, objectives)
    assert _levels(priced) == _levels(whole)
    _assert_proven_and_valid(inst, priced, balances, scheme)


def test_a_regional_round_prices_pairs_in_and_keeps_every_level():
    """The generated regional round (82,000 pairs, gives counted from `proposed`) from two pairs
    per request and per offer: pricing must bring pairs in at least once (more solves than priced
    stages), and every level must equal the whole network's."""
    instance, inst, objectives = regional_round()
    solves = []
    real = matching.flow._min_cost_flow

    def counted(net, cost, lower, upper, feasible_only=False):
        solves.append(int((upper > lower).sum()))
        return real(net, cost, lower, upper, feasible_only)

    with (mock.patch.object(matching.flow, "FIRST_PAIRS", 2),
          mock.patch.object(matching.flow, "_min_cost_flow", counted)):
        priced = matching.flow.solve_flow(inst, objectives)
    with mock.patch.object(matching.flow, "PRICING", False):
        whole = matching.flow.solve_flow(inst, objectives)
    assert _levels(priced) == _levels(whole)
    _assert_proven_and_valid(inst, priced, instance.balances, instance.scheme)
    # One solve per level, and more where pairs were priced in; each restricted solve sees
    # far fewer arcs than the whole network has.
    assert len(solves) > len(objectives)
    assert min(solves) < inst.n_pairs // 4
