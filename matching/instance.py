"""The translation layer: domain objects in, solver input out.

`build_instance` turns a round's open requests and offers, the ledger's balances and the scheme's
terms into index maps, the eligible pairs (every pair that passed every pair rule) and per-provider
debt headroom. It also keeps, per request, how many offers each rule excluded, which is what
"why not matched" is read from. The model never sees anything but a `MatchingInstance`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from reciprocal.config import Scheme
from reciprocal.domain import Offer, Request, Risk

from .rules import PAIR_RULES, MatchContext, debt_headroom


@dataclass
class MatchingInstance:
    ctx: MatchContext
    requests: list[Request]
    offers: list[Offer]
    pairs: list[tuple[int, int]]  # (request index, offer index), all eligible
    balances: dict[str, int]  # current ledger balance per provider
    headroom: dict[str, int]  # rule 9: net homes each provider's tenants may still receive
    excluded: list[Counter] = field(default_factory=list)  # per request: rule name -> offers excluded

    @property
    def objective_names(self) -> list[str]:
        return self.scheme.config.matching.objectives

    @property
    def scheme(self) -> Scheme:
        return self.ctx.scheme

    @property
    def providers(self) -> list[str]:
        return sorted(self.scheme.providers)

    def is_high_risk(self, i: int) -> bool:
        return self.requests[i].risk == Risk.high

    def waiting_days(self, i: int) -> int:
        return self.requests[i].waiting_days(self.ctx.on)

    def preference_score(self, i: int, j: int) -> int:
        """1 for a home in a preferred area, 1 for exactly the bedrooms needed."""
        r, o = self.requests[i], self.offers[j]
        return int(o.area in r.preferred_areas) + int(o.bedrooms == r.bedrooms_needed)


def build_instance(ctx: MatchContext, requests: list[Request], offers: list[Offer],
                   balances: dict[str, int]) -> MatchingInstance:
    """Evaluate every pair rule on every (request, offer) pair.

    `balances` are the ledger's balances plus the effect of proposals already live in this round
    (for a re-solve after a decline), so the debt limit holds over the whole round."""
    scheme = ctx.scheme
    requests = sorted(requests, key=lambda r: r.ref)
    offers = sorted(offers, key=lambda o: o.ref)
    pairs: list[tuple[int, int]] = []
    excluded: list[Counter] = []
    for i, request in enumerate(requests):
        counts: Counter = Counter()
        for j, offer in enumerate(offers):
            ok = True
            for rule in PAIR_RULES:
                if not rule.check(ctx, request, offer):
                    counts[rule.name] += 1
                    ok = False
            if ok:
                pairs.append((i, j))
        excluded.append(counts)
    headroom = {p: debt_headroom(balances.get(p, 0), scheme.max_debt(p)) for p in scheme.providers}
    return MatchingInstance(ctx, requests, offers, pairs, dict(balances), headroom, excluded)
