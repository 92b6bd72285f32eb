"""Policies compared on the same streams over many seeds: the board's question, answered with ranges.

For each seed the arrival stream is drawn once (`draw_arrivals`) and every column runs on it
(`process.run`): today's practice, first-come-first-served rounds and the engine under each
choice of `fairness.gives_count_from`, so differences between columns are the policies', not the
streams'. Each measure is reported per column as its median over the seeds with its 5-95% range
(`ranges.spread`); JSON carries every seed's value.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Optional

from reciprocal.config import Scheme
from reciprocal.domain import GIVES_COUNT_FROM
from reciprocal.simulation import process
from reciprocal.simulation.arrivals import Rates, draw_arrivals, rates_for
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.simulation.generator import SCALES
from reciprocal.simulation.ranges import spread
from reciprocal.simulation.stages import counting_gives_from

# The measures a board reads first (`simulate` with no options), then the rest, in table order:
# (key of `process.Run.figures`, label).
HEADLINE = (
    ("households_moved", "households moved"),
    ("high_risk_moved", "high-risk households moved"),
    ("median_weeks_to_tenancy", "median weeks, referral to tenancy start"),
    ("refusals", "refusals (household or landlord)"),
    ("lapses", "lapses (no answer by the due date)"),
    ("homes_unused", "homes nobody could take"),
    ("worst_homes_past_limit", "worst homes past a debt limit"),
)
DETAIL = (
    ("referrals", "referrals"),
    ("circulated", "requests circulated (approved)"),
    ("homes_offered", "homes offered"),
    ("offered_for_households", "of them, for a circulated household"),
    ("moves_for_households", "moves through a home offered for the household"),
    ("median_weeks_high_risk", "median weeks to tenancy start, high risk"),
    ("refused_by_household", "refused by the household"),
    ("refused_by_landlord", "refused by a landlord (the offering one; in a replay either)"),
    ("withdrawn", "households withdrawn (another route)"),
    ("holds", "holds"), ("stale", "requests gone stale"), ("reviews", "requests in review"),
    ("still_waiting", "still waiting at the end"),
    ("member_weeks_past_limit", "member-weeks past a debt limit"),
    ("max_abs_balance", "largest balance (homes)"),
)
MEASURES = HEADLINE + DETAIL


@dataclass(frozen=True)
class Column:
    key: str  # "today", "fcfs", "engine:proposed", ...
    policy: str  # a `process.POLICIES` name
    gives_count_from: str  # rule 9's choice this column runs under
    label: str


def columns(scheme: Scheme, policies: tuple[str, ...] = ("today", "fcfs", "engine"),
            gives: tuple[str, ...] = GIVES_COUNT_FROM) -> list[Column]:
    """The columns: each hand policy under the scheme's own rule 9, each engine policy under every
    choice in `gives` (the scheme's own marked)."""
    own = scheme.gives_count_from
    out = []
    for policy in policies:
        label = process.POLICY_LABELS[policy]
        if policy in ("engine", "engine_wait"):
            out += [Column(f"{policy}:{g}", policy, g, f"{label}, gives from {g}" + (" (the scheme's)" if g == own else ""))
                    for g in gives]
        else:
            out.append(Column(policy, policy, own, label))
    return out


@dataclass
class Comparison:
    """The columns' figures over seeds 1..`seeds` on one setting (typed; rendered elsewhere)."""

    scheme: str
    scheme_name: str
    setting: str
    weeks: int
    seeds: int
    rates: Rates
    assumptions: Assumptions
    columns: list[Column]
    per_seed: dict[str, list[dict]] = field(default_factory=dict)  # column key -> figures per seed
    first_runs: dict[str, process.Run] = field(default_factory=dict)  # seed 1's runs, for charts
    providers: list[str] = field(default_factory=list)
    first_seed: int = 1  # seeds first_seed .. first_seed + seeds - 1 ran

    def spreads(self) -> dict[str, dict[str, dict]]:
        return {c.key: {key: spread([f[key] for f in self.per_seed[c.key]]) for key, _ in MEASURES}
                for c in self.columns}

    def run_on(self, scheme: Scheme, stream, n: int, opening: Optional[dict[str, int]] = None,
               progress: Optional[Callable[[str], None]] = None) -> None:
        """Every column on one stream, the `n`-th of the seeds: each column's figures recorded, and
        the first seed's runs kept for the report's charts."""
        for c in self.columns:
            if progress is not None:
                progress(f"seed {n} of {self.seeds}, {c.label}")
            done = process.run(counting_gives_from(scheme, c.gives_count_from), stream, c.policy, opening)
            self.per_seed[c.key].append(done.figures())
            if n == 1:
                self.first_runs[c.key] = done

    def own(self) -> Optional[str]:
        """The column the others are set against: the engine under the scheme's own rule 9."""
        return next((c.key for c in self.columns if c.label.endswith("(the scheme's)")), None)

    def differences(self) -> dict[str, dict[str, dict]]:
        """Each other column's figures minus the scheme's engine's on the same stream, seed by seed
        (paired: the streams are the same), as a `spread` per measure; empty without that column."""
        own = self.own()
        if own is None:
            return {}

        def minus(a, b):
            return None if a is None or b is None else round(a - b, 3)

        return {c.key: {key: spread([minus(mine[key], theirs[key]) for mine, theirs
                                     in zip(self.per_seed[c.key], self.per_seed[own])]) for key, _ in MEASURES}
                for c in self.columns if c.key != own}

    def to_json(self) -> dict:
        return {"scheme": self.scheme, "setting": self.setting, "weeks": self.weeks, "seeds": self.seeds,
                "first_seed": self.first_seed,
                "rates": dataclasses.asdict(self.rates), "assumptions": self.assumptions.described(),
                "columns": [dataclasses.asdict(c) for c in self.columns], "measures": dict(MEASURES),
                "figures": self.spreads(), "against_the_schemes_engine": self.differences()}


def setting_stream(scheme: Scheme, setting: str, weeks: int, seed: int, assumptions: Assumptions,
                   rates: Optional[Rates] = None):
    """The scheme a setting runs on, its rates and the seed's stream."""
    run_scheme, setting_rates = rates_for(scheme, setting, assumptions)
    rates = rates or setting_rates
    spec = SCALES["regional"] if setting == "regional" else SCALES["pilot"]
    return run_scheme, rates, draw_arrivals(run_scheme, weeks, seed, rates, spec, assumptions=assumptions)


def compare(scheme: Scheme, setting: str = "default", seeds: int = 50, weeks: int = 52,
            cols: Optional[list[Column]] = None, assumptions: Optional[Assumptions] = None,
            rates: Optional[Rates] = None, progress: Optional[Callable[[str], None]] = None,
            first_seed: int = 1) -> Comparison:
    """Every column on the streams of seeds `first_seed`..`first_seed + seeds - 1`."""
    assumptions = assumptions or Assumptions()
    result = None
    for n, seed in enumerate(range(first_seed, first_seed + seeds), start=1):
        run_scheme, used_rates, stream = setting_stream(scheme, setting, weeks, seed, assumptions, rates)
        if result is None:
            cols = cols if cols is not None else columns(run_scheme)
            result = Comparison(run_scheme.id, run_scheme.name, setting, weeks, seeds, used_rates, assumptions,
                                cols, {c.key: [] for c in cols}, providers=stream.providers, first_seed=first_seed)
        result.run_on(run_scheme, stream, n, progress=progress)
    return result
