"""The policies `reciprocal bench` compares, each run on the same generated instance.

Each policy is a function `(instance, time_limit) -> BaselineResult` whose `chosen` are
(request ref, offer ref) pairs. None of them re-implements a hard rule: the compatible pairs come
from `matching.instance.build_instance`, the same code the engine uses, and `benchmarks.run`
checks every policy's answer with `matching.check.violations`.

- `engine`: `matching.engine.solve_round`, the lexicographic objective hierarchy of `scheme.yaml`.
- `min_cost_flow_limit`: OR-Tools min-cost flow, a maximum matching over the compatible pairs
  (among those, the most high-risk households) with fairness (rule 9) and the hierarchy relaxed:
  an upper bound on moves and on high-risk moves, and a floor on solve time. It breaks the debt
  limit by design.
- `cpsat_weighted`: the straightforward model a capable user writes first: one CP-SAT model of the
  whole round, a bool per compatible pair, at most one per request and per offer, the per-provider
  debt limit under the scheme's rule (`fairness.gives_count_from`), and ONE weighted objective
  (`WEIGHTS`).
- `highs_weighted`: the same model as a MIP on HiGHS through OR-Tools MathOpt.
- `greedy_fcfs`: first come, first served (today's manual practice): oldest referral first, each
  takes the first compatible free offer in ref order that keeps its landlord within the debt limit.

`wall_seconds` is the policy's own work. The baselines exclude building the compatible pairs
(`pairs_seconds`, reported apart); the engine's wall time includes its own pair building and
explanations, since `solve_round` does all of it.
"""
from __future__ import annotations

import os
from collections import Counter
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

import numpy as np

from matching.instance import MatchingInstance, build_instance
from matching.rules import MatchContext
from reciprocal.domain import Account, Risk, ledger_effect, receiving_effect
from reciprocal.simulation.generator import Instance

# The weighted objective of the straightforward models: per move, plus per unit of |balance|.
WEIGHTS = {"high_risk": 1000, "moved": 100, "waiting_week": 1, "preference": 1, "imbalance": -10}


@dataclass
class BaselineResult:
    name: str
    chosen: list[tuple[str, str]]  # (request ref, offer ref)
    wall_seconds: float
    gap: float | None  # proven relative gap of the policy's own objective; None: proves nothing
    status: str
    note: str = ""
    pairs_seconds: float | None = None  # building the compatible pairs (not in wall_seconds)
    solve_seconds: float | None = None  # inside the solver only
    extra: dict = field(default_factory=dict)


Policy = Callable[[Instance, float], BaselineResult]

# Set by `benchmarks.run` in a policy's process: called with a phase name ("pairs", "model",
# "solve", "extract") as a policy enters it, so that a policy killed for overrunning its time
# limit can still be reported with where it was.
phase_hook: Callable[[str], None] | None = None


def _phase(name: str) -> None:
    if phase_hook is not None:
        phase_hook(name)


# -- shared helpers ------------------------------------------------------------------------------

def compatible_pairs(instance: Instance) -> tuple[MatchingInstance, float]:
    """The eligible pairs by the engine's own rules, and the seconds it took to build them."""
    _phase("pairs")
    start = time.perf_counter()
    inst = build_instance(MatchContext(instance.scheme, instance.on), instance.requests,
                          instance.offers, instance.balances)
    return inst, time.perf_counter() - start


def pair_arrays(inst: MatchingInstance) -> tuple[np.ndarray, np.ndarray]:
    """(request index, offer index) of every eligible pair, as int64 arrays."""
    if hasattr(inst, "pair_request"):
        return (np.asarray(inst.pair_request, dtype=np.int64),
                np.asarray(inst.pair_offer, dtype=np.int64))
    pairs = np.asarray(inst.pairs, dtype=np.int64).reshape(-1, 2)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def _refs(inst: MatchingInstance, chosen: list[tuple[int, int]]) -> list[tuple[str, str]]:
    return [(inst.requests[i].ref, inst.offers[j].ref) for i, j in chosen]


