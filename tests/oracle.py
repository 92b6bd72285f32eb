"""The independent brute force the round engine is checked against: every matching of eligible
pairs, filtered by one proposal each and the debt limit (rule 9 as the brief states it), and the
lexicographic optimum computed level by level with objective values computed here, independently
of `matching.objectives`. Eligibility reuses `matching.rules.is_eligible` (each rule is tested
alone in tests/rules/test_rules.py).

`brute_force` looks `respects_debt_limit` up in this module when it runs, so a test may swap it
for a stricter one (tests/rules/test_band_limits.py does, for the per-band limits)."""
from __future__ import annotations

from collections import Counter
from datetime import date

from matching.rules import MatchContext, is_eligible
from reciprocal.domain import Risk
from tests.strategies import PROVIDERS, SCHEME


def headroom(balances: dict[str, int], provider: str, scheme=SCHEME) -> int:
    """Rule 9 as the brief states it: how many of a provider's tenants may be placed this round."""
    own = scheme.providers[provider].max_debt
    max_debt = scheme.config.fairness.max_debt if own is None else own
    return max(0, balances.get(provider, 0) + max_debt)


def respects_debt_limit(matching, requests, offers, balances, scheme=SCHEME) -> bool:
    """Rule 9 at every moment, restated plainly: the tenants a provider has placed in the round
    within its headroom; a home it gives counts once signed, so it makes no room in advance."""
    placed = Counter(requests[i].provider for i, _ in matching)
    return all(n <= headroom(balances, p, scheme) for p, n in placed.items())


def measure(name: str, matching, requests, offers, balances, on: date) -> int:
    if name == "high_risk_moved":
        return sum(requests[i].risk == Risk.high for i, _ in matching)
    if name == "households_moved":
        return len(matching)
    if name == "longest_waiting":
        return sum(max(0, (on - requests[i].referred_on).days) for i, _ in matching)
    if name == "ledger_imbalance":
        final = {p: balances.get(p, 0) for p in PROVIDERS}
        for i, j in matching:
            final[offers[j].provider] += 1
            final[requests[i].provider] -= 1
        return sum(abs(b) for b in final.values())
    if name == "preference_fit":
        return sum((offers[j].area in requests[i].preferred_areas)
                   + (offers[j].bedrooms == requests[i].bedrooms_needed) for i, j in matching)
    raise AssertionError(f"unknown objective {name}")


SENSE = {"high_risk_moved": max, "households_moved": max, "longest_waiting": max,
         "ledger_imbalance": min, "preference_fit": max}


def all_matchings(n_requests: int, eligible: dict[int, list[int]]):
    """Every set of (request, offer) pairs with at most one pair per request and per offer."""
    chosen: list[tuple[int, int]] = []
    used: set[int] = set()

    def extend(i: int):
        if i == n_requests:
            yield list(chosen)
            return
        yield from extend(i + 1)  # request i unmatched
        for j in eligible.get(i, ()):
            if j not in used:
                used.add(j)
                chosen.append((i, j))
                yield from extend(i + 1)
                chosen.pop()
                used.discard(j)

    yield from extend(0)


def brute_force(scheme, on, requests, offers, balances, declined=frozenset(), must=frozenset()):
    """The lexicographic optimum, level by level: {objective name: optimal value}, over the
    matchings that hold every (request index, offer index) pair of `must`."""
    ctx = MatchContext(scheme, on, declined)
    eligible: dict[int, list[int]] = {}
    for i, r in enumerate(requests):
        for j, o in enumerate(offers):
            if is_eligible(ctx, r, o):
                eligible.setdefault(i, []).append(j)
    feasible = [m for m in all_matchings(len(requests), eligible)
                if respects_debt_limit(m, requests, offers, balances, scheme) and must <= set(m)]
    assert feasible  # the empty matching always is, and the pins were chosen feasible
    optimum: dict[str, int] = {}
    candidates = feasible
    for name in scheme.config.matching.objectives:
        scored = [(m, measure(name, m, requests, offers, balances, on)) for m in candidates]
        best = SENSE[name](v for _, v in scored)
        optimum[name] = best
        candidates = [m for m, v in scored if v == best]
    return optimum, eligible

