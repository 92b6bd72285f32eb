"""Rule 9 per bedroom band (`fairness.band_max_debt`): the CP-SAT path, its explanations, its
check against a brute force, and the close holding back moves that would pass a band limit."""
from __future__ import annotations

import dataclasses
from collections import Counter

from hypothesis import HealthCheck, given, settings

from matching.engine import solve_round
from reciprocal.ledger import balances
from reciprocal.lifecycle.run import run_round
from reciprocal.intake.pot import add_records
from reciprocal.lifecycle.views import round_view
from tests.conftest import ROUND_DAY, make_offer, make_request
from tests.moves import refuse, sign_live
from tests import oracle
from tests.oracle import brute_force
from tests.strategies import SCHEME, balances_st, round_st


def banded(scheme, band_max_debt: int = 0, max_debt: int = 5):
    fairness = scheme.config.fairness.model_copy(update={"band_max_debt": band_max_debt,
                                                         "max_debt": max_debt})
    providers = {p: c.model_copy(update={"max_debt": None}) for p, c in scheme.providers.items()}
    return dataclasses.replace(scheme, config=scheme.config.model_copy(update={"fairness": fairness}),
                               providers=providers)


def test_band_limit_blocks_a_move_the_total_limit_allows(scheme):
    limited = banded(scheme, band_max_debt=0)
    result = solve_round(limited, ROUND_DAY, [make_request()], [make_offer()], {})
    assert result.proposals == []
    assert result.unmatched[0]["reason_code"] == "provider_at_debt_limit"
    assert "band" in result.unmatched[0]["reason"]
    assert all(o["status"] == "OPTIMAL" for o in result.objectives)
    # Without the band limit the same move is proposed (max_debt 5 in total).
    free = banded(scheme, band_max_debt=None)
    assert len(solve_round(free, ROUND_DAY, [make_request()], [make_offer()], {}).proposals) == 1


def test_a_band_limit_of_zero_places_no_tenant_until_a_home_given_is_signed(scheme):
    """Rule 9 at every moment, per band: with band_max_debt 0 an exchange in one round would take
    whichever side signs first past the limit, so neither is proposed; a member owed a home in the
    band has room for one of its tenants."""
    limited = banded(scheme, band_max_debt=0)
    requests = [make_request(ref="RQ-F"),  # Fenland's household
                make_request(ref="RQ-C", provider="cambridge_city", avoid_areas=("cambridge",))]
    offers = [make_offer(ref="OF-C"),  # Cambridge City's 2-bed in Cambridge
              make_offer(ref="OF-F", provider="fenland", area="fenland")]
    assert solve_round(limited, ROUND_DAY, requests, offers, {}).proposals == []
    owed = solve_round(limited, ROUND_DAY, requests, offers, {"fenland": 1},
                       band_balances={"fenland": {"2 bed": 1}})
    assert {(p["request"], p["offer"]) for p in owed.proposals} == {("RQ-F", "OF-C")}


def band_feasible(matching, requests, offers, scheme, limit):
    """Rule 9 per band at every moment: the tenants a member has placed in a band (homes it gives
    count once signed) within the band limit, from band balances of 0."""
    received = Counter()
    for i, j in matching:
        received[(requests[i].provider, scheme.band_of(offers[j].bedrooms))] += 1
    return all(n <= limit for n in received.values())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=5, max_offers=5), balances=balances_st())
def test_band_limited_rounds_match_brute_force(round_, balances):
    requests, offers = round_
    scheme = banded(SCHEME, band_max_debt=0, max_debt=2)
    result = solve_round(scheme, ROUND_DAY, requests, offers, balances)
    original = oracle.respects_debt_limit
    try:
        oracle.respects_debt_limit = lambda m, rq, of, bal, sc=scheme: (
            original(m, rq, of, bal, sc) and band_feasible(m, rq, of, sc, 0))
        optimum, _ = brute_force(scheme, ROUND_DAY, requests, offers, balances)
    finally:
        oracle.respects_debt_limit = original
    got = {o["name"]: o["value"] for o in result.objectives}
    assert got == optimum
    assert all(o["value"] == o["bound"] for o in result.objectives)


def test_band_limits_hold_whatever_order_an_exchange_is_signed_in(db, scheme):
    limited = banded(scheme, band_max_debt=1)
    add_records(db, [make_request(ref="RQ-F"),
                     make_request(ref="RQ-C", provider="cambridge_city", avoid_areas=("cambridge",))])
    add_records(db, [make_offer(ref="OF-C"), make_offer(ref="OF-F", provider="fenland", area="fenland")])
    round_id = run_round(db, limited, ROUND_DAY).round_id
    assert {p["request"] for p in round_view(db, round_id)["proposals"]} == {"RQ-F", "RQ-C"}
    # Fenland's household signs first; Cambridge City's then refuses Fenland's home.
    sign_live(db, limited, ROUND_DAY, skip={"RQ-C"})
    with db.reading() as session:
        assert balances(session).by_band["fenland"]["2 bed"] == -1  # at the band limit, not past it
    (other,) = [p for p in round_view(db, round_id)["proposals"] if p["request"] == "RQ-C"]
    refuse(db, limited, other["id"], ROUND_DAY, resolve=False)
    with db.reading() as session:
        by_band = balances(session).by_band
    assert by_band["fenland"]["2 bed"] == -1 and by_band["cambridge_city"]["2 bed"] == 1
