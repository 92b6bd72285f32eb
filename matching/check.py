"""An independent check of a finished set of proposals against every hard rule.

Runs before any proposal is stored (a last safety net: a proposal that breaks a rule is never
written) and in the tests over whole random rounds.
"""
from __future__ import annotations

from collections import Counter

from reciprocal.domain import Offer, Request

from .rules import FAIRNESS_DEBT_LIMIT, ONE_PROPOSAL_EACH, PAIR_RULES, MatchContext, debt_headroom


def violations(ctx: MatchContext, requests: list[Request], offers: list[Offer],
               balances: dict[str, int], proposals: list[tuple[str, str]],
               band_balances: dict[str, dict[str, int]] | None = None) -> list[str]:
    """Every way `proposals` (request ref, offer ref) break a hard rule; empty when none do."""
    req = {r.ref: r for r in requests}
    off = {o.ref: o for o in offers}
    out: list[str] = []
    for r_ref, o_ref in proposals:
        if r_ref not in req or o_ref not in off:
            out.append(f"{ONE_PROPOSAL_EACH}: {r_ref} -> {o_ref} is not an open request and offer")
            continue
        for rule in PAIR_RULES:
            if not rule.check(ctx, req[r_ref], off[o_ref]):
                out.append(f"{rule.name}: {r_ref} -> {o_ref}")
    for what, counts in (("request", Counter(r for r, _ in proposals)),
                         ("offer", Counter(o for _, o in proposals))):
        for ref, n in counts.items():
            if n > 1:
                out.append(f"{ONE_PROPOSAL_EACH}: {what} {ref} is in {n} proposals")
    net: Counter = Counter()
    for r_ref, o_ref in proposals:
        if r_ref in req and o_ref in off:
            net[req[r_ref].provider] += 1
            net[off[o_ref].provider] -= 1
    for provider, received in net.items():
        if provider in ctx.scheme.providers:
            limit = debt_headroom(balances.get(provider, 0), ctx.scheme.max_debt(provider))
            if received > limit:
                out.append(f"{FAIRNESS_DEBT_LIMIT}: {provider} would receive {received} net, "
                           f"headroom {limit}")
    band_limit = ctx.scheme.config.fairness.band_max_debt
    if band_limit is not None:
        by_band: Counter = Counter()
        for r_ref, o_ref in proposals:
            if r_ref in req and o_ref in off:
                band = ctx.scheme.band_of(off[o_ref].bedrooms)
                by_band[(req[r_ref].provider, band)] += 1
                by_band[(off[o_ref].provider, band)] -= 1
        for (provider, band), received in sorted(by_band.items()):
            start = (band_balances or {}).get(provider, {}).get(band, 0)
            if received > debt_headroom(start, band_limit):
                out.append(f"{FAIRNESS_DEBT_LIMIT}: {provider} would receive {received} net in band "
                           f"{band}, headroom {debt_headroom(start, band_limit)}")
    return out
