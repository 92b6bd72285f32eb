"""Offers made for a household (`for_request`, docs/config.md): which are proposed to it first.

A member that answers a circulated request offers a home *for* that household. In the round, such
a home is pinned to its household (the pair is fixed before the objectives are optimised) when:

- the household is in this round's free pot (active, not in a live proposal);
- the pair passes every pair rule (`matching.rules.PAIR_RULES`, judged here with the rules' pair
  forms, so the answer names the rule that fails);
- no other home offered for the same household is pinned first (the best fit wins: preferred
  area and exact size, then the earliest available, then the ref);
- the household's landlord still has debt headroom for it (rule 9, and per bedroom band where the
  scheme sets `band_max_debt`), counting the pins already taken, most urgent household first
  (the homes they give too, when gives count from `proposed`: `reciprocal.domain.limit_breaches`).

Otherwise the home joins the pot like any other and the outcome says why. The objectives are then
optimised with the pins fixed, so each level's value is the proven optimum *given the pins*; the
round's report says how many pairs were pinned.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from matching.instance import MatchingInstance
from matching.rules import PAIR_RULES, MatchContext, Rule
from reciprocal.config import Scheme
from reciprocal.domain import Offer, Request, limit_breaches

# Outcome codes of an offer made for a household.
PROPOSED = "proposed_to_its_household"
NOT_IN_POT = "household_not_in_pot"
RULE_FAILS = "hard_rule_fails"
OTHER_OFFER_FIRST = "another_offer_for_it_proposed"
DEBT_LIMIT = "landlord_at_debt_limit"


@dataclass(frozen=True)
class PinOutcome:
    offer: str
    request: str
    code: str
    reason: str
    failed_rules: tuple[str, ...] = ()

    @property
    def proposed(self) -> bool:
        return self.code == PROPOSED

    def to_json(self) -> dict:
        return {"offer": self.offer, "request": self.request, "proposed": self.proposed,
                "outcome": self.code, "reason": self.reason, "failed_rules": list(self.failed_rules)}


def choose_pins(inst: MatchingInstance) -> tuple[list[int], list[PinOutcome]]:
    """The eligible pair indices to fix, and an outcome for every offer made for a household."""
    request_index = {r.ref: i for i, r in enumerate(inst.requests)}
    outcomes: list[PinOutcome] = []
    candidates: list[tuple[int, int, int]] = []  # (pair index, request index, offer index)
    for j, offer in enumerate(inst.offers):
        ref = offer.for_request
        if not ref:
            continue
        i = request_index.get(ref)
        if i is None:
            outcomes.append(PinOutcome(offer.ref, ref, NOT_IN_POT,
                                       f"offered for {ref}, which is not in this round's free pot; "
                                       f"the home joins the pot"))
            continue
        failed = tuple(rule for rule in PAIR_RULES if not rule.check(inst.ctx, inst.requests[i], offer))
        if failed:
            outcomes.append(PinOutcome(
                offer.ref, ref, RULE_FAILS,
                f"offered for {ref}, but " + "; ".join(f"{rule.name} (rule {rule.spec_rule}): {rule.failed}"
                                                       for rule in failed)
                + "; the home joins the pot", tuple(rule.name for rule in failed)))
            continue
        k = _pair_index(inst, i, j)
        assert k is not None, "an eligible pair is always in the instance"
        candidates.append((k, i, j))

    def urgency(c: tuple[int, int, int]):
        k, i, j = c
        r, o = inst.requests[i], inst.offers[j]
        return (inst.scheme.risk_rank(r.risk), r.referred_on, r.ref,
                -inst.preference_score(i, j), o.available_from, o.ref)

    pinned: list[int] = []
    pinned_request: dict[int, str] = {}
    taken: list[tuple[str, str, str | None]] = []  # the pins' moves so far (rule 9)
    # Most urgent first. When gives count from `proposed`, a pin taken later may give a home that
    # makes room for one refused earlier, so the candidates left are tried again until a pass
    # pins nothing more: every home then refused for the debt limit truly breaks it beside the pins.
    pending = sorted(candidates, key=urgency)
    while True:
        left = []
        for k, i, j in pending:
            r, o = inst.requests[i], inst.offers[j]
            band = inst.scheme.band_of(o.bedrooms) if inst.band_headroom else None
            move = (r.provider, o.provider, band)
            if i in pinned_request or limit_breaches(inst.start, taken + [move], inst.scheme.debt_limit,
                                                     inst.scheme.gives_count_from):
                left.append((k, i, j))
                continue
            taken.append(move)
            pinned.append(k)
            pinned_request[i] = o.ref
            outcomes.append(PinOutcome(o.ref, r.ref, PROPOSED,
                                       f"offered for {r.ref} and proposed to it first (every hard rule allows)"))
        if len(left) == len(pending):
            break
        pending = left
    for k, i, j in pending:
        r, o = inst.requests[i], inst.offers[j]
        if i in pinned_request:
            outcomes.append(PinOutcome(o.ref, r.ref, OTHER_OFFER_FIRST,
                                       f"offered for {r.ref}, but another home offered for it "
                                       f"({pinned_request[i]}) is proposed first; the home joins the pot"))
        else:
            outcomes.append(PinOutcome(o.ref, r.ref, DEBT_LIMIT,
                                       f"offered for {r.ref}, but its landlord {r.provider} has no debt "
                                       f"headroom left for it (rule 9); the home joins the pot"))
    outcomes.sort(key=lambda p: p.offer)
    return pinned, outcomes


def _pair_index(inst: MatchingInstance, i: int, j: int) -> int | None:
    # The pairs are sorted by request, then offer (`build_instance`): bisect for request i's run,
    # then for offer j in it, rather than compare all 2 million pairs for each home offered for a
    # household; a full scan only if the bisection misses (pairs in another order).
    lo, hi = np.searchsorted(inst.pair_request, [i, i + 1])
    k = lo + int(np.searchsorted(inst.pair_offer[lo:hi], j))
    if k < hi and inst.pair_request[k] == i and inst.pair_offer[k] == j:
        return int(k)
    hits = np.flatnonzero((inst.pair_request == i) & (inst.pair_offer == j))
    return int(hits[0]) if hits.size else None


# Rules whose verdict on a pair changes with the day alone: an offer made for a household is not
# refused at intake for them (the home may come within the horizon, a member may rejoin).
DAY_DEPENDENT = frozenset({"availability", "providers_active"})


def standing_failures(scheme: Scheme, request: Request, offer: Offer, on: date) -> list[Rule]:
    """The pair rules an offer made for `request` fails whatever the round's day: at intake, an
    offer failing one could never be proposed to that household and is refused naming it."""
    ctx = MatchContext(scheme, on)
    return [rule for rule in PAIR_RULES
            if rule.name not in DAY_DEPENDENT and not rule.check(ctx, request, offer)]
