"""Band-limited rounds (`fairness.band_max_debt`, issue 13): the engine's band path, measured.

    python -m benchmarks.band_limits [--cases round150-a,regional-0] [--time-limit 60]
                                     [--solvers engine,cpsat] [--json FILE]

Instances are rebuilt from the generator (`reciprocal.simulation.generator`):

- `round150-*`: 150 offers x 300 requests on a small synthetic scheme (members and areas vary per
  case), like the weekly rounds that failed in issue 13; band limit 0 or 1;
- `regional-*`: the bench's regional instance (`generate("regional", seed)`) with band limits on.

The generator gives total balances only; `band_balances` splits each member's total over the
scheme's three bands (deterministically from the seed), every band account within the band limit,
so that some members have room in some bands and none in others.

Solvers (`--solvers`, comma-separated):

- `engine`: `matching.engine.solve_round` as it stands (the band path: `matching.mip`), everything
  included (pairs, pins, the flow start, explanations, the rule check);
- `mip`: `matching.mip.solve_mip` alone from the flow start, with how each level was proven
  (`lp`: the LP optimum was integral; `mip`: branch and bound);
- `mip-only`: the same hierarchy with every level solved as a MIP and locked in by a row (the LP
  step hidden): the plain "MIP level by level" candidate;
- `cpsat`: the one-model CP-SAT path (`matching.cpsat.solve`) the engine took before issue 13;
- `cpsat-hint`: the same with its first level hinted by the flow solution cut back.

Each row gives the status, value, bound and seconds per level. Run it alone: timings compete for
the machine's cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time

from reciprocal.simulation.generator import SCALES, Instance, _populate, generate, synthetic_scheme

# name -> (members, areas, band limit, seed, max_debt, skew): 150 offers x 300 requests each.
# `max_debt` replaces the generator's 2; `skew` multiplies every member's starting balance (members
# owed many homes next to members near their limit), clipped at the limit.
ROUND150 = {
    "round150-a": (20, 6, 0, 1, 2, 1),
    "round150-b": (30, 9, 1, 2, 2, 1),
    "round150-c": (12, 4, 1, 3, 5, 3),
    "round150-d": (24, 6, 0, 4, 5, 3),
    "round150-e": (16, 5, 1, 5, 8, 4),
    "round150-f": (40, 9, 0, 6, 8, 4),
    "round150-g": (50, 8, 1, 7, 8, 4),
    "round150-h": (40, 6, 1, 8, 6, 3),
    "round150-i": (60, 12, 0, 9, 8, 4),
    "round150-j": (36, 9, 1, 10, 10, 5),
}
# The three of them on which the old CP-SAT path ran out of its 60 s (measured; the others it
# proved, in 0.7 to 12 s).
ISSUE_13 = ("round150-f", "round150-g", "round150-i")
REGIONAL = {"regional-0": (0, 1), "regional-1": (1, 1),  # name -> (band limit, seed)
            "regional-0-s2": (0, 2), "regional-1-s2": (1, 2), "regional-1-s3": (1, 3)}


def with_band_limit(instance: Instance, limit: int) -> Instance:
    scheme = instance.scheme
    fairness = scheme.config.fairness.model_copy(update={"band_max_debt": limit})
    config = scheme.config.model_copy(update={"fairness": fairness})
    return dataclasses.replace(instance, scheme=dataclasses.replace(scheme, config=config))


def with_max_debt(instance: Instance, max_debt: int, skew: int) -> Instance:
    scheme = instance.scheme
    fairness = scheme.config.fairness.model_copy(update={"max_debt": max_debt})
    config = scheme.config.model_copy(update={"fairness": fairness})
    scheme = dataclasses.replace(scheme, config=config)
    balances = {p: max(-scheme.max_debt(p), b * skew) for p, b in instance.balances.items()}
    return dataclasses.replace(instance, scheme=scheme, balances=balances)


def band_balances(instance: Instance, limit: int, seed: int) -> dict[str, dict[str, int]]:
    """Each member's total balance split over the bands, each band account >= -limit."""
    rng = random.Random(f"reciprocal-bench/bands/{seed}")
    bands = [b.name for b in instance.scheme.config.fairness.bands]
    out: dict[str, dict[str, int]] = {}
    for provider in sorted(instance.scheme.providers):
        total = instance.balances.get(provider, 0)
        split = {b: rng.choice((-limit, 0, 0, 1, 2)) * (1 + abs(total) // 3) for b in bands}
        # Move the split towards the total one unit at a time, never below -limit.
        while sum(split.values()) != total:
            step = 1 if sum(split.values()) < total else -1
            choices = [b for b in bands if step > 0 or split[b] > -limit]
            if not choices:
                break
            split[rng.choice(choices)] += step
        out[provider] = split
    return out


def build(case: str) -> tuple[Instance, dict[str, dict[str, int]]]:
    if case in ROUND150:
        members, areas, limit, seed, max_debt, skew = ROUND150[case]
        spec = dataclasses.replace(SCALES["regional"], name=case, providers=members, areas=areas,
                                   requests=300, offers=150, reach_hops=None)
        rng = random.Random(f"reciprocal-bench/{case}/{seed}")
        instance = _populate(synthetic_scheme(spec, rng), spec, rng, seed)
        instance = with_max_debt(instance, max_debt, skew)
    elif case in REGIONAL:
        limit, seed = REGIONAL[case]
        instance = generate("regional", seed)
    else:
        raise ValueError(f"unknown case {case}")
    return with_band_limit(instance, limit), band_balances(instance, limit, seed)


def run_engine(instance: Instance, bands, time_limit: float) -> dict:
    from matching.engine import solve_round

    t0 = time.perf_counter()
    try:
        result = solve_round(instance.scheme, instance.on, instance.requests, instance.offers,
                             instance.balances, time_limit=time_limit, band_balances=bands)
    except Exception as exc:  # the failure issue 13 reports is an exception: record it
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": round(time.perf_counter() - t0, 2)}
    return {"seconds": round(time.perf_counter() - t0, 2), "pairs": result.compatible_pairs,
            "moves": len(result.proposals),
            "levels": [{k: lv[k] for k in ("name", "status", "value", "bound", "gap", "seconds")}
                       for lv in result.objectives]}


def run_cpsat(instance: Instance, bands, time_limit: float, hint: bool = False) -> dict:
    """The one-model CP-SAT path the engine took before issue 13, on the same instance; with
    `hint`, its first level hinted with the flow solution cut back to the band limits."""
    from matching import cpsat
    from matching.instance import build_instance
    from matching.objectives import objectives_for
    from matching.pinning import choose_pins
    from matching.rules import MatchContext

    t0 = time.perf_counter()
    ctx = MatchContext(instance.scheme, instance.on)
    inst = build_instance(ctx, instance.requests, instance.offers, instance.balances, bands)
    inst.pinned, _ = choose_pins(inst)
    objectives = objectives_for(instance.scheme.config.matching.objectives)
    start = None
    if hint:
        from matching.flow import solve_flow
        from matching.mip import cut_back
        start = cut_back(inst, solve_flow(inst, objectives).chosen, objectives)
    try:
        solution = cpsat.solve(inst, objectives, time_limit, hint=start)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": round(time.perf_counter() - t0, 2),
                "pairs": inst.n_pairs}
    return {"seconds": round(time.perf_counter() - t0, 2), "pairs": inst.n_pairs,
            "moves": len(solution.chosen),
            "levels": [{"name": lv.name, "status": lv.status, "value": lv.value, "bound": lv.bound,
                        "gap": round(lv.gap, 6), "seconds": round(lv.seconds, 3), "method": lv.method}
                       for lv in solution.levels]}


def _prepared(instance: Instance, bands):
    from matching.instance import build_instance
    from matching.objectives import objectives_for
    from matching.pinning import choose_pins
    from matching.rules import MatchContext

    ctx = MatchContext(instance.scheme, instance.on)
    inst = build_instance(ctx, instance.requests, instance.offers, instance.balances, bands)
    inst.pinned, _ = choose_pins(inst)
    return inst, objectives_for(instance.scheme.config.matching.objectives)


def run_mip(instance: Instance, bands, time_limit: float, warm: bool = True, lp_first: bool = True) -> dict:
    """`matching.mip.solve_mip` alone, from the flow solution cut back (warm) or from the pins."""
    from matching.flow import solve_flow
    from matching.mip import cut_back, solve_mip

    t0 = time.perf_counter()
    inst, objectives = _prepared(instance, bands)
    start = cut_back(inst, solve_flow(inst, objectives).chosen, objectives) if warm else None
    prep = time.perf_counter() - t0
    solution = solve_mip(inst, objectives, time_limit, start, lp_first=lp_first)
    return {"seconds": round(time.perf_counter() - t0, 2), "prepare_seconds": round(prep, 2),
            "pairs": inst.n_pairs, "moves": len(solution.chosen),
            "levels": [{"name": lv.name, "status": lv.status, "value": lv.value, "bound": lv.bound,
                        "gap": round(lv.gap, 6), "seconds": round(lv.seconds, 3), "method": lv.method}
                       for lv in solution.levels]}


RUNNERS = {"engine": run_engine, "cpsat": run_cpsat, "mip": run_mip,
           "mip-only": lambda i, b, t: run_mip(i, b, t, lp_first=False),
           "cpsat-hint": lambda i, b, t: run_cpsat(i, b, t, hint=True),
           "mip-cold": lambda i, b, t: run_mip(i, b, t, warm=False)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join([*ISSUE_13, *REGIONAL]))
    parser.add_argument("--solvers", default="engine")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = []
    for case in args.cases.split(","):
        instance, bands = build(case)
        for name in args.solvers.split(","):
            row = {"case": case, "solver": name, "requests": len(instance.requests),
                   "offers": len(instance.offers), "providers": len(instance.scheme.providers),
                   "band_max_debt": instance.scheme.config.fairness.band_max_debt,
                   "time_limit": args.time_limit, **RUNNERS[name](instance, bands, args.time_limit)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
