"""The flow engine's potentials and orderings that its speed rests on (`matching.flow`).

Between stages the engine keeps each stage's optimal face by the reduced costs of node potentials
(`_potentials`): any potentials under which no residual arc has a negative reduced cost are optimal
duals, so Bellman-Ford may start from potentials already known (a priced stage's) and only prove
them. These tests hold `_potentials` to that from any start, require the engine to hand a priced
stage's potentials on (one proving pass, not a new search), and hold the radix ordering of the
pairs by offer (`_stable_order`) to NumPy's stable argsort. Counted in calls and values, never in
seconds.
"""
from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.graph.python import min_cost_flow

import matching.flow
from matching.flow import Network, _potentials, _stable_order

from tests.engine.regional import regional_round


def _random_optimal_flow(seed: int):
    """A random network, an optimal flow of it (OR-Tools), bounds and costs."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 12)), int(rng.integers(1, 40))
    tail = rng.integers(0, n, m).astype(np.int64)
    head = rng.integers(0, n, m).astype(np.int64)
    keep = tail != head
    tail, head = tail[keep], head[keep]
    m = len(tail)
    cap = rng.integers(1, 4, m).astype(np.int64)
    cost = rng.integers(-5, 6, m).astype(np.int64)
    solver = min_cost_flow.SimpleMinCostFlow()
    if m:
        solver.add_arcs_with_capacity_and_unit_cost(tail, head, cap, cost)
    assert solver.solve() == solver.OPTIMAL  # zero supplies: the empty circulation is feasible
    flow = solver.flows(np.arange(m, dtype=np.int64)) if m else np.zeros(0, np.int64)
    net = Network(tail, head, cap, n, 0, {})
    return net, cost, np.asarray(flow, dtype=np.int64), np.zeros(m, np.int64), cap, rng


def _residual_reduced_costs(net, cost, flow, lower, upper, dist):
    reduced = cost + dist[net.tail] - dist[net.head]
    return np.concatenate([reduced[flow < upper], -reduced[flow > lower]])


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_potentials_from_any_start_price_every_residual_arc(seed):
    """From the virtual root or from any start at all, the potentials leave no residual arc of an
    optimal flow with a negative reduced cost; started from such potentials, they are returned
    unchanged (one proving pass)."""
    net, cost, flow, lower, upper, rng = _random_optimal_flow(seed)
    plain = _potentials(net, cost, flow, lower, upper)
    assert (_residual_reduced_costs(net, cost, flow, lower, upper, plain) >= 0).all()
    start = rng.integers(-20, 21, net.n_nodes).astype(np.int64)
    warm = _potentials(net, cost, flow, lower, upper, start=start)
    assert (_residual_reduced_costs(net, cost, flow, lower, upper, warm) >= 0).all()
    np.testing.assert_array_equal(_potentials(net, cost, flow, lower, upper, start=plain), plain)
    shifted = plain + 7  # the same reduced costs: optimal duals too, and not the ones found from 0
    np.testing.assert_array_equal(_potentials(net, cost, flow, lower, upper, start=shifted), shifted)
    np.testing.assert_array_equal(_potentials(net, cost, flow, lower, upper, start=warm), warm)


@settings(max_examples=150, deadline=None)
@given(keys=st.lists(st.integers(0, 70_000), max_size=60), small=st.booleans(), sort=st.booleans())
def test_stable_order_is_numpys_stable_argsort(keys, small, sort):
    """Sorted keys, 16-bit keys (sorted by radix) and wider keys alike."""
    keys = np.array(keys, dtype=np.int64)
    if small:
        keys = keys % 300
    if sort:
        keys = np.sort(keys)
    for dtype in (np.int32, np.int64):
        np.testing.assert_array_equal(_stable_order(keys.astype(dtype)),
                                      np.argsort(keys.astype(dtype), kind="stable"))


def test_a_priced_stage_hands_its_potentials_on():
    """On the generated regional round (gives counted from `proposed`, stages priced), each
    stage's face is fixed with the potentials its priced solve ended with: they price every arc of
    the whole network already, so the stage's potentials are exactly those (no new search)."""
    instance, inst, objectives = regional_round()
    priced, stage_ends = [], []
    real_priced, real_potentials = matching.flow._priced_min_cost_flow, matching.flow._potentials

    def priced_spy(*args):
        result = real_priced(*args)
        priced.append(result[1])
        return result

    def potentials_spy(net, cost, flow, lower, upper, start=None):
        dist = real_potentials(net, cost, flow, lower, upper, start=start)
        if start is not None:
            stage_ends.append((start, dist))
        return dist

    with (mock.patch.object(matching.flow, "_priced_min_cost_flow", priced_spy),
          mock.patch.object(matching.flow, "_potentials", potentials_spy)):
        solution = matching.flow.solve_flow(inst, objectives)
    # Every level but preference_fit (its pair costs differ within a request: solved whole, last).
    assert len(priced) == len(stage_ends) == len(objectives) - 1
    for (start, dist), from_pricing in zip(stage_ends, priced):
        np.testing.assert_array_equal(start, from_pricing)
        np.testing.assert_array_equal(dist, from_pricing)
    assert all(lv.status == "OPTIMAL" for lv in solution.levels)
