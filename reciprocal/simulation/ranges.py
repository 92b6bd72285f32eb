"""Honest ranges over seeds: a figure is its median with the 5th-95th percentile range.

Percentiles are nearest-rank: the p-th percentile of n values is the value at rank ceil(p/100 * n)
in ascending order (rank 1 at least), always one of the seeds' own values, never interpolated.
With 20 seeds the 5th is the lowest and the 95th the second highest; with 50, the third lowest and
the third highest. A seed with no value (no move, so no waiting time) is left out. Two policies'
ranges overlap when neither's 5-95% range lies wholly above the other's: the difference between
them may then be the seeds', not the policy's.
"""
from __future__ import annotations

import math
import statistics
from typing import Optional


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank `p`-th percentile (0 < p <= 100) of `values`, which must not be empty."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def spread(values: list[Optional[float]]) -> dict:
    """Median, 5th and 95th percentiles, lowest and highest over seeds, and every seed's value."""
    known = [v for v in values if v is not None]
    if not known:
        return {"median": None, "p5": None, "p95": None, "min": None, "max": None, "values": values}
    return {"median": round(statistics.median(known), 3), "p5": percentile(known, 5),
            "p95": percentile(known, 95), "min": min(known), "max": max(known), "values": values}


def overlap(a: dict, b: dict) -> bool:
    """Whether two `spread`s' 5-95% ranges overlap (False when either has no value to compare)."""
    if a["median"] is None or b["median"] is None:
        return False
    return a["p5"] <= b["p95"] and b["p5"] <= a["p95"]


def median(values: list[float]) -> Optional[float]:
    """The median to one decimal (None for no values)."""
    return round(statistics.median(values), 1) if values else None