def _groups(keys: np.ndarray) -> list[np.ndarray]:
    """Positions of each distinct key, for keys with at least one position."""
    if keys.size == 0:
        return []
    order = np.argsort(keys, kind="stable")
    cuts = np.flatnonzero(np.diff(keys[order])) + 1
    return np.split(order, cuts)


@dataclass
class WeightedData:
    """What the two weighted models share: pairs, weights, and per-provider pair positions."""

    pr: np.ndarray
    po: np.ndarray
    weight: np.ndarray  # per pair
    by_request: list[np.ndarray]
    by_offer: list[np.ndarray]
    received: dict[str, np.ndarray]  # provider -> pairs where its tenant moves
    given: dict[str, np.ndarray]  # provider -> pairs where it gives the home
    providers: list[str]  # providers with any pair


def _weighted_data(inst: MatchingInstance) -> WeightedData:
    pr, po = pair_arrays(inst)
    high = np.array([r.risk == Risk.high for r in inst.requests], dtype=np.int64)
    weeks = np.array([r.waiting_days(inst.ctx.on) // 7 for r in inst.requests], dtype=np.int64)
    need = np.array([r.bedrooms_needed for r in inst.requests], dtype=np.int64)
    bedrooms = np.array([o.bedrooms for o in inst.offers], dtype=np.int64)
    area_code = {a: k for k, a in enumerate(inst.scheme.config.areas)}
    offer_area = np.array([area_code.get(o.area, -1) for o in inst.offers], dtype=np.int64)
    preferred = np.zeros((len(inst.requests), len(area_code) + 1), dtype=bool)
    for i, r in enumerate(inst.requests):
        for a in r.preferred_areas:
            if a in area_code:
                preferred[i, area_code[a]] = True
    preference = (bedrooms[po] == need[pr]).astype(np.int64) + preferred[pr, offer_area[po]]
    weight = (WEIGHTS["high_risk"] * high[pr] + WEIGHTS["moved"] + WEIGHTS["waiting_week"] * weeks[pr]
              + WEIGHTS["preference"] * preference)
    provider_code = {p: k for k, p in enumerate(sorted(inst.scheme.providers))}
    names = sorted(inst.scheme.providers)
    req_provider = np.array([provider_code.get(r.provider, -1) for r in inst.requests], dtype=np.int64)
    off_provider = np.array([provider_code.get(o.provider, -1) for o in inst.offers], dtype=np.int64)
    received = {names[int(req_provider[pr[g[0]]])]: g for g in _groups(req_provider[pr])}
    given = {names[int(off_provider[po[g[0]]])]: g for g in _groups(off_provider[po])}
    return WeightedData(pr, po, weight, _groups(pr), _groups(po), received, given,
                        sorted(set(received) | set(given)))


def _gap(value: float, bound: float) -> float:
    if value == bound:
        return 0.0
    return abs(bound - value) / max(1.0, abs(bound))


# -- the engine ------------------------------------------------------------------------------------

def engine(instance: Instance, time_limit: float) -> BaselineResult:
    from matching.engine import solve_round

    _phase("solve")
    start = time.perf_counter()
    result = solve_round(instance.scheme, instance.on, instance.requests, instance.offers,
                         instance.balances, time_limit=time_limit)
    wall = time.perf_counter() - start
    chosen = [(p["request"], p["offer"]) for p in result.proposals]
    levels = result.objectives
    gaps = [lv["gap"] for lv in levels if lv.get("gap") is not None]
    statuses = sorted({str(lv.get("status")) for lv in levels})
    status = statuses[0] if len(statuses) == 1 else "/".join(statuses)
    return BaselineResult(
        "engine", chosen, wall, max(gaps) if gaps else None, status,
        note=f"{len(levels)} objective levels in scheme order; wall includes compatible pairs and "
             "explanations",
        solve_seconds=result.solve_seconds,
        extra={"compatible_pairs": result.compatible_pairs,
               "levels": [{k: lv.get(k) for k in ("name", "value", "bound", "gap", "status", "seconds")}
                          for lv in levels]})


# -- the limit: min-cost flow with fairness and the hierarchy relaxed ----------------------------

def min_cost_flow_limit(instance: Instance, time_limit: float) -> BaselineResult:
    from ortools.graph.python import min_cost_flow

    inst, pairs_seconds = compatible_pairs(instance)
    pr, po = pair_arrays(inst)
    _phase("model")
    start = time.perf_counter()
    n_req, n_off = len(inst.requests), len(inst.offers)
    source, sink = 0, 1 + n_req + n_off
    high = np.array([r.risk == Risk.high for r in inst.requests], dtype=np.int64)
    requests_used = np.unique(pr)
    offers_used = np.unique(po)
    tails = np.concatenate([np.full(requests_used.size, source), 1 + pr, 1 + n_req + offers_used])
    heads = np.concatenate([1 + requests_used, 1 + n_req + po, np.full(offers_used.size, sink)])
    costs = np.concatenate([np.zeros(requests_used.size, np.int64), -high[pr],
                            np.zeros(offers_used.size, np.int64)])
    caps = np.ones(tails.size, dtype=np.int64)
    flow = min_cost_flow.SimpleMinCostFlow()
    first_pair_arc = requests_used.size
    if tails.size:
        flow.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32),
                                                  caps, costs)
        # Supply and demand as large as any matching can be; the solver sends the most it can.
        most = int(min(requests_used.size, offers_used.size))
        flow.set_node_supply(source, most)
        flow.set_node_supply(sink, -most)
    _phase("solve")
    t0 = time.perf_counter()
    status = flow.solve_max_flow_with_min_cost() if tails.size else flow.OPTIMAL
    solve_seconds = time.perf_counter() - t0
    if status != flow.OPTIMAL:
        return BaselineResult("min_cost_flow_limit", [], time.perf_counter() - start, None,
                              f"status {status}", pairs_seconds=pairs_seconds,
                              solve_seconds=solve_seconds)
    chosen: list[tuple[int, int]] = []
    if pr.size:
        arcs = np.arange(first_pair_arc, first_pair_arc + pr.size)
        used = np.asarray(flow.flows(arcs)) > 0
        chosen = list(zip(pr[used].tolist(), po[used].tolist()))
    wall = time.perf_counter() - start
    return BaselineResult(
        "min_cost_flow_limit", _refs(inst, chosen), wall, 0.0, "OPTIMAL",
        note="relaxation: ignores the debt limit (rule 9) and the hierarchy; an upper bound on moves "
             "and high-risk moves",
        pairs_seconds=pairs_seconds, solve_seconds=solve_seconds,
        extra={"arcs": int(tails.size), "max_flow": int(flow.maximum_flow()) if tails.size else 0})


