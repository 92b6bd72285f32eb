"""Where the flow engine's solves start (`matching.flow`), and that each start keeps every level.

Two things make the min-cost stages cheaper without changing what they prove:
- a priced stage whose pair arcs all cost nothing (`ledger_imbalance`, whose costs sit on the
  members' balances) starts from the pairs carrying flow alone (ZERO_COST_PAIRS_FROM_FLOW);
- a stage solved on its whole network carries each request's cheapest free pair cost on the
  request's one arc in (`_cheapest_pair_on_gate`, GATE_CARRIES_CHEAPEST_PAIR): every flow costs
  the same, so the optimal flows and the face kept are the same.

These tests require the same value at every level with each switch off as on (random rounds,
objective orders and gives rules, some homes offered for a household, and the generated regional
round), every level proven; they require each start to be the one described (counted in arcs and
calls, never in seconds), and the cost shift to leave every flow's cost as it was.
"""
from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching.flow
from matching.flow import _build, _cheapest_pair_on_gate
from matching.objectives import LedgerImbalance

from tests.engine.regional import regional_round
from tests.engine.test_pricing import _assert_proven_and_valid, _levels
from tests.strategies import balances_st, gives_st, objective_order_st, pinned_instance, round_st


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=16, max_offers=16), balances=balances_st(),
       order=objective_order_st(), data=st.data(), gives=gives_st,
       switch=st.sampled_from(["ZERO_COST_PAIRS_FROM_FLOW", "GATE_CARRIES_CHEAPEST_PAIR"]))
def test_each_start_agrees_with_the_engine_without_it(round_, balances, order, data, gives, switch):
    scheme, objectives, inst = pinned_instance(round_, balances, order, gives, data)
    started = matching.flow.solve_flow(inst, objectives)
    with mock.patch.object(matching.flow, switch, False):
        plain = matching.flow.solve_flow(inst, objectives)
    assert _levels(started) == _levels(plain)
    _assert_proven_and_valid(inst, started, balances, scheme)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=12, max_offers=12), balances=balances_st(),
       order=objective_order_st(), data=st.data(), gives=gives_st, seed=st.integers(0, 2 ** 32 - 1))
def test_the_cost_shift_leaves_every_flow_costing_the_same(round_, balances, order, data, gives, seed):
    """For any flow that keeps each request node's balance (what comes in through its arc in goes
    out through its pairs), the shifted costs total what the costs did; and each request with a
    free pair then has a free pair costing nothing, none costing less."""
    _scheme, objectives, inst = pinned_instance(round_, balances, order, gives, data)
    net = _build(inst)
    rng = np.random.default_rng(seed)
    cost = rng.integers(-9, 10, len(net.tail)).astype(np.int64)
    lower = np.zeros(len(net.tail), np.int64)
    upper = (rng.random(len(net.tail)) < 0.7).astype(np.int64)
    shifted = _cheapest_pair_on_gate(inst, net, cost, lower, upper)
    pairs = rng.random(inst.n_pairs) < 0.5  # any pairs at all, one unit each
    flow = np.zeros(len(net.tail), np.int64)
    flow[:inst.n_pairs] = pairs
    flow[net.n_pairs:net.n_pairs + net.n_requests] = np.bincount(
        inst.pair_request[pairs], minlength=net.n_requests)
    assert int(flow @ shifted) == int(flow @ cost)
    free = upper[:inst.n_pairs] > 0
    for r in set(inst.pair_request[free].tolist()):
        mine = free & (inst.pair_request == r)
        assert shifted[:inst.n_pairs][mine].min() == 0


def _recording_solves(record):
    """`matching.flow._min_cost_flow` appending record(net, cost, lower, upper) for each solve."""
    real = matching.flow._min_cost_flow

    def recorded(net, cost, lower, upper, feasible_only=False):
        record(net, cost, lower, upper)
        return real(net, cost, lower, upper, feasible_only)

    return recorded


def _solved_recorded_and_as_without(inst, objectives, record, switch):
    """The round solved with every solve recorded; every level must be as with `switch` off."""
    with mock.patch.object(matching.flow, "_min_cost_flow", _recording_solves(record)):
        started = matching.flow.solve_flow(inst, objectives)
    with mock.patch.object(matching.flow, switch, False):
        plain = matching.flow.solve_flow(inst, objectives)
    assert _levels(started) == _levels(plain)
    return started


def test_a_regional_ledger_stage_starts_from_the_flowing_pairs_alone():
    """The generated regional round (gives counted from `proposed`): the `ledger_imbalance`
    stage's first solve is given no pair arc but those carrying flow (at most one per request
    moved), where the other priced stages start from FIRST_PAIRS each; every level as without the
    switch."""
    instance, inst, objectives = regional_round()
    assert any(isinstance(obj, LedgerImbalance) for obj in objectives)
    solves = []  # (free pair arcs, whether any pair arc costs something)
    started = _solved_recorded_and_as_without(
        inst, objectives, lambda net, cost, lower, upper: solves.append(
            (int((upper[:net.n_pairs] > lower[:net.n_pairs]).sum()), bool(cost[:net.n_pairs].any()))),
        "ZERO_COST_PAIRS_FROM_FLOW")
    _assert_proven_and_valid(inst, started, instance.balances, instance.scheme)
    moves = len(started.chosen)
    first_ledger = next(free for free, costly in solves if not costly)
    first_other = next(free for free, costly in solves if costly)
    assert first_ledger <= moves < first_other


def test_a_regional_round_solves_preference_fit_with_the_cheapest_pair_on_the_gate():
    """The generated regional round: `preference_fit` (pair costs 0 to -2 within a request) is
    solved on the whole face with no pair arc cheaper than 0 (each request's cheapest moved onto
    its arc in), and every level is as without the shift."""
    instance, inst, objectives = regional_round()
    seen = []  # the cheapest free pair arc of each solve

    def cheapest(net, cost, lower, upper):
        free = upper[:net.n_pairs] > lower[:net.n_pairs]
        seen.append(int(cost[:net.n_pairs][free].min()) if free.any() else 0)

    shifted = _solved_recorded_and_as_without(inst, objectives, cheapest, "GATE_CARRIES_CHEAPEST_PAIR")
    _assert_proven_and_valid(inst, shifted, instance.balances, instance.scheme)
    assert [lv.name for lv in shifted.levels][-1] == "preference_fit"
    assert seen[-1] == 0

