"""Sweep of the debt limit (the txmatching check): for max_debt 0..3, over many rounds, no member's
balance ever goes below -max_debt, and where demand pushes a member there, it reaches the limit."""
from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest

from matching.engine import solve_round
from reciprocal.domain import Offer, PropertyType, Request, RequestKind, Risk
from tests.conftest import ROUND_DAY


def with_max_debt(scheme, max_debt: int):
    fairness = scheme.config.fairness.model_copy(update={"max_debt": max_debt})
    providers = {p: c.model_copy(update={"max_debt": None}) for p, c in scheme.providers.items()}
    return dataclasses.replace(scheme, config=scheme.config.model_copy(update={"fairness": fairness}),
                               providers=providers)


def week(rng: random.Random, scheme, n: int, hungry: str):
    """One week's arrivals: a third of requests from one `hungry` member that offers nothing."""
    providers = sorted(scheme.providers)
    requests, offers = [], []
    for k in range(n):
        provider = hungry if k % 3 == 0 else rng.choice(providers)
        requests.append(Request(ref=f"RQ-{rng.getrandbits(40):x}", provider=provider,
                                kind=RequestKind.survivor, current_tenancy="secure",
                                bedrooms_needed=rng.randint(1, 2), risk=rng.choice(list(Risk)),
                                referred_on=ROUND_DAY - timedelta(days=rng.randint(0, 200))))
    for _ in range(n):
        provider = rng.choice([p for p in providers if p != hungry])
        area = rng.choice(scheme.providers[provider].areas)
        offers.append(Offer(ref=f"OF-{rng.getrandbits(40):x}", provider=provider, area=area,
                            bedrooms=rng.randint(1, 3), property_type=PropertyType.flat,
                            available_from=ROUND_DAY))
    return requests, offers


@pytest.mark.parametrize("max_debt", [0, 1, 2, 3])
def test_no_balance_below_the_limit_and_the_limit_is_reached(scheme, max_debt):
    limited = with_max_debt(scheme, max_debt)
    rng = random.Random(max_debt)
    hungry = "fenland"
    balances = {p: 0 for p in limited.providers}
    lowest = 0
    waiting: list[Request] = []
    for _ in range(8):
        requests, offers = week(rng, limited, 12, hungry)
        waiting += requests
        result = solve_round(limited, ROUND_DAY, waiting, offers, balances)
        for p in result.proposals:
            balances[p["to_provider"]] += 1
            balances[p["from_provider"]] -= 1
        moved = {p["request"] for p in result.proposals}
        waiting = [r for r in waiting if r.ref not in moved]
        assert sum(balances.values()) == 0
        assert min(balances.values()) >= -max_debt, balances
        lowest = min(lowest, balances[hungry])
        # Every unmatched household of the hungry member is explained by the debt limit once it
        # is reached (its compatible homes exist; it may not take more).
        if balances[hungry] == -max_debt:
            reasons = {u["reason_code"] for u in result.unmatched
                       if u["request"] in {r.ref for r in waiting if r.provider == hungry}}
            assert reasons <= {"provider_at_debt_limit", "no_compatible_offer"}
    # Demand from a member that gives nothing pushes it to exactly its limit, never past it.
    assert lowest == -max_debt