# -- the straightforward model on CP-SAT -------------------------------------------------------

def cpsat_weighted(instance: Instance, time_limit: float) -> BaselineResult:
    from ortools.sat.python import cp_model

    inst, pairs_seconds = compatible_pairs(instance)
    _phase("model")
    start = time.perf_counter()
    data = _weighted_data(inst)
    n = data.pr.size
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{k}") for k in range(n)]
    for group in data.by_request + data.by_offer:
        if group.size > 1:
            model.add_at_most_one([x[k] for k in group.tolist()])
    empty = np.zeros(0, dtype=np.int64)
    abs_vars = []
    for provider in data.providers:
        recv = data.received.get(provider, empty).tolist()
        give = data.given.get(provider, empty).tolist()
        terms = [x[k] for k in recv] + [x[k] for k in give]
        coeffs = [1] * len(recv) + [-1] * len(give)
        net_received = cp_model.LinearExpr.weighted_sum(terms, coeffs)
        if recv:  # fairness_debt_limit (rule 9 under the scheme's rule, as `MatchingInstance.debt_limits`)
            placed = sum(x[k] for k in recv)
            if Account(provider) in inst.past_limit:
                model.add(placed == 0)
            else:
                model.add((net_received if inst.gives_fund else placed) <= inst.headroom.get(provider, 0))
        base = inst.balances.get(provider, 0)
        magnitude = model.new_int_var(0, abs(base) + len(recv) + len(give), f"abs_{provider}")
        model.add_abs_equality(magnitude, base - net_received)
        abs_vars.append(magnitude)
    model.maximize(cp_model.LinearExpr.weighted_sum(
        x + abs_vars, data.weight.tolist() + [WEIGHTS["imbalance"]] * len(abs_vars)))
    build_seconds = time.perf_counter() - start

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = max(1, os.cpu_count() or 1)
    improvements: list[tuple[float, float]] = []
    _phase("solve")
    t0 = time.perf_counter()

    class Progress(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            improvements.append((time.perf_counter() - t0, self.objective_value))

    status = solver.solve(model, Progress())
    solve_seconds = time.perf_counter() - t0
    name = solver.status_name(status)
    bound = solver.best_objective_bound
    extra = {"build_seconds": round(build_seconds, 3), "variables": n + len(abs_vars),
             "workers": solver.parameters.num_workers,
             "best_found_seconds": round(improvements[-1][0], 3) if improvements else None,
             "solutions": len(improvements)}
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and np.isfinite(bound):
        extra["bound"] = bound  # without a solution CP-SAT reports no meaningful bound
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return BaselineResult("cpsat_weighted", [], time.perf_counter() - start, None, name,
                              note=f"no feasible solution within {time_limit:g} s"
                                   f" (model built in {build_seconds:.1f} s)",
                              pairs_seconds=pairs_seconds, solve_seconds=solve_seconds, extra=extra)
    _phase("extract")
    chosen = [(int(data.pr[k]), int(data.po[k])) for k in range(n) if solver.boolean_value(x[k])]
    value = solver.objective_value
    extra.update(objective=value)
    return BaselineResult(
        "cpsat_weighted", _refs(inst, chosen), time.perf_counter() - start, _gap(value, bound), name,
        note="one weighted objective " + _weights_note(), pairs_seconds=pairs_seconds,
        solve_seconds=solve_seconds, extra=extra)


def _weights_note() -> str:
    return ("(" + ", ".join(f"{v:+d}·{k}" for k, v in WEIGHTS.items()) + ")")


# -- the same model on HiGHS through MathOpt ----------------------------------------------------------

def highs_weighted(instance: Instance, time_limit: float) -> BaselineResult:
    from ortools.math_opt.python import mathopt

    inst, pairs_seconds = compatible_pairs(instance)
    _phase("model")
    start = time.perf_counter()
    data = _weighted_data(inst)
    n = data.pr.size
    model = mathopt.Model(name="reciprocal_weighted")
    x = [model.add_binary_variable(name=f"x{k}") for k in range(n)]
    for group in data.by_request + data.by_offer:
        if group.size > 1:
            model.add_linear_constraint(mathopt.fast_sum(x[k] for k in group.tolist()) <= 1)
    empty = np.zeros(0, dtype=np.int64)
    abs_terms = []
    for provider in data.providers:
        recv = data.received.get(provider, empty).tolist()
        give = data.given.get(provider, empty).tolist()
        net_received = mathopt.fast_sum(x[k] for k in recv) - mathopt.fast_sum(x[k] for k in give)
        if recv:  # fairness_debt_limit (rule 9 under the scheme's rule, as `MatchingInstance.debt_limits`)
            placed = mathopt.fast_sum(x[k] for k in recv)
            if Account(provider) in inst.past_limit:
                model.add_linear_constraint(placed <= 0)
            else:
                model.add_linear_constraint((net_received if inst.gives_fund else placed)
                                            <= inst.headroom.get(provider, 0))
        base = inst.balances.get(provider, 0)
        magnitude = model.add_variable(lb=0.0, name=f"abs_{provider}")
        model.add_linear_constraint(magnitude >= base - net_received)
        model.add_linear_constraint(magnitude >= net_received - base)
        abs_terms.append(magnitude)
    weights = data.weight.tolist()
    model.maximize(mathopt.fast_sum(w * v for w, v in zip(weights, x))
                   + WEIGHTS["imbalance"] * mathopt.fast_sum(abs_terms))
    build_seconds = time.perf_counter() - start

    # HiGHS's own defaults otherwise (as a first model would have them).
    params = mathopt.SolveParameters(time_limit=timedelta(seconds=float(time_limit)))
    _phase("solve")
    t0 = time.perf_counter()
    result = mathopt.solve(model, mathopt.SolverType.HIGHS, params=params)
    solve_seconds = time.perf_counter() - t0
    term = result.termination
    status = term.reason.name
    bounds = term.objective_bounds
    primal, dual = bounds.primal_bound, bounds.dual_bound
    extra = {"build_seconds": round(build_seconds, 3), "variables": n + len(abs_terms),
             "primal_bound": primal if np.isfinite(primal) else None,
             "dual_bound": dual if np.isfinite(dual) else None, "detail": term.detail}
    if not result.has_primal_feasible_solution():
        return BaselineResult("highs_weighted", [], time.perf_counter() - start, None, status,
                              note=f"no feasible solution within {time_limit:g} s"
                                   f" (model built in {build_seconds:.1f} s)",
                              pairs_seconds=pairs_seconds, solve_seconds=solve_seconds, extra=extra)
    _phase("extract")
    values = result.variable_values(x) if n else []
    chosen = [(int(data.pr[k]), int(data.po[k])) for k, v in enumerate(values) if v > 0.5]
    gap = _gap(primal, dual) if np.isfinite(primal) and np.isfinite(dual) else None
    return BaselineResult(
        "highs_weighted", _refs(inst, chosen), time.perf_counter() - start, gap, status,
        note="the same weighted model as a MIP on HiGHS (MathOpt)", pairs_seconds=pairs_seconds,
        solve_seconds=solve_seconds, extra=extra)


# -- first come, first served -------------------------------------------------------------------

def greedy_fcfs(instance: Instance, time_limit: float) -> BaselineResult:
    inst, pairs_seconds = compatible_pairs(instance)
    pr, po = pair_arrays(inst)
    _phase("solve")
    start = time.perf_counter()
    order = np.lexsort((po, pr))  # by request, then offer index (offers are in ref order)
    pr, po = pr[order], po[order]
    cuts = np.flatnonzero(np.diff(pr)) + 1
    offers_of: dict[int, list[int]] = {}  # request -> compatible offers in ref order
    if pr.size:
        starts = np.concatenate([[0], cuts])
        for s, group in zip(starts.tolist(), np.split(po, cuts)):
            offers_of[int(pr[s])] = group.tolist()
    taken = np.zeros(len(inst.offers), dtype=bool)
    effect: Counter = Counter()  # this round's counted legs so far (rule 9 under the scheme's rule)
    chosen: list[tuple[int, int]] = []
    queue = sorted(range(len(inst.requests)),
                   key=lambda i: (inst.requests[i].referred_on, inst.requests[i].ref))
    for i in queue:
        provider = inst.requests[i].provider
        if Account(provider) in inst.past_limit or inst.headroom.get(provider, 0) + effect[Account(provider)] - 1 < 0:
            continue  # its landlord is at (or past) the debt limit
        for j in offers_of.get(i, ()):
            if not taken[j]:
                taken[j] = True
                chosen.append((i, j))
                move = [(provider, inst.offers[j].provider, None)]
                effect.update(ledger_effect(move) if inst.gives_fund else receiving_effect(move))
                break
    return BaselineResult("greedy_fcfs", _refs(inst, chosen), time.perf_counter() - start, None,
                          "HEURISTIC", note="oldest referral first, first compatible free offer by ref",
                          pairs_seconds=pairs_seconds, solve_seconds=time.perf_counter() - start)


POLICIES: dict[str, Policy] = {
    "engine": engine,
    "min_cost_flow_limit": min_cost_flow_limit,
    "cpsat_weighted": cpsat_weighted,
    "highs_weighted": highs_weighted,
    "greedy_fcfs": greedy_fcfs,
}
RELAXED = {"min_cost_flow_limit": {"fairness_debt_limit"}}  # rules a policy ignores by design
