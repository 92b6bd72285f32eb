"""The hard rules (docs/config.md, The hard rules), one function each, gathered in one registry.

A pair rule answers "may this request be proposed this offer?"; every eligible pair in the model
passed all of them, and the same functions explain exclusions and check finished rounds, so a rule
lives in exactly one place. Each rule also has a `mask` form, written beside it, that judges many
pairs at once: the requests and offers as NumPy columns (`RequestTable`, `OfferTable`) and index
arrays `r`, `o` into them, broadcast against each other (a block of requests by a block of offers,
or pair by pair); `matching.pairs` judges a round's pairs with them, and tests hold the two forms
equal on random instances (tests/rules/test_masks.py). Two rules are not about a single pair and
live in the model:
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

from matching.offer_table import OfferTable, RequestTable


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

    def within_buffer(self, areas: tuple[str, ...], hops: int | None = None) -> frozenset[str]:
        """`Scheme.within_buffer`, kept per tuple of areas as a request gives it: the rules ask it
        of every request and every pair judged (the scheme's own cache first sorts the areas)."""
        key = (areas, hops)
        try:
            return self._buffers[key]
        except KeyError:
            found = self._buffers[key] = self.scheme.within_buffer(areas, hops)
            return found

    @cached_property
    def _buffers(self) -> dict:
        return {}

    @cached_property
    def areas(self) -> frozenset[str]:
        """Every area of the scheme."""
        return frozenset(self.scheme.config.areas)


RuleFn = Callable[[MatchContext, Request, Offer], bool]
# (context, requests as columns, request indices r, offers as columns, offer indices o) -> whether
# pair (r, o) passes, as a bool array broadcastable to the broadcast shape of r and o; or None
# when every pair passes. The columns were built for this context (`RequestTable`).
MaskFn = Callable[[MatchContext, RequestTable, np.ndarray, OfferTable, np.ndarray], Optional[np.ndarray]]
# (context, requests as columns) -> for a rule whose verdict on a pair is the offer's area alone
# (given the request), that verdict as a per-area lookup `(row, allowed)` (`RequestTable.by_area`):
# pair (i, j) passes exactly when `allowed[row[i], table.area[j]]`; None when every pair passes.
# The rule's mask reads the same lookup, and `matching.pairs` applies it to whole areas at once,
# judging only the requests an area's offers can pass it for.
ByAreaFn = Callable[[MatchContext, RequestTable], Optional[tuple[np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class Rule:
    name: str
    spec_rule: int  # its number in docs/config.md, The hard rules
    check: RuleFn
    mask: MaskFn
    passed: str  # said of a proposal that passed it
    failed: str  # said of an offer it excluded
    by_area: Optional[ByAreaFn] = None


# 1
def cross_provider(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    return request.provider != offer.provider


def cross_provider_mask(ctx, reqs, r, table, o):
    own = reqs.column("cross_provider.own", lambda q: table.provider_index.get(q.provider, -2), np.int64)
    return table.provider[o] != own[r]


# 2
def safety_buffer(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    # An offer in an area the scheme does not know can never be shown to be safe.
    return offer.area in ctx.scheme.config.areas and \
        offer.area not in ctx.within_buffer(request.avoid_areas)


def safety_buffer_by_area(ctx, reqs):
    # The buffer around several avoided areas is the union of each one's (`Scheme.within_buffer`).
    return reqs.by_buffers("safety_buffer", lambda q: q.avoid_areas, lambda a: ctx.within_buffer((a,)), negate=True)


def safety_buffer_mask(ctx, reqs, r, table, o):
    return _area_verdict(safety_buffer_by_area(ctx, reqs), r, table, o)


# 3
def most_bedrooms(ctx: MatchContext, request: Request) -> int:
    most = request.max_bedrooms
    if most is None:
        most = request.bedrooms_needed + ctx.scheme.config.matching.max_bedrooms_over_need
    return most


def size(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    return request.bedrooms_needed <= offer.bedrooms <= most_bedrooms(ctx, request)


def size_mask(ctx, reqs, r, table, o):
    need = reqs.column("size.need", lambda q: q.bedrooms_needed, np.int64)
    most = reqs.column("size.most", lambda q: most_bedrooms(ctx, q), np.int64)
    bedrooms = table.bedrooms[o]
    return (bedrooms >= need[r]) & (bedrooms <= most[r])


# 4
def access(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    if request.needs_wheelchair and not offer.wheelchair_accessible:
        return False
    # A wheelchair-accessible home is step-free by definition.
    if request.needs_step_free and not (offer.step_free or offer.wheelchair_accessible):
        return False
    return True


def access_mask(ctx, reqs, r, table, o):
    wheelchair = reqs.column("access.wheelchair", lambda q: q.needs_wheelchair)
    step_free = reqs.column("access.step_free", lambda q: q.needs_step_free)
    if not (wheelchair.any() or step_free.any()):
        return None
    home_wheelchair = table.wheelchair[o]
    home_step_free = table.step_free[o] | home_wheelchair
    return (~wheelchair[r] | home_wheelchair) & (~step_free[r] | home_step_free)


# 5
def security_of_tenure(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    granted = ctx.scheme.tenancy_rank(ctx.granted_tenancy(request, offer))
    held = ctx.scheme.tenancy_rank(request.current_tenancy)
    return granted is not None and held is not None and granted >= held


def security_of_tenure_mask(ctx, reqs, r, table, o):
    def held_rank(q: Request) -> int:  # -1: a tenancy the scheme does not rank, nothing passes
        rank = ctx.scheme.tenancy_rank(q.current_tenancy)
        return -1 if rank is None or q.current_tenancy not in table.tenancy_index else rank

    held = reqs.column("security_of_tenure.held", held_rank, np.int64)
    column = reqs.column("security_of_tenure.column", lambda q: table.tenancy_index.get(q.current_tenancy, 0), np.int64)
    if not table.tenancy_index:
        return np.broadcast_to(False, np.broadcast_shapes(np.shape(r), np.shape(o)))
    held_r = held[r]
    if np.ndim(r) == 2 and np.shape(r)[1] == 1 and np.ndim(o) == 2 and np.shape(o)[0] == 1:
        # A block of requests by offers: each request reads its tenancy kind's row of the block's
        # ranks granted (a row gather, where indexing by both is per element: 2.5 times longer).
        granted = table.granted_rank[o[0]].T[column[r[:, 0]]]
    else:
        granted = table.granted_rank[o, column[r]]
    return (held_r >= 0) & (granted >= held_r)


# 6 (three parts)
def perpetrator_opt_in(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    if request.kind != RequestKind.perpetrator:
        return True
    provider = ctx.scheme.providers.get(offer.provider)
    return provider is not None and provider.accepts_perpetrator_moves


def perpetrator_opt_in_mask(ctx, reqs, r, table, o):
    perpetrator = reqs.column("perpetrator", lambda q: q.kind == RequestKind.perpetrator)
    if not perpetrator.any():
        return None
    return ~perpetrator[r] | table.accepts_perpetrator[o]


def offer_restrictions(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    for restriction in offer.restrictions:
        if restriction == "no_perpetrator" and request.kind == RequestKind.perpetrator:
            return False
        if restriction in ("age_55_plus", "age_65_plus"):
            floor = age_band_floor(request.age)
            if floor is None or floor < int(restriction[4:6]):
                return False
    return True


def offer_restrictions_mask(ctx, reqs, r, table, o):
    known = reqs.column("offer_restrictions.age_known", lambda q: age_band_floor(q.age) is not None)
    floor = reqs.column("offer_restrictions.age_floor", lambda q: age_band_floor(q.age) or 0, np.int64)
    perpetrator = reqs.column("perpetrator", lambda q: q.kind == RequestKind.perpetrator)
    min_age = table.min_age[o]
    ok = np.where(known[r], min_age <= floor[r], min_age == 0)
    if perpetrator.any():
        ok = ok & ~(perpetrator[r] & table.no_perpetrator[o])
    return ok


def providers_active(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    return ctx.scheme.is_active(request.provider, ctx.on) and ctx.scheme.is_active(offer.provider, ctx.on)


def providers_active_mask(ctx, reqs, r, table, o):
    active = reqs.column("providers_active.active", lambda q: ctx.scheme.is_active(q.provider, ctx.on))
    return active[r] & table.provider_active[o]


# 7
def perpetrator_cleared(ctx: MatchContext, request: Request) -> bool:
    """A perpetrator move has the survivor's consent and a safety decision by the round's day, and
    the survivor's area is known (the offer must also be away from it)."""
    if not request.survivor_consent or request.safety_decision_on is None:
        return False
    if request.safety_decision_on > ctx.on:
        return False
    return request.survivor_area is not None


def perpetrator_safety(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    if request.kind != RequestKind.perpetrator:
        return True
    if not perpetrator_cleared(ctx, request):
        return False
    return offer.area in ctx.scheme.config.areas and \
        offer.area not in ctx.within_buffer((request.survivor_area,))


def perpetrator_safety_by_area(ctx, reqs):
    perpetrator = reqs.column("perpetrator", lambda q: q.kind == RequestKind.perpetrator)
    if not perpetrator.any():
        return None

    def refused(q: Request) -> frozenset | None:
        if q.kind != RequestKind.perpetrator:
            return None  # every home, wherever it is
        if not perpetrator_cleared(ctx, q):
            return ctx.areas  # no home at all
        return ctx.within_buffer((q.survivor_area,))

    return reqs.by_area("perpetrator_safety", refused, negate=True)


def perpetrator_safety_mask(ctx, reqs, r, table, o):
    return _area_verdict(perpetrator_safety_by_area(ctx, reqs), r, table, o)


# 8
def availability(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    return offer.available_from <= ctx.horizon


def availability_mask(ctx, reqs, r, table, o):
    return table.available_from[o] <= ctx.horizon.toordinal()


# 10 (the pairwise half: never propose a home the household declined)
def not_declined(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    return (request.ref, offer.ref) not in ctx.declined


def not_declined_mask(ctx, reqs, r, table, o):
    if not ctx.declined:
        return None

    def declined_keys() -> np.ndarray:  # request index * offers + offer index, of each declined pair
        by_ref: dict[str, list[int]] = {}
        for i, q in enumerate(reqs.requests):
            by_ref.setdefault(q.ref, []).append(i)
        return np.unique(np.array([i * table.size + table.ref_index[f] for q, f in ctx.declined
                                   if f in table.ref_index for i in by_ref.get(q, ())], dtype=np.int64))

    keys = reqs.derived("not_declined.keys", declined_keys)
    if not keys.size:
        return None
    return ~np.isin(np.asarray(r, dtype=np.int64) * table.size + o, keys)


# Scheme option: in a large scheme, homes are only proposed within reach of a preferred area.
def reach_areas(ctx: MatchContext, request: Request) -> frozenset[str] | None:
    """The areas within reach of the request's preferred areas (None: homes anywhere)."""
    hops = ctx.scheme.config.matching.reach_hops
    if hops is None or not request.preferred_areas:
        return None
    return ctx.within_buffer(request.preferred_areas, hops)


def reach(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    near = reach_areas(ctx, request)
    return near is None or offer.area in near


def reach_by_area(ctx, reqs):
    if ctx.scheme.config.matching.reach_hops is None:
        return None
    hops = ctx.scheme.config.matching.reach_hops
    # Reach from several preferred areas is the union of each one's (`Scheme.within_buffer`).
    return reqs.by_buffers("reach", lambda q: q.preferred_areas or None, lambda a: ctx.within_buffer((a,), hops))


def reach_mask(ctx, reqs, r, table, o):
    return _area_verdict(reach_by_area(ctx, reqs), r, table, o)


# Scheme option: risk as a gate rather than only a priority.
def risk_gate(ctx: MatchContext, request: Request, offer: Offer) -> bool:
    gate = ctx.scheme.config.priority.risk_gate
    if gate is None:
        return True
    return ctx.scheme.risk_rank(request.risk) <= ctx.scheme.risk_rank(gate)


def risk_gate_mask(ctx, reqs, r, table, o):
    if ctx.scheme.config.priority.risk_gate is None:
        return None
    passes = reqs.column("risk_gate.passes", lambda q: risk_gate(ctx, q, None))  # not offer-dependent
    return passes[r]


def _area_verdict(lookup, r, table, o):
    """A rule's `by_area` lookup read for pairs (r, o), as its mask."""
    if lookup is None:
        return None
    row, allowed = lookup
    return allowed[row[r], table.area[o]]


PAIR_RULES: tuple[Rule, ...] = (
    Rule("cross_provider", 1, cross_provider, cross_provider_mask, "offered by another member than the household's landlord",
         "offered by the household's own landlord"),
    Rule("safety_buffer", 2, safety_buffer, safety_buffer_mask, "outside the avoided areas and their safety buffer",
         "in an avoided area or its safety buffer", by_area=safety_buffer_by_area),
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
         "perpetrator move without consent or safety decision, or near the survivor",
         by_area=perpetrator_safety_by_area),
    Rule("availability", 8, availability, availability_mask, "available within the round's horizon",
         "not available within the round's horizon"),
    Rule("not_declined", 10, not_declined, not_declined_mask, "not a home the household declined before",
         "the household declined this home before"),
    Rule("reach", 0, reach, reach_mask, "within reach of a preferred area", "beyond reach of every preferred area",
         by_area=reach_by_area),
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
