"""Pot only against pot and circulation: the same arrivals, the engine, two ways of offering homes.

`compare_circulation` draws, for each seed, one arrival stream with the circulation assumptions
of `reciprocal.simulation.answers` (approved referrals only, in both modes), then runs the engine
twice: members putting every home into the pot at random (the simulation before circulation), and
members answering their circulation lists with homes made for waiting households. The homes
members offer in a week are the same draws in both (their count rises the more a member owes), so
the difference is only where the homes go. Medians over the seeds, with their 5-95% ranges
(`reciprocal.simulation.ranges`), are set beside the seed figures:
Cambridgeshire's year (17 referrals, 11 requests circulated, 4 offers, 4 moves) and London's
scheme (277 moves for 1,401 requests: one move per five requests).
"""
from __future__ import annotations

import dataclasses
import statistics
from typing import Callable, Optional

from reciprocal.config import Scheme
from reciprocal.simulation.answers import (ANSWERS, CAMBS_CIRCULATED, CAMBS_MOVES, CAMBS_OFFERS,
                                           CAMBS_REFERRALS, AnswerTerms)
from reciprocal.simulation.generator import SCALES
from reciprocal.simulation.ranges import spread
from reciprocal.simulation.arrivals import LONDON_MOVES, LONDON_REQUESTS, draw_arrivals, rates_for
from reciprocal.simulation.simulate import PolicyRun, run_policy

# Settings whose request volume is London's, which counts requests circulated, not referrals.
LONDON_VOLUME = ("stress", "generous")
MODES = {"pot": "pot only", "circulation": "pot and circulation"}
MEASURES = (  # (key, label)
    ("referrals", "referrals (requests arrived)"),
    ("circulated", "requests circulated (approved)"),
    ("listed", "of them, some member's stock could serve"),
    ("offers", "homes offered"),
    ("offers_for_households", "of them, offered for a circulated household"),
    ("moves", "households moved"),
    ("moves_per_circulated", "moves per request circulated"),
    ("high_risk_moves", "high-risk households moved"),
    ("median_weeks_to_move", "median weeks, referral to move"),
    ("offers_unused", "homes offered that nobody could take"),
    ("largest_debt", "largest debt (homes a member owed, any week)"),
)


def _figures(run: PolicyRun, referrals: int) -> dict:
    waits = [m.weeks_waited for m in run.moves]
    return {
        "referrals": referrals, "circulated": len(run.circulated), "listed": len(run.listed),
        "offers": run.offers_arrived,
        "offers_for_households": run.offers_for_households, "moves": len(run.moves),
        "moves_per_circulated": round(len(run.moves) / len(run.circulated), 3) if run.circulated else None,
        "high_risk_moves": sum(m.high_risk for m in run.moves),
        "median_weeks_to_move": statistics.median(waits) if waits else None,
        "offers_unused": run.offers_unused,
        "largest_debt": max([0] + [-b for week in run.balances for b in week]),
    }


def _mean(values: list) -> Optional[float]:
    values = [v for v in values if v is not None]
    return round(statistics.fmean(values), 2) if values else None


def compare_circulation(scheme: Scheme, setting: str = "default", seeds: int = 20, weeks: int = 52,
                        answers: AnswerTerms = ANSWERS,
                        progress: Optional[Callable[[str], None]] = None) -> dict:
    run_scheme, rates = rates_for(scheme, setting)
    if setting in LONDON_VOLUME:
        # London's 1,401 are requests circulated: draw as many referrals as make that many approved.
        rates = dataclasses.replace(rates, requests_per_year=rates.requests_per_year / answers.approved_share,
                                    basis=rates.basis + f"; requests circulated, so referrals drawn at "
                                    f"1/{answers.approved_share:.2f} times that volume")
    spec = SCALES["regional"] if setting == "regional" else SCALES["pilot"]
    per_seed = []
    for seed in range(1, seeds + 1):
        if progress is not None:
            progress(f"seed {seed} of {seeds}")
        arrivals = draw_arrivals(run_scheme, weeks, seed, rates, spec, answers=answers)
        referrals = sum(len(week) for week in arrivals.requests)
        per_seed.append({mode: _figures(run_policy(arrivals, "engine", answer=(mode == "circulation")),
                                        referrals) for mode in MODES})
    means = {mode: {key: _mean([s[mode][key] for s in per_seed]) for key, _ in MEASURES} for mode in MODES}
    ranges = {mode: {key: spread([s[mode][key] for s in per_seed]) for key, _ in MEASURES} for mode in MODES}
    years = weeks / 52
    seed_figures = {
        "cambridgeshire_year": {"referrals": CAMBS_REFERRALS, "circulated": CAMBS_CIRCULATED,
                                "offers": CAMBS_OFFERS, "moves": CAMBS_MOVES},
        "london_moves_per_request": round(LONDON_MOVES / LONDON_REQUESTS, 3),
    }
    return {"scheme": run_scheme.name, "setting": setting, "seeds": seeds, "weeks": weeks,
            "years": round(years, 2), "rates": rates.basis,
            "assumptions": dataclasses.asdict(answers),
            "means": means, "ranges": ranges, "per_seed": per_seed, "seed_figures": seed_figures}
