"""The OR-Tools CP-SAT model: an assignment with per-provider debt limits, solved objective by
objective. The engine no longer solves with it (band limits go to `matching.mip`, which proves
regional rounds in seconds where this model ran out of time, issue 13); it stays as an independent
formulation the tests and benchmarks check the engine against.

Each level is optimised, its proven value locked in as a constraint, and the next level solved
with the previous solution as a hint. Every level reports its value, the solver's proven bound,
the gap and the time, so "optimal" is shown, not claimed.
"""
from __future__ import annotations

import time
from collections import defaultdict

from ortools.sat.python import cp_model

from matching.instance import MatchingInstance
from matching.objectives import Objective
from matching.solution import LevelReport, Solution


def solve(inst: MatchingInstance, objectives: list[Objective], time_limit: float = 60.0,
          workers: int = 1, hint: list[tuple[int, int]] | None = None) -> Solution:
    """`hint`, a feasible solution, is the first level's hint when given."""
    start = time.perf_counter()
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{k}") for k in range(len(inst.pairs))]
    by_request: dict[int, list] = defaultdict(list)
    by_offer: dict[int, list] = defaultdict(list)
    received: dict[str, list] = defaultdict(list)
    given: dict[str, list] = defaultdict(list)
    for k, (i, j) in enumerate(inst.pairs):
        by_request[i].append(x[k])
        by_offer[j].append(x[k])
        received[inst.requests[i].provider].append(x[k])
        given[inst.offers[j].provider].append(x[k])
    # Homes offered for their household (`matching.pinning`): fixed before any level.
    for k in inst.pinned:
        model.add(x[k] == 1)
    # one_proposal_each (rule 10)
    for vars_ in list(by_request.values()) + list(by_offer.values()):
        if len(vars_) > 1:
            model.add_at_most_one(vars_)
    # fairness_debt_limit (rule 9): each limited account's tenants placed this round, less the
    # homes it gives in it when gives count from `proposed`, within its headroom; none placed
    # for an account already past its limit (`MatchingInstance.debt_limits`).
    for limit in inst.debt_limits():
        if not len(limit.placed):
            continue
        placed = sum(x[k] for k in limit.placed.tolist())
        if limit.shut:
            model.add(placed == 0)
        else:
            model.add(placed - sum(x[k] for k in limit.given.tolist()) <= limit.room)

    solution = Solution(chosen=[])
    if not inst.pairs:
        for obj in objectives:
            value = obj.value(inst, [])
            solution.levels.append(LevelReport(obj.name, obj.sense, value, value, "OPTIMAL", 0.0))
        solution.seconds = time.perf_counter() - start
        return solution

    net: dict[str, object] = {}
    for provider in inst.scheme.providers:
        net[provider] = sum(given[provider]) - sum(received[provider])

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    last_values: list[int] | None = None
    if hint is not None:
        chosen = set(hint)
        last_values = [int(pair in chosen) for pair in inst.pairs]
    for obj in objectives:
        expr = _expression(model, obj, inst, x, net)
        if obj.sense == "max":
            model.maximize(expr)
        else:
            model.minimize(expr)
        if last_values is not None:
            model.clear_hints()
            for var, val in zip(x, last_values):
                model.add_hint(var, val)
        remaining = max(0.1, time_limit - (time.perf_counter() - start))
        solver.parameters.max_time_in_seconds = remaining
        t0 = time.perf_counter()
        status = solver.solve(model)
        seconds = time.perf_counter() - t0
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise RuntimeError(f"solver returned {solver.status_name(status)} at level {obj.name}")
        value = round(solver.objective_value)
        bound = round(solver.best_objective_bound)
        solution.levels.append(LevelReport(obj.name, obj.sense, value, bound,
                                           solver.status_name(status), seconds))
        last_values = [int(solver.boolean_value(v)) for v in x]
        # Lock this level in before optimising the next one.
        if obj.sense == "max":
            model.add(expr >= value)
        else:
            model.add(expr <= value)
    model.clear_objective()
    assert last_values is not None
    solution.chosen = [inst.pairs[k] for k, v in enumerate(last_values) if v]
    solution.seconds = time.perf_counter() - start
    return solution


def _expression(model: cp_model.CpModel, obj: Objective, inst: MatchingInstance, x, net):
    if obj.linear:
        return cp_model.LinearExpr.weighted_sum(x, obj.pair_weights(inst).tolist())
    # ledger_imbalance: sum over providers of |balance after the round|
    n = len(inst.pairs)
    total = []
    for provider in inst.scheme.providers:
        base = inst.balances.get(provider, 0)
        final = model.new_int_var(base - n, base + n, f"final_{provider}")
        model.add(final == base + net[provider])
        magnitude = model.new_int_var(0, abs(base) + n, f"abs_{provider}")
        model.add_abs_equality(magnitude, final)
        total.append(magnitude)
    return cp_model.LinearExpr.sum(total)
