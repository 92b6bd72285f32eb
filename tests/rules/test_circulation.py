"""Circulation lists exactly the requests a member's stock could serve (SPEC section 10): any home
of that member that the pair rules make eligible lists the request, for that home's area; a listed
request has such a home in every area listed; and a member sees only what section 10 allows."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.circulation import circulation, witness_home
from matching.rules import MatchContext, is_eligible
from reciprocal.intake import pot
from reciprocal.lifecycle.circulate import circulate
from tests.conftest import DEMO_DATA, ROUND_DAY
from tests.strategies import offer_st, request_st, scheme_variant_st


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scheme=scheme_variant_st(), data=st.data())
def test_circulation_lists_exactly_what_some_home_of_the_member_could_serve(scheme, data):
    requests = [data.draw(request_st(f"RQ-{k}")) for k in range(data.draw(st.integers(1, 6)))]
    offers = [data.draw(offer_st(f"OF-{k}")) for k in range(data.draw(st.integers(0, 8)))]
    ctx = MatchContext(scheme, ROUND_DAY)
    listing = {(member, item.request.ref): item.areas
               for member, items in circulation(scheme, ROUND_DAY, requests).items() for item in items}
    for r in requests:
        for o in offers:
            # A home let on the member's own grant (circulation asks what its stock could serve).
            if o.tenancy_offered is None and o.provider in scheme.providers and is_eligible(ctx, r, o):
                assert o.area in listing.get((o.provider, r.ref), ()), (r, o)
    by_ref = {r.ref: r for r in requests}
    for (member, ref), areas in listing.items():
        r = by_ref[ref]
        assert r.provider != member
        for area in areas:
            home = witness_home(member, area, r, ROUND_DAY)
            assert area in scheme.providers[member].areas and home.provider == member
            assert is_eligible(ctx, r, home)


def test_a_member_sees_only_what_section_10_allows(db, scheme):
    pot.import_requests(db, scheme, DEMO_DATA / "requests.csv")
    coordinator = circulate(db, scheme, ROUND_DAY)
    assert coordinator["no_member_can_serve"] == ["RQ-0112"]
    balances = [m["balance"] for m in coordinator["members"]]
    assert balances == sorted(balances)  # members that owe the scheme first
    for member in scheme.providers:
        view = circulate(db, scheme, ROUND_DAY, for_provider=member)
        text = json.dumps(view)
        for hidden in ("avoid_areas", "preferred_areas", "survivor_area", "survivor_consent", "referred_on"):
            assert hidden not in text, (member, hidden)
        assert "no_member_can_serve" not in view and "members" not in view
        for r in view["member"]["requests"]:
            assert r["landlord"] != member
            assert set(r["safe_areas"]) <= set(scheme.providers[member].areas)
