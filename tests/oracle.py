"""The independent brute force the round engine is checked against: every matching of eligible
pairs, filtered by one proposal each and the debt limit (rule 9 as the brief states it), and the
lexicographic optimum computed level by level with objective values computed here, independently
of `matching.objectives`. Eligibility reuses `matching.rules.is_eligible` (each rule is tested
alone in tests/rules/test_rules.py).

Rule 9 (`respects_debt_limit`) is restated here from the spec, for totals and bedroom bands and
every `fairness.gives_count_from`, without `reciprocal.domain`'s functions."""
from __future__ import annotations

from collections import Counter
from datetime import date

from matching.rules import MatchContext, is_eligible
from reciprocal.domain import Risk
from tests.strategies import PROVIDERS, SCHEME


def respects_debt_limit(matching, requests, offers, balances, scheme=SCHEME, band_balances=None) -> bool:
    """Rule 9 restated plainly from the spec (section 5), for the proposals a round makes: for
    every account (a member's total; each of its bedroom bands when the scheme sets
    `band_max_debt`) with a tenant placed in the round, the account is not already past its limit,
    and its balance once the round's placements are counted, and the homes it gives in the round
    when the scheme counts gives from `proposed` (they are new proposals), is at least -limit."""
    band_limit = scheme.config.fairness.band_max_debt
    gives_count = scheme.config.fairness.gives_count_from == "proposed"
    placed, given = Counter(), Counter()
    for i, j in matching:
        accounts = [None] if band_limit is None else [None, scheme.band_of(offers[j].bedrooms)]
        for band in accounts:
            placed[(requests[i].provider, band)] += 1
            given[(offers[j].provider, band)] += 1
    for (provider, band), n in placed.items():
        if band is None:
            own = scheme.providers[provider].max_debt
            limit = scheme.config.fairness.max_debt if own is None else own
            start = balances.get(provider, 0)
        else:
            limit, start = band_limit, (band_balances or {}).get(provider, {}).get(band, 0)
        if start < -limit:
            return False  # past its limit: no tenant placed until it is back within
        if start - n + (given[(provider, band)] if gives_count else 0) < -limit:
            return False
    return True


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


def brute_force(scheme, on, requests, offers, balances, declined=frozenset(), must=frozenset(),
                band_balances=None):
    """The lexicographic optimum, level by level: {objective name: optimal value}, over the
    matchings that hold every (request index, offer index) pair of `must`."""
    ctx = MatchContext(scheme, on, declined)
    eligible: dict[int, list[int]] = {}
    for i, r in enumerate(requests):
        for j, o in enumerate(offers):
            if is_eligible(ctx, r, o):
                eligible.setdefault(i, []).append(j)
    feasible = [m for m in all_matchings(len(requests), eligible)
                if respects_debt_limit(m, requests, offers, balances, scheme, band_balances) and must <= set(m)]
    assert feasible  # the empty matching always is, and the pins were chosen feasible
    optimum: dict[str, int] = {}
    candidates = feasible
    for name in scheme.config.matching.objectives:
        scored = [(m, measure(name, m, requests, offers, balances, on)) for m in candidates]
        best = SENSE[name](v for _, v in scored)
        optimum[name] = best
        candidates = [m for m, v in scored if v == best]
    return optimum, eligible



GIVE_STAGES = {"proposed": ("proposed", "nomination_confirmed", "viewing", "accepted"),
               "nomination_confirmed": ("nomination_confirmed", "viewing", "accepted"),
               "accepted": ("accepted",), "signed": ()}


def counted_totals(ledger: dict[str, int], live, scheme=SCHEME) -> dict[str, int]:
    """Rule 9's balance per member restated from the spec: the ledger's, less one for each live
    proposal placing one of its tenants, plus one for each live proposal giving one of its homes
    at a stage the scheme counts gives from. `live`: (from_provider, to_provider, stage)."""
    out = Counter(ledger)
    counted = GIVE_STAGES[scheme.config.fairness.gives_count_from]
    for from_provider, to_provider, stage in live:
        out[from_provider] -= 1
        if stage in counted:
            out[to_provider] += 1
    return dict(out)


def placement_room(matching, requests, offers, balances, provider, scheme=SCHEME) -> int:
    """How many more of `provider`'s tenants rule 9 lets this round place on top of `matching`
    (total account only; negative when none, the member being past its limit)."""
    own = scheme.providers[provider].max_debt
    limit = scheme.config.fairness.max_debt if own is None else own
    start = balances.get(provider, 0)
    if start < -limit:
        return -1
    placed = sum(requests[i].provider == provider for i, _ in matching)
    given = sum(offers[j].provider == provider for _, j in matching)
    return start + limit - placed + (given if scheme.config.fairness.gives_count_from == "proposed" else 0)
