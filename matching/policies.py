"""Matching policies other than the engine, for comparing against it (the year-long simulation,
benchmarks): what coordinators do by hand today (first come, first served rounds; the first
suitable home offered wins), and a random order.

Each policy takes the same inputs as a live round (a `MatchContext`, the open requests and offers,
the ledger balances) and returns proposals as (request ref, offer ref) pairs. Each obeys every hard
rule, including the debt limit: a pair is proposed only if `matching.rules.is_eligible` passes it,
and a household is placed only while the round's moves so far keep its landlord within its total
limit under the scheme's rule (`reciprocal.domain.LimitCheck`: `limit_breaches`, rule 9, a move at a time; per-band limits are
not applied: the simulation and the benchmarks that use these policies run without them). At most one proposal per request and per offer (rule 10).
What differs from the engine is only the order in which households are served: greedily, one at a
time, instead of optimising the round as a whole.

Judging every pair with `is_eligible` is plain and slow (a Python call per rule per pair); a caller
with many requests may pass `compatible`, each request's eligible offer refs computed by the same
rules in their NumPy form (`compatible_offers`), and gets the same answer faster.
"""
from __future__ import annotations

import random
from typing import Collection, Mapping, Optional

from reciprocal.domain import Balances, LimitCheck, Offer, Request

from matching.instance import build_instance
from matching.rules import MatchContext, is_eligible

Pair = tuple[str, str]  # (request ref, offer ref)
Compatible = Mapping[str, Collection[str]]  # request ref -> refs of the offers it may be proposed


def first_come_first_served(ctx: MatchContext, requests: list[Request], offers: list[Offer],
                            balances: dict[str, int], compatible: Optional[Compatible] = None
                            ) -> list[Pair]:
    """Today's manual practice: the oldest request (earliest `referred_on`, then ref) takes the first
    compatible free offer (earliest `available_from`, then ref), and so on down the list."""
    by_age = sorted(requests, key=lambda r: (r.referred_on, r.ref))
    by_availability = sorted(offers, key=lambda o: (o.available_from, o.ref))
    return _serve_in_order(ctx, by_age, by_availability, balances, compatible)


def first_offered(ctx: MatchContext, requests: list[Request], offers: list[Offer],
                  balances: dict[str, int], compatible: Optional[Compatible] = None) -> list[Pair]:
    """Today's practice in the schemes: no round, no optimisation. Homes are taken in the order
    they were offered (earliest `available_from`, then ref); a home a member offered for a
    household goes to that household when it suits it, any other to the household circulated
    longest (earliest `referred_on`, then ref) that it suits. The first suitable home offered
    wins; the ledger plays no part in the order (rule 9 is still kept, as every hard rule)."""
    scheme = ctx.scheme
    by_age = sorted(requests, key=lambda r: (r.referred_on, r.ref))
    position = {r.ref: k for k, r in enumerate(by_age)}
    suits = compatible if compatible is not None else {
        r.ref: {o.ref for o in offers if is_eligible(ctx, r, o)} for r in requests}
    suited_by: dict[str, list[int]] = {}  # offer ref -> positions of the households it suits
    for r, refs in suits.items():
        if r in position:
            for ref in refs:
                suited_by.setdefault(ref, []).append(position[r])
    taken: set[str] = set()
    rule9 = LimitCheck(Balances(dict(balances)), scheme.debt_limit, scheme.gives_count_from)
    chosen: list[Pair] = []
    for offer in sorted(offers, key=lambda o: (o.available_from, o.ref)):
        candidates = sorted(k for k in suited_by.get(offer.ref, ()) if by_age[k].ref not in taken)
        wanted = offer.for_request if offer.for_request in position else None
        if wanted is not None and position[wanted] in candidates:
            candidates.remove(position[wanted])
            candidates.insert(0, position[wanted])
        for k in candidates:
            request = by_age[k]
            move = (request.provider, offer.provider, None)
            if not rule9.fits(move):
                continue
            taken.add(request.ref)
            rule9.add(move)
            chosen.append((request.ref, offer.ref))
            break
    return chosen


def random_order(ctx: MatchContext, requests: list[Request], offers: list[Offer],
                 balances: dict[str, int], rng: random.Random,
                 compatible: Optional[Compatible] = None) -> list[Pair]:
    """Requests served in a random order, each taking the first compatible free offer in a random
    order of the offers. Deterministic for the state of `rng` (inputs are sorted by ref first, so
    the caller's list order does not matter)."""
    shuffled_requests = sorted(requests, key=lambda r: r.ref)
    shuffled_offers = sorted(offers, key=lambda o: o.ref)
    rng.shuffle(shuffled_requests)
    rng.shuffle(shuffled_offers)
    return _serve_in_order(ctx, shuffled_requests, shuffled_offers, balances, compatible)


def compatible_offers(ctx: MatchContext, requests: list[Request], offers: list[Offer],
                      balances: dict[str, int]) -> dict[str, set[str]]:
    """Each request's eligible offers by every pair rule, judged on NumPy columns by the engine's
    translation layer (`matching.instance.build_instance`): the same rules as `is_eligible`."""
    inst = build_instance(ctx, requests, offers, balances)
    out: dict[str, set[str]] = {}
    for i, j in zip(inst.pair_request.tolist(), inst.pair_offer.tolist()):
        out.setdefault(inst.requests[i].ref, set()).add(inst.offers[j].ref)
    return out


def _serve_in_order(ctx: MatchContext, requests: list[Request], offers: list[Offer],
                    balances: dict[str, int], compatible: Optional[Compatible]) -> list[Pair]:
    scheme = ctx.scheme
    rank = {o.ref: k for k, o in enumerate(offers)}
    taken: set[str] = set()
    rule9 = LimitCheck(Balances(dict(balances)), scheme.debt_limit, scheme.gives_count_from)  # the round so far
    chosen: list[Pair] = []
    for request in requests:
        landlord = request.provider
        offer = _first_free(ctx, request, offers, rank, taken, compatible)
        if offer is None:
            continue
        # Rule 9 under the scheme's rule, over the whole round so far.
        move = (landlord, offer.provider, None)
        if not rule9.fits(move):
            continue
        taken.add(offer.ref)
        rule9.add(move)
        chosen.append((request.ref, offer.ref))
    return chosen


def _first_free(ctx: MatchContext, request: Request, offers: list[Offer], rank: dict[str, int],
                taken: set[str], compatible: Optional[Compatible]) -> Optional[Offer]:
    if compatible is None:
        return next((o for o in offers if o.ref not in taken and is_eligible(ctx, request, o)), None)
    candidates = [rank[ref] for ref in compatible.get(request.ref, ()) if ref in rank and ref not in taken]
    return offers[min(candidates)] if candidates else None
