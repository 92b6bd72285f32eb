"""The band-limited round (`fairness.band_max_debt`): LP and MIP on HiGHS through OR-Tools MathOpt,
solved objective by objective, each level proven.

Why not the network flow: a band limit counts the moves of one member's tenants into homes of one
bedroom band, and a household may be eligible for homes of two bands, so the limit couples arcs
that no single node of the network gathers. Why not one CP-SAT model: on 150 x 300 rounds with
room to move it did not prove a level within 60 s (issue 13). The assignment with debt limits is
nearly a network, so its LP relaxation is nearly always integral; benchmarks/band_limits.py has
the figures.

Each level first solves the LP relaxation. If its optimum is integral, that solution is optimal
for the level (the LP optimum bounds every integer solution) and the level's optimal face is kept
for the levels after it exactly as `matching.flow` does, by complementary slackness: a variable
with a non-zero reduced cost stays at its bound and a row with a non-zero dual stays tight in every
optimal solution, and every feasible point that keeps them is optimal. No dense "objective >=
value" row is added, so the next LP stays as tight as the first. Otherwise the level is solved as
a MIP (branch and bound from the previous level's solution); its value is then locked in with a
row, or, when it equals the LP optimum, by the same face fixing.

A level's value is computed exactly from the chosen pairs (`Objective.value`), its bound is the
solver's dual bound rounded inwards (the objectives are integers), and it is OPTIMAL only when the
two meet. When the time limit is reached a level keeps the best solution found (status FEASIBLE,
with its gap); if none was found the previous level's solution stands (status NO_SOLUTION_FOUND;
it is feasible: it holds every earlier lock, and the first level starts from the flow solution cut
back to the band limits, or the pins alone). Either way the round proceeds; nothing raises.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections import defaultdict
from datetime import timedelta

import numpy as np
from ortools.math_opt import model_parameters_pb2, model_pb2, result_pb2, solution_pb2
from ortools.math_opt.core.python import solver as core_solver
from ortools.math_opt.python import mathopt
from ortools.math_opt.python.callback import CallbackRegistration
from ortools.math_opt.python.init_arguments import StreamableSolverInitArguments

from matching.solution import LevelReport, Solution
from matching.instance import MatchingInstance
from matching.objectives import Objective

# HiGHS's bounds, duals and values are floats: within this (times the objective's largest
# coefficient, for duals) of an integer or of zero they count as that integer or zero.
TOLERANCE = 1e-6
# Status of a level with no solution found in time: the previous level's solution is kept.
NO_SOLUTION = "NO_SOLUTION_FOUND"
SOLVER = mathopt.SolverType.HIGHS
FEASIBLE = solution_pb2.SOLUTION_STATUS_FEASIBLE


def cut_back(inst: MatchingInstance, chosen: list[tuple[int, int]], objectives: list[Objective]
             ) -> list[tuple[int, int]]:
    """A solution that ignores the band limits (the flow engine's), cut back until every debt
    limit row holds (`MatchingInstance.debt_limits`): the first account over its limit, totals
    first, loses its least valuable unpinned placements by the objectives. When gives fund
    placements, dropping a move also drops a home given, which can take that home's landlord over
    its own limit, so the check repeats; the pins alone hold every limit (`matching.pinning`), so
    it ends within them."""
    keep = inst.chosen_mask(chosen)
    pinned = np.zeros(inst.n_pairs, dtype=bool)
    pinned[np.asarray(inst.pinned, dtype=np.int64)] = True
    weights = [o.pair_weights(inst) for o in objectives if o.linear]
    limits = inst.debt_limits()
    while True:
        limit = next((lim for lim in limits if lim.breached_by(keep)), None)
        if limit is None:
            return [inst.pairs[k] for k in np.flatnonzero(keep).tolist()]
        placed = limit.placed[keep[limit.placed]]
        over = len(placed) if limit.shut else -limit.room_left(keep)
        droppable = sorted((k for k in placed.tolist() if not pinned[k]),
                           key=lambda k: tuple(int(w[k]) for w in weights))
        if not droppable:
            raise RuntimeError(f"the pins alone break the debt limit of {limit.account}")
        keep[droppable[:over]] = False


class _Model:
    """The model as arrays (variables: the pairs first, then any |balance| of ledger_imbalance;
    rows with their coefficients), turned into a MathOpt ModelProto for each solve: building it
    from NumPy is far quicker than through MathOpt's Python objects at regional scale."""

    def __init__(self, n: int):
        self.n = n
        self.lb = np.zeros(n)
        self.ub = np.ones(n)
        self.rows: list[tuple[np.ndarray, np.ndarray]] = []
        self.row_lb: list[float] = []
        self.row_ub: list[float] = []

    def add_var(self, lb: float = 0.0, ub: float = math.inf) -> int:
        self.lb = np.append(self.lb, lb)
        self.ub = np.append(self.ub, ub)
        return len(self.lb) - 1

    def add_row(self, cols, coefs, lo: float, hi: float) -> int:
        cols = np.asarray(cols, dtype=np.int64)
        coefs = np.broadcast_to(np.asarray(coefs, dtype=float), cols.shape)
        order = np.argsort(cols, kind="stable")
        self.rows.append((cols[order], np.array(coefs[order])))
        self.row_lb.append(lo)
        self.row_ub.append(hi)
        return len(self.rows) - 1

    def activity(self, values: np.ndarray) -> np.ndarray:
        return np.array([float(values[c] @ a) for c, a in self.rows])

    def proto(self, objective: np.ndarray, maximize: bool, integer: bool) -> model_pb2.ModelProto:
        m = model_pb2.ModelProto(name="reciprocal_bands")
        n_vars = len(self.lb)
        m.variables.ids.extend(range(n_vars))
        m.variables.lower_bounds.extend(self.lb.tolist())
        m.variables.upper_bounds.extend(self.ub.tolist())
        m.variables.integers.extend([integer] * self.n + [False] * (n_vars - self.n))
        m.objective.maximize = maximize
        nz = np.flatnonzero(objective)
        m.objective.linear_coefficients.ids.extend(nz.tolist())
        m.objective.linear_coefficients.values.extend(objective[nz].tolist())
        m.linear_constraints.ids.extend(range(len(self.rows)))
        m.linear_constraints.lower_bounds.extend(self.row_lb)
        m.linear_constraints.upper_bounds.extend(self.row_ub)
        if self.rows:
            lengths = [len(c) for c, _ in self.rows]
            m.linear_constraint_matrix.row_ids.extend(np.repeat(np.arange(len(self.rows)), lengths).tolist())
            m.linear_constraint_matrix.column_ids.extend(np.concatenate([c for c, _ in self.rows]).tolist())
            m.linear_constraint_matrix.coefficients.extend(np.concatenate([a for _, a in self.rows]).tolist())
        return m


class _Result:
    """What one HiGHS solve gave: status, objective and bound, and dense primal/dual vectors."""

    failure = ""  # why the solver gave no answer at all, when it raised

    def __init__(self, proto, n_vars: int, n_rows: int):
        term = proto.termination
        self.optimal = term.reason == result_pb2.TERMINATION_REASON_OPTIMAL
        self.dual_bound = term.objective_bounds.dual_bound
        self.values = self.duals = self.reduced = None
        self.objective = math.nan
        for sol in proto.solutions:
            primal = sol.primal_solution
            if (self.values is None and sol.HasField("primal_solution")
                    and primal.feasibility_status == FEASIBLE):
                self.values = _dense(primal.variable_values, n_vars)
                self.objective = primal.objective_value
            dual = sol.dual_solution
            if self.duals is None and sol.HasField("dual_solution") and dual.feasibility_status == FEASIBLE:
                self.duals = _dense(dual.dual_values, n_rows)
                self.reduced = _dense(dual.reduced_costs, n_vars)


def _dense(sparse, size: int) -> np.ndarray:
    out = np.zeros(size)
    out[np.asarray(sparse.ids, dtype=np.int64)] = np.asarray(sparse.values, dtype=float)
    return out


def _run(model: _Model, objective: np.ndarray, maximize: bool, integer: bool, seconds: float,
         hint: np.ndarray | None = None) -> _Result:
    params = mathopt.SolveParameters(time_limit=timedelta(seconds=max(0.05, seconds)),
                                     relative_gap_tolerance=0.0, absolute_gap_tolerance=0.5,
                                     # HiGHS's presolve stalled past the time limit once a
                                     # level was locked by a row (measured on regional rounds);
                                     # without it these MIPs solve at the root.
                                     presolve=mathopt.Emphasis.OFF if integer else None)
    # One core (MathOpt refuses its generic `threads` for HiGHS; HiGHS takes its own option).
    params.highs.int_options["threads"] = 1
    model_params = model_parameters_pb2.ModelSolveParametersProto()
    if hint is not None and integer:
        h = model_params.solution_hints.add()
        h.variable_values.ids.extend(range(model.n))
        h.variable_values.values.extend(hint.astype(float).tolist())
    try:
        proto = core_solver.solve(model.proto(objective, maximize, integer), SOLVER.value,
                                  StreamableSolverInitArguments().to_proto(), params.to_proto(),
                                  model_params, None, CallbackRegistration().to_proto(), None, None)
    except Exception as exc:  # a solver failure is a level without a solution, never a crash
        failed = _Result(result_pb2.SolveResultProto(), len(model.lb), len(model.rows))
        failed.dual_bound = math.inf if maximize else -math.inf
        failed.failure = f"{type(exc).__name__}: {exc}"
        return failed
    return _Result(proto, len(model.lb), len(model.rows))


def solve_mip(inst: MatchingInstance, objectives: list[Objective], time_limit: float = 60.0,
              start: list[tuple[int, int]] | None = None, lp_first: bool = True) -> Solution:
    """The lexicographic optimum under every hard rule including the band limits; `start` is a
    feasible solution to begin from (the pins alone when not given). `lp_first=False` skips the
    LP step, solving every level as a MIP locked in by a row (the tests and benchmarks check the
    two paths against each other)."""
    began = time.perf_counter()
    n = inst.n_pairs
    solution = Solution(chosen=[])
    index = {pair: k for k, pair in enumerate(inst.pairs)}
    current = np.zeros(n, dtype=bool)
    current[np.asarray(inst.pinned, dtype=np.int64)] = True
    for pair in start or []:
        current[index[pair]] = True
    if not n:
        for obj in objectives:
            value = obj.value(inst, [])
            solution.levels.append(LevelReport(obj.name, obj.sense, value, value, "OPTIMAL", 0.0))
        solution.seconds = time.perf_counter() - began
        return solution

    model = _Model(n)
    model.lb[np.asarray(inst.pinned, dtype=np.int64)] = 1.0  # homes offered for their household
    by_request: dict[int, list[int]] = defaultdict(list)
    by_offer: dict[int, list[int]] = defaultdict(list)
    received: dict[str, list[int]] = defaultdict(list)
    given: dict[str, list[int]] = defaultdict(list)
    for k, (i, j) in enumerate(inst.pairs):
        by_request[i].append(k)
        by_offer[j].append(k)
        received[inst.requests[i].provider].append(k)
        given[inst.offers[j].provider].append(k)
    # one_proposal_each (rule 10)
    for ks in list(by_request.values()) + list(by_offer.values()):
        if len(ks) > 1:
            model.add_row(ks, 1.0, -math.inf, 1.0)
    # fairness_debt_limit (rule 9), total and per bedroom band (the move's band is the home's):
    # the same rows as `matching.cpsat` (`MatchingInstance.debt_limits`).
    for limit in inst.debt_limits():
        if not len(limit.placed):
            continue
        if limit.shut:
            model.add_row(limit.placed, 1.0, -math.inf, 0.0)
        else:
            cols = np.concatenate([limit.placed, limit.given])
            coefs = np.concatenate([np.ones(len(limit.placed)), -np.ones(len(limit.given))])
            model.add_row(cols, coefs, -math.inf, limit.room)

    for obj in objectives:
        t0 = time.perf_counter()
        c, trivial = _objective(model, obj, inst, received, given)
        maximize = obj.sense == "max"
        value = obj.value(inst, [inst.pairs[k] for k in np.flatnonzero(current)])
        scale = max(1.0, float(np.abs(c).max()))
        lp = (_run(model, c, maximize, False, time_limit - (time.perf_counter() - began)) if lp_first
              else _Result(result_pb2.SolveResultProto(), len(model.lb), len(model.rows)))
        x_lp = None if lp.values is None else lp.values[:n]
        status, dual = "FEASIBLE", lp.dual_bound if lp.optimal else math.inf * (1 if maximize else -1)
        failure = ""
        method_lp = lp.optimal and x_lp is not None and _integral(x_lp)
        if method_lp:
            # The LP optimum is integral: optimal for the level.
            found = x_lp > 0.5
            found_value = obj.value(inst, [inst.pairs[k] for k in np.flatnonzero(found)])
            if found_value >= value if maximize else found_value <= value:
                current, value = found, found_value
        else:
            mip = _run(model, c, maximize, True, time_limit - (time.perf_counter() - began), current)
            if mip.values is not None:
                found = mip.values[:n] > 0.5
                found_value = obj.value(inst, [inst.pairs[k] for k in np.flatnonzero(found)])
                # Keep the solver's solution unless the one it started from is better (it holds
                # every lock, so it is a candidate too).
                if found_value >= value if maximize else found_value <= value:
                    current, value = found, found_value
            else:
                status = NO_SOLUTION  # the previous level's solution stands
                failure = mip.failure or lp.failure
            if math.isfinite(mip.dual_bound):
                dual = min(dual, mip.dual_bound) if maximize else max(dual, mip.dual_bound)
        if not math.isfinite(dual):
            dual = float(trivial)
        bound = _inward(dual, obj.sense, value)
        if bound == value:
            status = "OPTIMAL"
        solution.levels.append(LevelReport(obj.name, obj.sense, value, bound, status,
                                           time.perf_counter() - t0, _note(status, time_limit, failure),
                                           "lp" if x_lp is not None and method_lp else "mip"))
        # Keep this level's value for the levels after it: by the LP's optimal face when the LP
        # optimum is the level's optimum, else by a row.
        if (status == "OPTIMAL" and lp.optimal and lp.duals is not None
                and abs(lp.objective - value) <= TOLERANCE * max(1.0, abs(value))):
            _keep_face(model, lp, TOLERANCE * scale)
        else:
            cols = np.flatnonzero(c)
            model.add_row(cols, c[cols], value if maximize else -math.inf,
                          math.inf if maximize else value)
    chosen = [inst.pairs[k] for k in np.flatnonzero(current)]
    # The levels as the final solution has them: the same unless floating point misled a fixing,
    # in which case the level says so rather than claim what the answer does not hold.
    for k, (obj, lv) in enumerate(zip(objectives, solution.levels)):
        final = obj.value(inst, chosen)
        if final != lv.value:
            solution.levels[k] = dataclasses.replace(
                lv, value=final, status="OPTIMAL" if final == lv.bound else "FEASIBLE",
                note="the final answer holds another value at this level than the level's own "
                     "solution (floating point in the solver); value as the answer has it, bound "
                     "as proven")
    solution.chosen = chosen
    solution.seconds = time.perf_counter() - began
    return solution


def _note(status: str, time_limit: float, failure: str = "") -> str:
    """A level that is not proven optimal, said plainly."""
    if status == "OPTIMAL":
        return ""
    if status == NO_SOLUTION:
        why = f"the solver failed ({failure})" if failure else \
            f"the solver stopped (time limit {time_limit:g} s)"
        return (f"{why} before finding any solution of this level: the previous level's solution "
                "is kept; value and proven bound as shown")
    return (f"the solver stopped (time limit {time_limit:g} s) before proving this level optimal: "
            "the best solution found is kept; value and proven bound as shown")


def _objective(model: _Model, obj: Objective, inst: MatchingInstance, received, given
               ) -> tuple[np.ndarray, int]:
    """The level's objective coefficients over the model's variables, and a bound on its value
    that needs no solver (for when the solver gives none)."""
    if obj.linear:
        weights = obj.pair_weights(inst)
        c = np.zeros(len(model.lb))
        c[:model.n] = weights
        top = np.sort(weights)[::-1][:min(len(inst.requests), len(inst.offers))]
        return c, int(top[top > 0].sum()) if obj.sense == "max" else 0
    # ledger_imbalance: sum over members of |balance after the round|, each magnitude at least
    # the balance and its negative (exact at the optimum; kept afterwards like any level).
    magnitudes = []
    for provider in inst.scheme.providers:
        base = inst.balances.get(provider, 0)
        m = model.add_var()
        cols = np.array(given.get(provider, []) + received.get(provider, []) + [m], dtype=np.int64)
        sign = np.array([1.0] * len(given.get(provider, [])) + [-1.0] * len(received.get(provider, [])))
        # m >= base + given - received  and  m >= -(base + given - received)
        model.add_row(cols, np.append(-sign, 1.0), base, math.inf)
        model.add_row(cols, np.append(sign, 1.0), -base, math.inf)
        magnitudes.append(m)
    c = np.zeros(len(model.lb))
    c[magnitudes] = 1.0
    return c, 0


def _keep_face(model: _Model, lp: _Result, tolerance: float) -> None:
    """Restrict the model to the LP optimum's face: complementary slackness with the LP's optimal
    dual (a variable with a non-zero reduced cost at its bound, a row with a non-zero dual tight)
    holds for exactly the optimal points."""
    fix = np.flatnonzero(np.abs(lp.reduced) > tolerance)
    at_upper = np.abs(lp.values[fix] - model.ub[fix]) < np.abs(lp.values[fix] - model.lb[fix])
    model.lb[fix[at_upper]] = model.ub[fix[at_upper]]
    model.ub[fix[~at_upper]] = model.lb[fix[~at_upper]]
    tight = np.flatnonzero(np.abs(lp.duals) > tolerance)
    if len(tight):
        activity = model.activity(lp.values)
        for r in tight.tolist():
            if abs(activity[r] - model.row_ub[r]) < abs(activity[r] - model.row_lb[r]):
                model.row_lb[r] = model.row_ub[r]
            else:
                model.row_ub[r] = model.row_lb[r]


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) <= TOLERANCE))


def _inward(dual: float, sense: str, value: int) -> int:
    """The solver's dual bound as a proven integer bound (objective values are integers)."""
    if sense == "max":
        return max(value, math.floor(dual + TOLERANCE * max(1.0, abs(dual))))
    return min(value, math.ceil(dual - TOLERANCE * max(1.0, abs(dual))))
