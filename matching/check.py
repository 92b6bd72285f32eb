"""An independent check of a finished set of proposals against every hard rule.

Runs before any proposal is stored (a last safety net: a proposal that breaks a rule is never
written) and in the tests over whole random rounds.
"""
from __future__ import annotations

from collections import Counter

from reciprocal.domain import Offer, Request

from matching.rules import FAIRNESS_DEBT_LIMIT, ONE_PROPOSAL_EACH, PAIR_RULES, MatchContext
from reciprocal.domain import Balances, ledger_effect, limit_breaches


def violations(ctx: MatchContext, requests: list[Request], offers: list[Offer],
               balances: dict[str, int], proposals: list[tuple[str, str]],
               band_balances: dict[str, dict[str, int]] | None = None) -> list[str]:
    """Every way `proposals` (request ref, offer ref) break a hard rule; empty when none do."""
    req = {r.ref: r for r in requests}
    off = {o.ref: o for o in offers}
    # Each proposal's request and offer, looked up once (None: not open); then each rule judges
    # every proposal in turn, and what fails is said proposal by proposal, rule by rule.
    pairs = [(req.get(r_ref), off.get(o_ref)) for r_ref, o_ref in proposals]
    failed = [(k, -1) for k, (q, f) in enumerate(pairs) if q is None or f is None]
    judged = [(k, q, f) for k, (q, f) in enumerate(pairs) if q is not None and f is not None]
    for n, rule in enumerate(PAIR_RULES):
        check = rule.check
        failed += [(k, n) for k, q, f in judged if not check(ctx, q, f)]
    out: list[str] = []
    for k, n in sorted(failed):
        r_ref, o_ref = proposals[k]
        out.append(f"{ONE_PROPOSAL_EACH}: {r_ref} -> {o_ref} is not an open request and offer" if n < 0
                   else f"{PAIR_RULES[n].name}: {r_ref} -> {o_ref}")
    for what, counts in (("request", Counter(r for r, _ in proposals)),
                         ("offer", Counter(o for _, o in proposals))):
        for ref, n in counts.items():
            if n > 1:
                out.append(f"{ONE_PROPOSAL_EACH}: {what} {ref} is in {n} proposals")
    start = Balances(dict(balances), band_balances or {})
    # Rule 9 when proposals are made: `reciprocal.domain.limit_breaches` under the scheme's rule.
    # A move's bedroom band is named only when the scheme limits bands: otherwise no band account
    # has a limit (`Scheme.debt_limit` is None for it), so naming the band found nothing more and
    # doubled the accounts counted (a national round's 12,909 moves, 0.15 s).
    banded = ctx.scheme.config.fairness.band_max_debt is not None
    made = [(q.provider, f.provider, ctx.scheme.band_of(f.bedrooms) if banded else None) for _, q, f in judged]
    over = limit_breaches(start, made, ctx.scheme.debt_limit, ctx.scheme.gives_count_from)
    # The net change is said only of an account in breach, so it is counted only when there is one.
    effect = ledger_effect(made) if over else {}
    for account in over:
        where = "" if account.band is None else f" in band {account.band}"
        out.append(f"{FAIRNESS_DEBT_LIMIT}: {account.provider}{where} would be placed past its limit "
                   f"(counted balance {start.get(account):+d}, net change {effect[account]:+d}, max_debt "
                   f"{ctx.scheme.debt_limit(account)}, gives counted from {ctx.scheme.gives_count_from})")
    return out
