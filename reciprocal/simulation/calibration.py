"""The model checked against the seed years, and how far each assumption moves it.

Calibration is checked, not fitted: today's practice (the practice the seed years were made
under) runs at each seed year's volume, and each seed figure is set beside the model's median and
5-95% range over the seeds:

- Cambridgeshire & Peterborough's year (`default` setting on the shipped 16-member scheme):
  17 referrals, 11 requests circulated, 4 homes offered, 4 moves;
- London's scheme, per year (`stress` setting): 1,401 requests circulated, 277 moves and 198 of
  them through homes offered for a household, over 7.5 years.

`sensitivity` runs the same with each assumption halved and doubled (`Assumptions.varied`) and
reports the moves at both volumes, so the assumption that moves a figure most can be named.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from reciprocal.config import Scheme
from reciprocal.simulation.arrivals import LONDON_MOVES, LONDON_REQUESTS, LONDON_YEARS
from reciprocal.simulation.assumptions import (CAMBS_CIRCULATED, CAMBS_MOVES, CAMBS_OFFERS, CAMBS_REFERRALS,
                                               SENSITIVE, Assumptions)
from reciprocal.simulation.compare import Column, compare
from reciprocal.simulation.ranges import spread

LONDON_FOR_HOUSEHOLDS = 198  # of London's 277 moves, through homes offered for a household
# (setting, measure key, label, the seed figure)
CHECKS = (
    ("default", "referrals", "Cambridgeshire: referrals", CAMBS_REFERRALS),
    ("default", "circulated", "Cambridgeshire: requests circulated", CAMBS_CIRCULATED),
    ("default", "homes_offered", "Cambridgeshire: homes offered", CAMBS_OFFERS),
    ("default", "households_moved", "Cambridgeshire: moves", CAMBS_MOVES),
    ("stress", "circulated", "London, a year: requests circulated", round(LONDON_REQUESTS / LONDON_YEARS, 1)),
    ("stress", "households_moved", "London, a year: moves", round(LONDON_MOVES / LONDON_YEARS, 1)),
    ("stress", "moves_for_households", "London, a year: moves through a home offered for the household",
     round(LONDON_FOR_HOUSEHOLDS / LONDON_YEARS, 1)),
)


@dataclass(frozen=True)
class Check:
    label: str
    setting: str
    measure: str
    seed_figure: float
    model: dict  # `ranges.spread` over the seeds

    @property
    def inside(self) -> bool:
        return self.model["p5"] is not None and self.model["p5"] <= self.seed_figure <= self.model["p95"]


def _today(scheme: Scheme, setting: str, seeds: int, assumptions: Assumptions, progress) -> list[dict]:
    cols = [Column("today", "today", scheme.gives_count_from, "today's practice")]
    return compare(scheme, setting, seeds, 52, cols, assumptions, progress=progress).per_seed["today"]


def calibrate(scheme: Scheme, seeds: int = 50, assumptions: Optional[Assumptions] = None,
              progress: Optional[Callable[[str], None]] = None) -> list[Check]:
    """Each seed figure against the model's range under today's practice at that volume."""
    assumptions = assumptions or Assumptions()
    runs = {setting: _today(scheme, setting, seeds, assumptions,
                            progress and (lambda m, s=setting: progress(f"{s}: {m}")))
            for setting in ("default", "stress")}
    return [Check(label, setting, key, figure, spread([f[key] for f in runs[setting]]))
            for setting, key, label, figure in CHECKS]


@dataclass(frozen=True)
class Sensitivity:
    name: str
    value: str
    meaning: str
    source: str
    moves: dict  # setting -> {"halved": spread, "doubled": spread}


def sensitivity(scheme: Scheme, seeds: int = 20, names: tuple[str, ...] = SENSITIVE,
                progress: Optional[Callable[[str], None]] = None) -> tuple[dict, list[Sensitivity]]:
    """Moves at both seed volumes (today's practice) with the assumptions as they are, then with
    each of `names` halved and doubled: (base, one `Sensitivity` per assumption)."""
    base_assumptions = Assumptions()
    described = {d["name"]: d for d in base_assumptions.described()}

    def moves(assumptions: Assumptions, doing: str) -> dict:
        return {s: spread([f["households_moved"] for f in _today(
            scheme, s, seeds, assumptions, progress and (lambda m: progress(f"{doing}, {s}: {m}")))])
            for s in ("default", "stress")}

    base = moves(base_assumptions, "as assumed")
    rows = []
    for name in names:
        varied = {how: moves(base_assumptions.varied(name, factor), f"{name} {how}")
                  for how, factor in (("halved", 0.5), ("doubled", 2.0))}
        d = described[name]
        rows.append(Sensitivity(name, d["value"], d["meaning"], d["source"],
                                {s: {how: varied[how][s] for how in varied} for s in ("default", "stress")}))
    return base, rows
