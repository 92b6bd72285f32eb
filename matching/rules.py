"""The hard rules (docs/config.md, The hard rules), one function each, gathered in one registry.

A pair rule answers "may this request be proposed this offer?"; every eligible pair in the model
passed all of them, and the same functions explain exclusions and check finished rounds, so a rule
lives in exactly one place. Each rule also has a `mask` form, written beside it, that judges one
request against many offers at once (NumPy columns of `OfferTable`); a test holds the two forms
equal on random instances. Two rules are not about a single pair and live in the model:
`fairness_debt_limit` (rule 9: its headroom is `reciprocal.domain.debt_headroom`, which the round
close also applies, re-exported here) and
`one_proposal_each` (rule 10: at most one proposal per request and per offer).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Callable, Optional

import numpy as np

from reciprocal.config import Scheme
from reciprocal.domain import Offer, Request, RequestKind, age_band_floor

from matching.offer_table import OfferTable


@dataclass(frozen=True)
class MatchContext:
    """What the rules need beyond the pair: the scheme, the round's date, past declines."""

    scheme: Scheme
    on: date
    declined: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (request, offer)

    def granted_tenancy(self, request: Request, offer: Offer) -> str | None:
        if offer.tenancy_offered:
            return offer.tenancy_offered
        provider = self.scheme.providers.get(offer.provider)
        return None if provider is None else provider.grants.get(request.current_tenancy)

    @cached_property
    def horizon(self) -> date:
        return self.on + timedelta(days=self.scheme.config.rounds.offer_horizon_days)

    @cached_property
    def declined_by_request(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for r, o in self.declined:
            out.setdefault(r, set()).add(o)
        return out


RuleFn = Callable[[MatchContext, Request, Offer], bool]
# (context, request, offers as columns, indices of the offers to judge) -> bool per offer, or
# None when every offer passes.
MaskFn = Callable[[MatchContext, Request, OfferTable, np.ndarray], Optional[np.ndarray]]


@dataclass(frozen=True)
class Rule:
    name: str
    spec_rule: int  # its number in docs/config.md, The hard rules
    check: RuleFn
    mask: MaskFn
    passed: str  # said of a proposal that passed it
    failed: str  # said of an offer it excluded


# 1
def cross_provider(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    return request.provider != offer.provider


def cross_provider_mask(ctx, request, table, idx):
    return table.provider[idx] != table.provider_index.get(request.provider, -2)


# 2
def safety_buffer(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    # An offer in an area the scheme does not know can never be shown to be safe.
    return offer.area in ctx.scheme.config.areas and \
        offer.area not in ctx.scheme.within_buffer(request.avoid_areas)


def safety_buffer_mask(ctx, request, table, idx):
    return table.area_mask(ctx.scheme.within_buffer(request.avoid_areas), negate=True)[table.area[idx]]


# 3
def size(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    most = request.max_bedrooms
    if most is None:
        most = request.bedrooms_needed + ctx.scheme.config.matching.max_bedrooms_over_need
    return request.bedrooms_needed <= offer.bedrooms <= most


def size_mask(ctx, request, table, idx):
    most = request.max_bedrooms
    if most is None:
        most = request.bedrooms_needed + ctx.scheme.config.matching.max_bedrooms_over_need
    bedrooms = table.bedrooms[idx]
    return (bedrooms >= request.bedrooms_needed) & (bedrooms <= most)


# 4
def access(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    if request.needs_wheelchair and not offer.wheelchair_accessible:
        return False
    # A wheelchair-accessible home is step-free by definition.
    if request.needs_step_free and not (offer.step_free or offer.wheelchair_accessible):
        return False
    return True


def access_mask(ctx, request, table, idx):
    if request.needs_wheelchair:
        return table.wheelchair[idx]
    if request.needs_step_free:
        return table.step_free[idx] | table.wheelchair[idx]
    return None


# 5
def security_of_tenure(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    granted = ctx.scheme.tenancy_rank(ctx.granted_tenancy(request, offer))
    held = ctx.scheme.tenancy_rank(request.current_tenancy)
    return granted is not None and held is not None and granted >= held


def security_of_tenure_mask(ctx, request, table, idx):
    held = ctx.scheme.tenancy_rank(request.current_tenancy)
    column = table.tenancy_index.get(request.current_tenancy)
    if held is None or column is None:
        return np.zeros(len(idx), dtype=bool)
    return table.granted_rank[idx, column] >= held


# 6 (three parts)
def perpetrator_opt_in(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    if request.kind != RequestKind.perpetrator:
        return True
    provider = ctx.scheme.providers.get(offer.provider)
    return provider is not None and provider.accepts_perpetrator_moves


def perpetrator_opt_in_mask(ctx, request, table, idx):
    if request.kind != RequestKind.perpetrator:
        return None
    return table.accepts_perpetrator[idx]


def offer_restrictions(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    for restriction in offer.restrictions:
        if restriction == "no_perpetrator" and request.kind == RequestKind.perpetrator:
            return False
        if restriction in ("age_55_plus", "age_65_plus"):
            floor = age_band_floor(request.age)
            if floor is None or floor < int(restriction[4:6]):
                return False
    return True


def offer_restrictions_mask(ctx, request, table, idx):
    floor = age_band_floor(request.age)
    min_age = table.min_age[idx]
    ok = (min_age == 0) if floor is None else (min_age <= floor)
    if request.kind == RequestKind.perpetrator:
        ok = ok & ~table.no_perpetrator[idx]
    return ok


def providers_active(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    return ctx.scheme.is_active(request.provider, ctx.on) and ctx.scheme.is_active(offer.provider, ctx.on)


def providers_active_mask(ctx, request, table, idx):
    if not ctx.scheme.is_active(request.provider, ctx.on):
        return np.zeros(len(idx), dtype=bool)
    return table.provider_active[idx]


# 7
def perpetrator_safety(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    if request.kind != RequestKind.perpetrator:
        return True
    if not request.survivor_consent or request.safety_decision_on is None:
        return False
    if request.safety_decision_on > ctx.on:
        return False
    if request.survivor_area is None:
        return False
    return offer.area in ctx.scheme.config.areas and \
        offer.area not in ctx.scheme.within_buffer((request.survivor_area,))


def perpetrator_safety_mask(ctx, request, table, idx):
    if request.kind != RequestKind.perpetrator:
        return None
    if (not request.survivor_consent or request.safety_decision_on is None
            or request.safety_decision_on > ctx.on or request.survivor_area is None):
        return np.zeros(len(idx), dtype=bool)
    away = table.area_mask(ctx.scheme.within_buffer((request.survivor_area,)), negate=True)
    return away[table.area[idx]]


# 8
def availability(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    horizon = ctx.on + timedelta(days=ctx.scheme.config.rounds.offer_horizon_days)
    return offer.available_from <= horizon


def availability_mask(ctx, request, table, idx):
    return table.available_from[idx] <= ctx.horizon.toordinal()


# 10 (the pairwise half: never propose a home the household declined)
def not_declined(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    return (request.ref, offer.ref) not in ctx.declined


def not_declined_mask(ctx, request, table, idx):
    declined = ctx.declined_by_request.get(request.ref)
    if not declined:
        return None
    return ~np.isin(idx, [table.ref_index[o] for o in declined if o in table.ref_index])


# Scheme option: in a large scheme, homes are only proposed within reach of a preferred area.
def reach(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    hops = ctx.scheme.config.matching.reach_hops
    if hops is None or not request.preferred_areas:
        return True
    return offer.area in ctx.scheme.within_buffer(request.preferred_areas, hops)


def reach_mask(ctx, request, table, idx):
    hops = ctx.scheme.config.matching.reach_hops
    if hops is None or not request.preferred_areas:
        return None
    return table.area_mask(ctx.scheme.within_buffer(request.preferred_areas, hops))[table.area[idx]]


# Scheme option: risk as a gate rather than only a priority.
def risk_gate(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    gate = ctx.scheme.config.priority.risk_gate
    if gate is None:
        return True
    return ctx.scheme.risk_rank(request.risk) <= ctx.scheme.risk_rank(gate)


def risk_gate_mask(ctx, request, table, idx):
    if risk_gate(ctx, request, None):  # the gate does not depend on the offer
        return None
    return np.zeros(len(idx), dtype=bool)


PAIR_RULES: tuple[Rule, ...] = (
    Rule("cross_provider", 1, cross_provider, cross_provider_mask, "offered by another member than the household's landlord",
         "offered by the household's own landlord"),
    Rule("safety_buffer", 2, safety_buffer, safety_buffer_mask, "outside the avoided areas and their safety buffer",
         "in an avoided area or its safety buffer"),
    Rule("size", 3, size, size_mask, "bedrooms within the household's need", "wrong number of bedrooms"),
    Rule("access", 4, access, access_mask, "meets step-free and wheelchair needs", "does not meet access needs"),
    Rule("security_of_tenure", 5, security_of_tenure, security_of_tenure_mask, "tenancy at least as secure as the one held now",
         "would grant a less secure tenancy"),
    Rule("perpetrator_opt_in", 6, perpetrator_opt_in, perpetrator_opt_in_mask, "landlord accepts this kind of move",
         "landlord does not accept perpetrator moves"),
    Rule("offer_restrictions", 6, offer_restrictions, offer_restrictions_mask, "meets the offer's restrictions",
         "household does not meet the offer's restrictions"),
    Rule("providers_active", 6, providers_active, providers_active_mask, "both landlords are active members",
         "a landlord is not an active member"),
    Rule("perpetrator_safety", 7, perpetrator_safety, perpetrator_safety_mask,
         "perpetrator move has consent and a safety decision, away from the survivor",
         "perpetrator move without consent or safety decision, or near the survivor"),
    Rule("availability", 8, availability, availability_mask, "available within the round's horizon",
         "not available within the round's horizon"),
    Rule("not_declined", 10, not_declined, not_declined_mask, "not a home the household declined before",
         "the household declined this home before"),
    Rule("reach", 0, reach, reach_mask, "within reach of a preferred area", "beyond reach of every preferred area"),
    Rule("risk_gate", 0, risk_gate, risk_gate_mask, "risk level passes the scheme's gate",
         "risk level below the scheme's gate"),
)

RULES_BY_NAME = {rule.name: rule for rule in PAIR_RULES}

# Rules enforced by the model over the whole round, named here so explanations and audits use
# the same words.
FAIRNESS_DEBT_LIMIT = "fairness_debt_limit"  # rule 9
ONE_PROPOSAL_EACH = "one_proposal_each"  # rule 10


def failed_rules(ctx: MatchContext, request: Request, offer: Offer) -> list[str]:
    """Names of every pair rule the pair breaks (empty: the pair is eligible)."""
    return [rule.name for rule in PAIR_RULES if not rule.check(ctx, request, offer)]


def is_eligible(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    return all(rule.check(ctx, request, offer) for rule in PAIR_RULES)
