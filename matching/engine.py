"""A round's matching as one pure call: build the instance, solve, check, explain.

`solve_round` takes domain objects (the free pot, the ledger's balances, pairs never to propose
again) and returns proposals with their reasons, a reason for every unmatched request, and each
objective's value and proven bound. It never touches storage: `reciprocal.lifecycle` snapshots the
pot, calls it, and stores what it returns; the simulation and the benchmarks call it directly.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

from reciprocal.config import Scheme
from reciprocal.domain import Offer, Request
from reciprocal.errors import IntegrityError

from matching import check
from matching.explain import explain_proposals, explain_unmatched
from matching.instance import build_instance
from matching.flow import solve_flow
from matching.objectives import objectives_for
from matching.pinning import choose_pins
from matching.rules import MatchContext


# Every proposal of a `RoundResult` has these keys; all its other keys are its explanation.
PROPOSAL_KEYS = ("request", "offer", "from_provider", "to_provider")


@dataclass
class RoundResult:
    proposals: list[dict] = field(default_factory=list)  # request, offer, from/to provider, explanation
    unmatched: list[dict] = field(default_factory=list)
    objectives: list[dict] = field(default_factory=list)
    solve_seconds: float = 0.0
    compatible_pairs: int = 0
    # Every offer made for a household (`for_request`): proposed to it first, or why not.
    for_request: list[dict] = field(default_factory=list)


def solve_round(scheme: Scheme, on: date, requests: list[Request], offers: list[Offer],
                balances: dict[str, int], declined: frozenset[tuple[str, str]] = frozenset(),
                time_limit: float | None = None,
                band_balances: dict[str, dict[str, int]] | None = None) -> RoundResult:
    ctx = MatchContext(scheme, on, declined)
    inst = build_instance(ctx, requests, offers, balances, band_balances)
    objectives = objectives_for(scheme.config.matching.objectives)
    inst.pinned, pin_outcomes = choose_pins(inst)
    if inst.band_headroom:
        # Debt limits per bedroom band couple moves that no node of the network gathers, so the
        # flow cannot express them; `matching.mip` solves the same hierarchy level by level (LP
        # optima kept by their optimal face, MIP where the LP is fractional), from the flow's
        # solution cut back to the band limits, reporting each level's bound and gap. A time
        # limit reached gives the best solution found, said plainly per level, never an error.
        from matching.mip import cut_back, solve_mip  # MathOpt: loaded only for band limits
        limit = time_limit or scheme.config.matching.time_limit_seconds
        t0 = time.perf_counter()
        start = cut_back(inst, solve_flow(inst, objectives).chosen, objectives)
        solution = solve_mip(inst, objectives, max(0.1, limit - (time.perf_counter() - t0)), start)
        solution.seconds = time.perf_counter() - t0  # the flow start included
    else:
        # The flow engine is exact and needs no time limit.
        solution = solve_flow(inst, objectives)
    pairs = [(inst.requests[i].ref, inst.offers[j].ref) for i, j in solution.chosen]
    broken = check.violations(ctx, requests, offers, balances, pairs, band_balances)
    chosen = set(solution.chosen)
    # The pinned pairs by their indices (`inst.pairs` would list all 2 million pairs at national scale).
    pinned = {(int(inst.pair_request[k]), int(inst.pair_offer[k])) for k in inst.pinned}
    broken += [f"offer {inst.offers[j].ref} was pinned to its household but not proposed"
               for i, j in sorted(pinned) if (i, j) not in chosen]
    if broken:
        # Never reached if the model is right; if it is wrong, nothing is proposed.
        raise IntegrityError("the solver's answer broke hard rules; no proposal was stored: "
                             + "; ".join(broken[:5]))
    result = RoundResult(solve_seconds=round(solution.seconds, 4), compatible_pairs=inst.n_pairs,
                         for_request=[p.to_json() for p in pin_outcomes])
    proposed = sorted(solution.chosen, key=lambda p: inst.requests[p[0]].ref)
    for (i, j), why in zip(proposed, explain_proposals(inst, proposed, objectives, balances, pinned)):
        r, o = inst.requests[i], inst.offers[j]
        result.proposals.append({"request": r.ref, "offer": o.ref, "from_provider": r.provider,
                                 "to_provider": o.provider, **why})
    for i, reason in sorted(explain_unmatched(inst, solution.chosen).items()):
        result.unmatched.append({"request": inst.requests[i].ref, **reason})
    result.objectives = [{"name": lv.name, "sense": lv.sense, "value": lv.value, "bound": lv.bound,
                          "gap": lv.gap, "status": lv.status, "seconds": round(lv.seconds, 4),
                          "pinned_pairs": len(inst.pinned), **({"note": lv.note} if lv.note else {})}
                         for lv in solution.levels]
    return result
