"""A proposal's life in the simulated weekly process: its stages, answers, refusals and lapses.

Each live proposal goes through its stages (nomination confirmed, viewing, accepted, signed) on
working days drawn per proposal and stage from `Assumptions` (the same draw for every policy that
makes the same pair), or ends refused by the offering landlord or the household, or lapses when a
stage passes its due date (the scheme's `lifecycle` terms) with no answer: at the first round
after the due date, as `proposal lapse` would. Rule 9 is counted as the product counts it: the
ledger plus `counted_effect` of the live proposals under the scheme's `fairness.gives_count_from`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Optional

from reciprocal.config import Scheme
from reciprocal.domain import (GIVES_COUNT_FROM, NEXT_STAGE, Account, Balances, Offer, ProposalStatus,
                               Request, counted_effect)
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.simulation.draws import uniform as _uniform
from reciprocal.working_days import add_working_days


@dataclass
class Live:
    request: Request
    offer: Offer
    stage: ProposalStatus
    since: date
    made: date  # the round that proposed it


@dataclass(frozen=True)
class Step:
    """What happens next to a live proposal: `outcome` on `day`, or a lapse at its due date."""

    outcome: str  # "next" | "refuse_household" | "refuse_landlord" | "lapse"
    day: date


def next_step(scheme: Scheme, seed: int, assumptions: Assumptions, live: Live,
              known: Optional[dict] = None) -> Step:
    """The next answer to `live` at its stage, or its lapse on the due date when no answer comes by
    then. `known`: real answers, (request, offer, stage) -> (outcome, working days), from a stored
    trail (`reciprocal.simulation.replay`): a pair the scheme really proposed is answered as it
    really was, after as many working days from the stage's start. Otherwise drawn: the same
    draw for every policy (keyed by seed, pair and stage)."""
    stage = live.stage.value
    due = add_working_days(live.since, scheme.days_for(live.stage))
    real = (known or {}).get((live.request.ref, live.offer.ref, stage))
    if real is not None:
        outcome, days = real
        return Step("lapse", due) if outcome == "lapse" else Step(outcome, add_working_days(live.since, days))
    key = (seed, "stage", live.request.ref, live.offer.ref, stage)
    (lo, hi), silent = assumptions.stage(stage)
    if _uniform(*key, "silent") < silent:
        return Step("lapse", due)
    days = lo + int(_uniform(*key, "days") * (hi - lo + 1))
    answered = add_working_days(live.since, days)
    if answered > due:
        return Step("lapse", due)
    if stage == "proposed" and _uniform(*key, "landlord") < assumptions.landlord_refusal:
        return Step("refuse_landlord", answered)
    if stage == "viewing" and _uniform(*key, "household") < assumptions.household_refusal:
        return Step("refuse_household", answered)
    return Step("next", answered)


def advance(scheme: Scheme, seed: int, assumptions: Assumptions, live: list[Live], on: date, ended,
            known: Optional[dict] = None) -> None:
    """Every live proposal's answers up to the round on `on`; `ended(item, outcome, day)` is told
    of each that ends ("signed", "refuse_household", "refuse_landlord", "lapse:<stage>"), which
    must take it off `live`. A stage past its due date lapses at the first round after it."""
    for item in list(live):
        while True:
            step = next_step(scheme, seed, assumptions, item, known)
            if step.outcome == "lapse":
                if step.day < on:
                    ended(item, f"lapse:{item.stage.value}", step.day)
                break
            if step.day > on:
                break
            if step.outcome != "next":
                ended(item, step.outcome, step.day)
                break
            if NEXT_STAGE[item.stage] == ProposalStatus.signed:
                ended(item, "signed", step.day)
                break
            item.stage, item.since = NEXT_STAGE[item.stage], step.day


def tenancy_start(seed: int, assumptions: Assumptions, item: Live, signed: date) -> date:
    lo, hi = assumptions.tenancy_days
    return add_working_days(signed, lo + int(_uniform(seed, "tenancy", item.request.ref, item.offer.ref)
                                             * (hi - lo + 1)))


def counting_gives_from(scheme: Scheme, stage: str) -> Scheme:
    """The scheme with rule 9's `fairness.gives_count_from` set to `stage` (a copy)."""
    if stage not in GIVES_COUNT_FROM:
        raise ValueError(f"unknown stage '{stage}' (known: {', '.join(GIVES_COUNT_FROM)})")
    fairness = scheme.config.fairness.model_copy(update={"gives_count_from": stage})
    return dataclasses.replace(scheme, config=scheme.config.model_copy(update={"fairness": fairness}))


def limited_accounts(scheme: Scheme, providers: list[str]) -> list[Account]:
    """The accounts rule 9 limits: each member's total, and its bands when bands are limited."""
    bands = ([b.name for b in scheme.config.fairness.bands]
             if scheme.config.fairness.band_max_debt is not None else [])
    return [Account(p) for p in providers] + [Account(p, b) for p in providers for b in bands]


def counted_balances(scheme: Scheme, ledger: Balances, live: list[Live], banded: bool = False) -> Balances:
    """Rule 9's balances, as the product's round is given them: the ledger plus every live
    proposal as the scheme's `gives_count_from` counts it (`reciprocal.domain.counted_effect`)."""
    return ledger.after(counted_effect(
        ((i.request.provider, i.offer.provider, scheme.band_of(i.offer.bedrooms) if banded else None, i.stage)
         for i in live), scheme.gives_count_from))
