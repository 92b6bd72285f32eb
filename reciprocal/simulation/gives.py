"""Rule 9's four choices of `fairness.gives_count_from` compared on the same streams.

For each seed the arrival stream is drawn once and the weekly flow of `reciprocal.simulation.stages`
runs under each choice (`proposed`, `nomination_confirmed`, `accepted`, `signed`), so differences
between the choices are the rule's, not the stream's. Each measure is reported per choice as its
median over the seeds with its 5-95% range (`reciprocal.simulation.ranges`), and every seed's
value for JSON.
`render_gives` (in `reciprocal.simulation_report`) makes the table.
"""
from __future__ import annotations

from typing import Callable, Optional

from reciprocal.config import Scheme
from reciprocal.domain import GIVES_COUNT_FROM
from reciprocal.simulation.ranges import spread
from reciprocal.simulation.stages import StageAssumptions, counting_gives_from, run_flow, stage_stream

# The measures compared, in the order of the table (keys of `FlowRun.measures`).
COMPARED = ("households_moved", "high_risk_moved", "median_weeks_to_tenancy_start",
            "worst_homes_past_limit", "median_homes_past_limit", "member_weeks_past_limit",
            "lowest_ledger_headroom")


def runs_by_choice(run_scheme: Scheme, arrivals, assumptions: StageAssumptions,
                   opening: dict[str, int] | None = None,
                   progress: Optional[Callable[[str], None]] = None) -> dict:
    """The weekly flow on one stream under every choice of `gives_count_from`: choice -> `FlowRun`."""
    runs = {}
    for choice in GIVES_COUNT_FROM:
        if progress:
            progress(f"gives counted from {choice}...")
        runs[choice] = run_flow(counting_gives_from(run_scheme, choice), arrivals, "weekly", assumptions, opening)
    return runs


def summary(per_choice: dict[str, list[dict]]) -> dict:
    """Each choice's measures (one dict per seed) as their `spread` over the seeds."""
    return {choice: {key: spread([m[key] for m in runs]) for key in COMPARED}
            for choice, runs in per_choice.items()}


def compare_gives(scheme: Scheme, setting: str = "stress", seeds: int = 20, weeks: int = 52,
                  assumptions: StageAssumptions | None = None,
                  progress: Optional[Callable[[str], None]] = None) -> dict:
    """The weekly flow under every choice of `gives_count_from`, seeds 1..`seeds`, on one setting."""
    assumptions = assumptions or StageAssumptions()
    per_choice: dict[str, list[dict]] = {choice: [] for choice in GIVES_COUNT_FROM}
    run_scheme = requests = None
    for seed in range(1, seeds + 1):
        run_scheme, _, arrivals = stage_stream(scheme, weeks, seed, setting)
        requests = (requests or []) + [sum(len(w) for w in arrivals.requests)]
        runs = runs_by_choice(run_scheme, arrivals, assumptions,
                              progress=progress and (lambda m: progress(f"seed {seed} of {seeds}, {m}")))
        for choice, run in runs.items():
            per_choice[choice].append(run.measures())
    return {"scheme": run_scheme.id, "setting": setting, "weeks": weeks, "seeds": seeds,
            "requests_arrived": spread(requests), "choices": summary(per_choice)}
