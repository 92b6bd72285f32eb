"""Rule 9 per bedroom band (`fairness.band_max_debt`): the CP-SAT path, its explanations, its
check against a brute force, and the close holding back moves that would pass a band limit."""
from __future__ import annotations

import dataclasses
from collections import Counter

from hypothesis import HealthCheck, given, settings
from sqlmodel import select

from matching.engine import solve_round
from reciprocal.lifecycle.run import decide, run_round
from reciprocal.intake.pot import add_records
from reciprocal.lifecycle.rounds import close_round
from reciprocal.lifecycle.views import round_view
from reciprocal.storage import ProposalRow
from tests.conftest import ROUND_DAY, make_offer, make_request
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


def test_an_exchange_within_a_band_is_allowed(scheme):
    limited = banded(scheme, band_max_debt=0)
    requests = [make_request(ref="RQ-F"),  # Fenland's household
                make_request(ref="RQ-C", provider="cambridge_city", avoid_areas=("cambridge",))]
    offers = [make_offer(ref="OF-C"),  # Cambridge City's 2-bed in Cambridge
              make_offer(ref="OF-F", provider="fenland", area="fenland")]
    result = solve_round(limited, ROUND_DAY, requests, offers, {})
    assert {(p["request"], p["offer"]) for p in result.proposals} == {("RQ-F", "OF-C"), ("RQ-C", "OF-F")}


def band_feasible(matching, requests, offers, scheme, limit):
    net = Counter()
    for i, j in matching:
        band = scheme.band_of(offers[j].bedrooms)
        net[(requests[i].provider, band)] += 1
        net[(offers[j].provider, band)] -= 1
    return all(n <= limit for n in net.values())


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


def test_close_holds_back_a_move_past_a_band_limit(db, scheme):
    limited = banded(scheme, band_max_debt=0)
    add_records(db, [make_request(ref="RQ-F"),
                     make_request(ref="RQ-C", provider="cambridge_city", avoid_areas=("cambridge",))])
    add_records(db, [make_offer(ref="OF-C"), make_offer(ref="OF-F", provider="fenland", area="fenland")])
    round_id = run_round(db, limited, ROUND_DAY)
    for p in round_view(db, round_id)["proposals"]:
        # Cambridge City's household declines Fenland's home: Fenland would then only receive.
        decide(db, limited, round_id, p["id"], p["request"] == "RQ-F",
               None if p["request"] == "RQ-F" else "declined", resolve=False)
    result = close_round(db, limited, round_id)
    assert result.moves == []
    assert [h["request"] for h in result.held_back] == ["RQ-F"]
    with db.reading() as session:
        statuses = {p.request_ref: p.status for p in session.exec(select(ProposalRow)).all()}
    assert statuses == {"RQ-F": "cancelled", "RQ-C": "declined"}
