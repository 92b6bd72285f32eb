"""Each hard pair rule of SPEC section 5, tested alone on tiny hand-built pairs.

The base pair (`make_request()` -> `make_offer()`: a Fenland survivor on a secure tenancy needing
2 bedrooms, offered a 2-bed Cambridge City flat in Cambridge available before the round) passes
every rule. Each failing case changes that pair so that it breaks exactly ONE rule, and asserts
`failed_rules == [that rule]`, so a rule that over- or under-excludes is caught.

Rules 9 (fairness_debt_limit) and 10 (one proposal per request and per offer) are not pair rules:
`debt_headroom` is tested directly and the model's enforcement through `solve_round`.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from matching.engine import solve_round
from matching.rules import PAIR_RULES, RULES_BY_NAME, MatchContext, failed_rules, is_eligible
from reciprocal.config import Scheme
from reciprocal.domain import RequestKind, Risk, debt_headroom

from tests.conftest import ROUND_DAY, make_offer, make_request
from tests.strategies import with_gives

ALL_RULE_NAMES = ["cross_provider", "safety_buffer", "size", "access", "security_of_tenure",
                  "perpetrator_opt_in", "offer_restrictions", "providers_active",
                  "perpetrator_safety", "availability", "not_declined", "reach", "risk_gate"]


# -- helpers -------------------------------------------------------------------------------------

def ctx_for(scheme: Scheme, on: date = ROUND_DAY, declined=frozenset()) -> MatchContext:
    return MatchContext(scheme, on, frozenset(declined))


def with_provider(scheme: Scheme, provider_id: str, **update) -> Scheme:
    providers = dict(scheme.providers)
    providers[provider_id] = providers[provider_id].model_copy(update=update)
    return replace(scheme, providers=providers)


def with_matching(scheme: Scheme, **update) -> Scheme:
    matching = scheme.config.matching.model_copy(update=update)
    return replace(scheme, config=scheme.config.model_copy(update={"matching": matching}))


def with_priority(scheme: Scheme, **update) -> Scheme:
    priority = scheme.config.priority.model_copy(update=update)
    return replace(scheme, config=scheme.config.model_copy(update={"priority": priority}))


def perpetrator(**overrides):
    """A Fenland perpetrator whose survivor stays in Peterborough (buffer: Peterborough,
    Huntingdonshire, Fenland); consent given and a safety decision before the round."""
    base = dict(kind=RequestKind.perpetrator, survivor_area="peterborough", survivor_consent=True,
                safety_decision_on=date(2026, 11, 2))
    base.update(overrides)
    return make_request(**base)


def assert_passes(ctx, request, offer):
    assert failed_rules(ctx, request, offer) == []
    assert is_eligible(ctx, request, offer)


def assert_fails_only(ctx, request, offer, rule_name):
    assert failed_rules(ctx, request, offer) == [rule_name]
    assert not is_eligible(ctx, request, offer)
    assert not RULES_BY_NAME[rule_name].check(ctx, request, offer)


# -- the registry and the base pair ------------------------------------------------------------

def test_pair_rules_registry_is_the_tested_set():
    # A new or renamed pair rule must get its own tests here.
    assert [rule.name for rule in PAIR_RULES] == ALL_RULE_NAMES
    numbers = {rule.name: rule.spec_rule for rule in PAIR_RULES}
    assert numbers["cross_provider"] == 1 and numbers["safety_buffer"] == 2
    assert numbers["perpetrator_safety"] == 7 and numbers["not_declined"] == 10


def test_base_pair_passes_every_rule(scheme):
    assert_passes(ctx_for(scheme), make_request(), make_offer())


# -- rule 1: cross_provider ----------------------------------------------------------------------

def test_cross_provider_excludes_own_landlords_home(scheme):
    ctx = ctx_for(scheme)
    own = make_offer(provider="fenland", area="fenland")
    assert_fails_only(ctx, make_request(), own, "cross_provider")


def test_cross_provider_allows_another_members_home_in_the_same_area(scheme):
    # Same district as the household's landlord, but another member's home: allowed.
    other = make_offer(provider="fenlight_homes", area="fenland")
    assert_passes(ctx_for(scheme), make_request(), other)


# -- rule 2: safety_buffer ----------------------------------------------------------------------

def test_safety_buffer_excludes_the_avoided_area_itself(scheme):
    assert_fails_only(ctx_for(scheme), make_request(avoid_areas=("cambridge",)), make_offer(),
                      "safety_buffer")


def test_safety_buffer_excludes_neighbour_of_avoided_area(scheme):
    # South Cambridgeshire borders Cambridge: with safety_buffer_hops 1, Cambridge is unsafe.
    assert_fails_only(ctx_for(scheme), make_request(avoid_areas=("south_cambridgeshire",)),
                      make_offer(), "safety_buffer")


def test_safety_buffer_allows_area_two_hops_from_avoided_area(scheme):
    # East Cambridgeshire -> South Cambridgeshire -> Cambridge: two hops, outside the buffer.
    assert_passes(ctx_for(scheme), make_request(avoid_areas=("east_cambridgeshire",)), make_offer())
    assert_passes(ctx_for(scheme), make_request(avoid_areas=("huntingdonshire",)), make_offer())


def test_safety_buffer_any_of_several_avoided_areas_excludes(scheme):
    request = make_request(avoid_areas=("peterborough", "south_cambridgeshire"))
    assert_fails_only(ctx_for(scheme), request, make_offer(), "safety_buffer")


# -- rule 3: size -------------------------------------------------------------------------------

def test_size_excludes_fewer_bedrooms_than_needed(scheme):
    assert_fails_only(ctx_for(scheme), make_request(bedrooms_needed=3), make_offer(bedrooms=2), "size")


def test_size_allows_default_max_of_need_plus_one(scheme):
    assert_passes(ctx_for(scheme), make_request(bedrooms_needed=2), make_offer(bedrooms=3))
    assert_passes(ctx_for(scheme), make_request(bedrooms_needed=2), make_offer(bedrooms=2))


def test_size_excludes_above_default_max_of_need_plus_one(scheme):
    assert scheme.config.matching.max_bedrooms_over_need == 1
    assert_fails_only(ctx_for(scheme), make_request(bedrooms_needed=2), make_offer(bedrooms=4), "size")


def test_size_explicit_max_bedrooms_overrides_default(scheme):
    ctx = ctx_for(scheme)
    # Above the default but within the household's own maximum: allowed.
    assert_passes(ctx, make_request(bedrooms_needed=2, max_bedrooms=4), make_offer(bedrooms=4))
    assert_fails_only(ctx, make_request(bedrooms_needed=2, max_bedrooms=4), make_offer(bedrooms=5),
                      "size")
    # Below the default: an explicit maximum of exactly the need excludes need + 1.
    assert_passes(ctx, make_request(bedrooms_needed=2, max_bedrooms=2), make_offer(bedrooms=2))
    assert_fails_only(ctx, make_request(bedrooms_needed=2, max_bedrooms=2), make_offer(bedrooms=3),
                      "size")


# -- rule 4: access -----------------------------------------------------------------------------

def test_access_step_free_need_excludes_home_with_steps(scheme):
    assert_fails_only(ctx_for(scheme), make_request(needs_step_free=True), make_offer(), "access")


def test_access_step_free_need_met_by_step_free_home(scheme):
    assert_passes(ctx_for(scheme), make_request(needs_step_free=True), make_offer(step_free=True))


def test_access_wheelchair_need_excludes_merely_step_free_home(scheme):
    assert_fails_only(ctx_for(scheme), make_request(needs_wheelchair=True), make_offer(step_free=True),
                      "access")


def test_access_wheelchair_need_met_by_wheelchair_accessible_home(scheme):
    ctx = ctx_for(scheme)
    assert_passes(ctx, make_request(needs_wheelchair=True),
                  make_offer(wheelchair_accessible=True, step_free=True))
    assert_passes(ctx, make_request(needs_wheelchair=True, needs_step_free=True),
                  make_offer(wheelchair_accessible=True))


def test_access_wheelchair_accessible_counts_as_step_free(scheme):
    assert_passes(ctx_for(scheme), make_request(needs_step_free=True),
                  make_offer(wheelchair_accessible=True, step_free=False))


def test_access_no_needs_accepts_any_home(scheme):
    assert_passes(ctx_for(scheme), make_request(), make_offer(wheelchair_accessible=True, step_free=True))


# -- rule 5: security_of_tenure -----------------------------------------------------------------

def test_security_of_tenure_secure_tenant_to_housing_association_granting_assured(scheme):
    assert scheme.providers["granta_vale_housing"].grants["secure"] == "assured"
    offer = make_offer(provider="granta_vale_housing", area="cambridge")
    assert_passes(ctx_for(scheme), make_request(current_tenancy="secure"), offer)


def test_security_of_tenure_excludes_flexible_offer_to_secure_tenant(scheme):
    assert_fails_only(ctx_for(scheme), make_request(current_tenancy="secure"),
                      make_offer(tenancy_offered="flexible"), "security_of_tenure")


def test_security_of_tenure_explicit_tenancy_offered_overrides_grants(scheme):
    # Cambridge City grants a flexible tenant a flexible tenancy, but this offer says secure.
    ctx = ctx_for(scheme)
    assert_passes(ctx, make_request(current_tenancy="flexible"), make_offer(tenancy_offered="secure"))
    assert_fails_only(ctx, make_request(current_tenancy="flexible"),
                      make_offer(tenancy_offered="introductory"), "security_of_tenure")


def test_security_of_tenure_less_secure_tenant_may_move_up(scheme):
    ctx = ctx_for(scheme)
    assert_passes(ctx, make_request(current_tenancy="introductory"), make_offer(tenancy_offered="secure"))
    assert_passes(ctx, make_request(current_tenancy="flexible"), make_offer())  # granted flexible


def test_security_of_tenure_excludes_when_provider_has_no_grant_for_current_tenancy(scheme):
    grants = {k: v for k, v in scheme.providers["cambridge_city"].grants.items() if k != "secure"}
    no_grant = with_provider(scheme, "cambridge_city", grants=grants)
    assert_fails_only(ctx_for(no_grant), make_request(current_tenancy="secure"), make_offer(),
                      "security_of_tenure")


def test_security_of_tenure_excludes_unknown_tenancy_kinds(scheme):
    ctx = ctx_for(scheme)
    assert_fails_only(ctx, make_request(current_tenancy="licence"), make_offer(), "security_of_tenure")
    assert_fails_only(ctx, make_request(), make_offer(tenancy_offered="licence"), "security_of_tenure")


# -- rule 6: perpetrator_opt_in, offer_restrictions, providers_active -------------------------

def test_perpetrator_opt_in_excludes_landlord_that_does_not_accept_perpetrators(scheme):
    assert scheme.providers["isle_homes"].accepts_perpetrator_moves is False
    offer = make_offer(provider="isle_homes", area="east_cambridgeshire")
    assert_fails_only(ctx_for(scheme), perpetrator(), offer, "perpetrator_opt_in")


def test_perpetrator_opt_in_allows_landlord_that_accepts_perpetrators(scheme):
    assert scheme.providers["cambridge_city"].accepts_perpetrator_moves is True
    assert_passes(ctx_for(scheme), perpetrator(), make_offer())


def test_perpetrator_opt_in_does_not_apply_to_survivors(scheme):
    offer = make_offer(provider="isle_homes", area="east_cambridgeshire")
    assert_passes(ctx_for(scheme), make_request(), offer)


def test_offer_restrictions_no_perpetrator_excludes_perpetrator(scheme):
    assert_fails_only(ctx_for(scheme), perpetrator(), make_offer(restrictions=("no_perpetrator",)),
                      "offer_restrictions")


def test_offer_restrictions_no_perpetrator_allows_survivor(scheme):
    assert_passes(ctx_for(scheme), make_request(), make_offer(restrictions=("no_perpetrator",)))


def test_offer_restrictions_age_55_plus_allows_band_55_64(scheme):
    offer = make_offer(restrictions=("age_55_plus",))
    assert_passes(ctx_for(scheme), make_request(age="55-64"), offer)
    assert_passes(ctx_for(scheme), make_request(age="65+"), offer)


def test_offer_restrictions_age_55_plus_excludes_band_45_54(scheme):
    assert_fails_only(ctx_for(scheme), make_request(age="45-54"),
                      make_offer(restrictions=("age_55_plus",)), "offer_restrictions")


def test_offer_restrictions_age_55_plus_excludes_missing_age(scheme):
    assert_fails_only(ctx_for(scheme), make_request(age=None),
                      make_offer(restrictions=("age_55_plus",)), "offer_restrictions")


def test_offer_restrictions_age_65_plus(scheme):
    offer = make_offer(restrictions=("age_65_plus",))
    assert_passes(ctx_for(scheme), make_request(age="65+"), offer)
    assert_fails_only(ctx_for(scheme), make_request(age="55-64"), offer, "offer_restrictions")


def test_offer_restrictions_all_must_be_met(scheme):
    offer = make_offer(restrictions=("no_perpetrator", "age_55_plus"))
    assert_passes(ctx_for(scheme), make_request(age="55-64"), offer)
    assert_fails_only(ctx_for(scheme), perpetrator(age="55-64"), offer, "offer_restrictions")


def test_providers_active_excludes_suspended_offering_provider(scheme):
    suspended = with_provider(scheme, "cambridge_city", status="suspended")
    assert_fails_only(ctx_for(suspended), make_request(), make_offer(), "providers_active")


def test_providers_active_excludes_suspended_requesting_provider(scheme):
    suspended = with_provider(scheme, "fenland", status="suspended")
    assert_fails_only(ctx_for(suspended), make_request(), make_offer(), "providers_active")


def test_providers_active_excludes_provider_that_left_before_the_round(scheme):
    left = with_provider(scheme, "cambridge_city", left=ROUND_DAY - timedelta(days=1))
    assert_fails_only(ctx_for(left), make_request(), make_offer(), "providers_active")


def test_providers_active_allows_provider_leaving_after_the_round(scheme):
    leaving = with_provider(scheme, "cambridge_city", left=ROUND_DAY + timedelta(days=30))
    assert_passes(ctx_for(leaving), make_request(), make_offer())


def test_providers_active_excludes_provider_joining_after_the_round(scheme):
    joining = with_provider(scheme, "fenland", joined=ROUND_DAY + timedelta(days=1))
    assert_fails_only(ctx_for(joining), make_request(), make_offer(), "providers_active")


def test_providers_active_excludes_unknown_provider(scheme):
    assert_fails_only(ctx_for(scheme), make_request(provider="no_such_member"), make_offer(),
                      "providers_active")


@pytest.mark.parametrize("side", ["request", "offer"])
def test_providers_active_record_of_provider_not_in_the_scheme_is_excluded_not_a_crash(scheme, side):
    request = make_request(provider="gone_housing") if side == "request" else make_request()
    # (An unknown landlord grants nothing, so the offer states its tenancy.)
    offer = make_offer(provider="gone_housing", tenancy_offered="secure") if side == "offer" \
        else make_offer()
    assert failed_rules(ctx_for(scheme), request, offer) == ["providers_active"]
    others = [make_request(ref="RQ-2", provider="huntingdonshire")]
    result = solve_round(scheme, ROUND_DAY, [request] + others,
                         [offer, make_offer(ref="OF-2", provider="granta_vale_housing")],
                         zero_balances(scheme))
    assert ("RQ-1", "OF-1") not in pairs_of(result)
    # One usable home either way (OF-2 when OF-1's landlord is gone; either when RQ-1's is).
    assert len(result.proposals) == 1


# -- rule 7: perpetrator_safety -----------------------------------------------------------------

def test_perpetrator_safety_allows_consented_decided_move_away_from_survivor(scheme):
    assert_passes(ctx_for(scheme), perpetrator(), make_offer())
    # Two hops from Peterborough (via Huntingdonshire): outside the survivor's buffer.
    offer = make_offer(provider="south_cambridgeshire", area="south_cambridgeshire")
    assert_passes(ctx_for(scheme), perpetrator(), offer)


def test_perpetrator_safety_excludes_move_without_survivor_consent(scheme):
    assert_fails_only(ctx_for(scheme), perpetrator(survivor_consent=False), make_offer(),
                      "perpetrator_safety")


def test_perpetrator_safety_excludes_move_without_safety_decision(scheme):
    assert_fails_only(ctx_for(scheme), perpetrator(safety_decision_on=None), make_offer(),
                      "perpetrator_safety")


def test_perpetrator_safety_excludes_safety_decision_dated_after_the_round(scheme):
    assert_fails_only(ctx_for(scheme), perpetrator(safety_decision_on=ROUND_DAY + timedelta(days=1)),
                      make_offer(), "perpetrator_safety")


def test_perpetrator_safety_allows_safety_decision_on_the_round_day(scheme):
    assert_passes(ctx_for(scheme), perpetrator(safety_decision_on=ROUND_DAY), make_offer())


def test_perpetrator_safety_excludes_offer_in_survivors_area(scheme):
    offer = make_offer(provider="peterborough_city", area="peterborough")
    assert_fails_only(ctx_for(scheme), perpetrator(), offer, "perpetrator_safety")


def test_perpetrator_safety_excludes_offer_in_survivors_buffer(scheme):
    offer = make_offer(provider="huntingdonshire", area="huntingdonshire")
    assert_fails_only(ctx_for(scheme), perpetrator(), offer, "perpetrator_safety")


def test_perpetrator_safety_excludes_move_without_survivor_area(scheme):
    assert_fails_only(ctx_for(scheme), perpetrator(survivor_area=None), make_offer(),
                      "perpetrator_safety")


def test_perpetrator_safety_does_not_apply_to_survivors(scheme):
    # A survivor household needs no consent or decision; its own avoid_areas protect it.
    offer = make_offer(provider="peterborough_city", area="peterborough")
    assert_passes(ctx_for(scheme), make_request(survivor_area="peterborough"), offer)


# -- rule 8: availability -----------------------------------------------------------------------

def test_availability_excludes_offer_available_after_the_horizon(scheme):
    assert scheme.config.rounds.offer_horizon_days == 28
    late = make_offer(available_from=ROUND_DAY + timedelta(days=29))
    assert_fails_only(ctx_for(scheme), make_request(), late, "availability")


def test_availability_allows_offer_available_exactly_at_the_horizon(scheme):
    edge = make_offer(available_from=ROUND_DAY + timedelta(days=28))
    assert_passes(ctx_for(scheme), make_request(), edge)


def test_availability_allows_offer_available_already(scheme):
    assert_passes(ctx_for(scheme), make_request(), make_offer(available_from=date(2026, 1, 1)))


# -- rule 10 (pairwise half): not_declined ----------------------------------------------------

def test_not_declined_excludes_home_the_household_declined(scheme):
    ctx = ctx_for(scheme, declined={("RQ-1", "OF-1")})
    assert_fails_only(ctx, make_request(), make_offer(), "not_declined")


def test_not_declined_allows_other_homes_and_other_households(scheme):
    ctx = ctx_for(scheme, declined={("RQ-1", "OF-2"), ("RQ-2", "OF-1")})
    assert_passes(ctx, make_request(), make_offer())


# -- scheme option: reach ----------------------------------------------------------------------

def test_reach_none_allows_homes_anywhere_safe(scheme):
    assert scheme.config.matching.reach_hops is None
    assert_passes(ctx_for(scheme), make_request(preferred_areas=("peterborough",)), make_offer())


def test_reach_excludes_home_beyond_reach_of_every_preferred_area(scheme):
    # Cambridge is two hops from Huntingdonshire (via South Cambridgeshire).
    one_hop = with_matching(scheme, reach_hops=1)
    request = make_request(preferred_areas=("huntingdonshire", "peterborough"))
    assert_fails_only(ctx_for(one_hop), request, make_offer(), "reach")


def test_reach_allows_home_within_reach_of_a_preferred_area(scheme):
    ctx = ctx_for(with_matching(scheme, reach_hops=2))
    assert_passes(ctx, make_request(preferred_areas=("huntingdonshire",)), make_offer())
    ctx0 = ctx_for(with_matching(scheme, reach_hops=0))
    assert_passes(ctx0, make_request(preferred_areas=("peterborough", "cambridge")), make_offer())
    assert_fails_only(ctx0, make_request(preferred_areas=("south_cambridgeshire",)), make_offer(), "reach")


def test_reach_does_not_apply_without_preferred_areas(scheme):
    assert_passes(ctx_for(with_matching(scheme, reach_hops=0)), make_request(preferred_areas=()),
                  make_offer())


# -- scheme option: risk_gate -------------------------------------------------------------------

def test_risk_gate_none_passes_every_risk_level(scheme):
    assert scheme.config.priority.risk_gate is None
    for risk in Risk:
        assert_passes(ctx_for(scheme), make_request(risk=risk), make_offer())


def test_risk_gate_high_excludes_medium_risk(scheme):
    gated = with_priority(scheme, risk_gate=Risk.high)
    assert_fails_only(ctx_for(gated), make_request(risk=Risk.medium), make_offer(), "risk_gate")
    assert_fails_only(ctx_for(gated), make_request(risk=Risk.standard), make_offer(), "risk_gate")
    assert_passes(ctx_for(gated), make_request(risk=Risk.high), make_offer())


def test_risk_gate_medium_allows_medium_and_high_only(scheme):
    gated = with_priority(scheme, risk_gate=Risk.medium)
    assert_passes(ctx_for(gated), make_request(risk=Risk.high), make_offer())
    assert_passes(ctx_for(gated), make_request(risk=Risk.medium), make_offer())
    assert_fails_only(ctx_for(gated), make_request(risk=Risk.standard), make_offer(), "risk_gate")


# -- rule 9: debt_headroom (fairness_debt_limit) ----------------------------------------------

@pytest.mark.parametrize("balance, max_debt, headroom", [
    (0, 2, 2), (1, 2, 3), (-1, 2, 1), (-2, 2, 0), (-3, 2, 0), (-5, 2, 0), (0, 0, 0), (3, 0, 3),
    (-1, 1, 0), (-2, 3, 1),
])
def test_debt_headroom(balance, max_debt, headroom):
    assert debt_headroom(balance, max_debt) == headroom


# -- rules 9 and 10 in the model, through solve_round ------------------------------------------

def zero_balances(scheme, **overrides) -> dict[str, int]:
    out = {p: 0 for p in scheme.providers}
    out.update(overrides)
    assert sum(out.values()) == 0
    return out


def pairs_of(result) -> list[tuple[str, str]]:
    return [(p["request"], p["offer"]) for p in result.proposals]


def unmatched_codes(result) -> dict[str, str]:
    return {u["request"]: u["reason_code"] for u in result.unmatched}


def assert_levels_optimal(result):
    for level in result.objectives:
        assert level["status"] == "OPTIMAL", level
        assert level["value"] == level["bound"], level


def test_fairness_debt_limit_blocks_provider_at_its_limit(scheme):
    assert scheme.max_debt("fenland") == 2
    balances = zero_balances(scheme, fenland=-2, cambridge_city=2)
    result = solve_round(scheme, ROUND_DAY, [make_request()], [make_offer()], balances)
    assert failed_rules(ctx_for(scheme), make_request(), make_offer()) == []  # compatible
    assert result.proposals == []
    assert unmatched_codes(result) == {"RQ-1": "provider_at_debt_limit"}
    assert result.unmatched[0]["reason"]
    assert_levels_optimal(result)


def test_fairness_debt_limit_blocks_provider_past_its_limit(scheme):
    balances = zero_balances(scheme, fenland=-3, cambridge_city=3)
    result = solve_round(scheme, ROUND_DAY, [make_request()], [make_offer()], balances)
    assert result.proposals == []
    assert unmatched_codes(result) == {"RQ-1": "provider_past_debt_limit"}
    assert "past its debt limit by 1" in result.unmatched[0]["reason"]


def test_fairness_debt_limit_allows_one_below_the_limit(scheme):
    balances = zero_balances(scheme, fenland=-1, cambridge_city=1)
    result = solve_round(scheme, ROUND_DAY, [make_request()], [make_offer()], balances)
    assert pairs_of(result) == [("RQ-1", "OF-1")]


def test_fairness_debt_limit_caps_placements_within_one_round(scheme):
    # Balance -1, max_debt 2: one more tenant may be placed this round, not two.
    requests = [make_request(ref="RQ-1"), make_request(ref="RQ-2")]
    offers = [make_offer(ref="OF-1"), make_offer(ref="OF-2")]
    balances = zero_balances(scheme, fenland=-1, cambridge_city=1)
    result = solve_round(scheme, ROUND_DAY, requests, offers, balances)
    assert len(result.proposals) == 1
    (left,) = result.unmatched
    assert left["reason_code"] == "provider_at_debt_limit"


def _exchange_round(scheme, fenland_balance):
    requests = [make_request(ref="RQ-1"),  # Fenland's tenant
                make_request(ref="RQ-2", provider="cambridge_city")]
    offers = [make_offer(ref="OF-1"),  # Cambridge City's home
              make_offer(ref="OF-2", provider="fenland", area="fenland")]
    balances = zero_balances(scheme, fenland=fenland_balance, cambridge_city=-fenland_balance)
    return solve_round(scheme, ROUND_DAY, requests, offers, balances)


@pytest.mark.parametrize("gives", ["nomination_confirmed", "accepted", "signed"])
@pytest.mark.parametrize("fenland_balance", [-2, -3])
def test_fairness_debt_limit_a_home_given_makes_room_only_from_the_schemes_stage(scheme, fenland_balance, gives):
    # Fenland is at (or past) its limit and gives a home in the same round: with gives counted
    # from a later stage than proposed its own tenant still waits, because the home it gives in
    # this round does not count yet; Cambridge City's tenant takes Fenland's home.
    result = _exchange_round(with_gives(scheme, gives), fenland_balance)
    assert sorted(pairs_of(result)) == [("RQ-2", "OF-2")]
    assert unmatched_codes(result) == {"RQ-1": "provider_at_debt_limit" if fenland_balance == -2
                                       else "provider_past_debt_limit"}


def test_fairness_debt_limit_a_home_given_in_the_round_funds_a_placement_by_default(scheme):
    # The default (gives count from proposed): Fenland at its limit gives a home in this round,
    # which funds its own tenant's placement in the same round: the exchange is proposed whole.
    assert scheme.gives_count_from == "proposed"
    result = _exchange_round(scheme, -2)
    assert sorted(pairs_of(result)) == [("RQ-1", "OF-1"), ("RQ-2", "OF-2")]
    assert_levels_optimal(result)
    # Past its limit (a counted give fell through), it gives but places no tenant until back.
    result = _exchange_round(scheme, -3)
    assert sorted(pairs_of(result)) == [("RQ-2", "OF-2")]
    assert unmatched_codes(result) == {"RQ-1": "provider_past_debt_limit"}


def test_fairness_debt_limit_of_zero_lets_two_members_swap_in_one_round(scheme):
    # With max_debt 0 no exchange could ever start when gives counted only once signed.
    zero = scheme.config.fairness.model_copy(update={"max_debt": 0})
    providers = {p: c.model_copy(update={"max_debt": None}) for p, c in scheme.providers.items()}
    strict = replace(scheme, config=scheme.config.model_copy(update={"fairness": zero}), providers=providers)
    assert sorted(pairs_of(_exchange_round(strict, 0))) == [("RQ-1", "OF-1"), ("RQ-2", "OF-2")]
    assert pairs_of(_exchange_round(with_gives(strict, "signed"), 0)) == []


def test_fairness_debt_limit_uses_providers_own_max_debt(scheme):
    assert scheme.max_debt("mereside_homes") == 1
    assert scheme.max_debt("nene_bridge_homes") == 3
    requests = [make_request(ref="RQ-1", provider="mereside_homes", current_tenancy="assured"),
                make_request(ref="RQ-2", provider="nene_bridge_homes", current_tenancy="assured")]
    offers = [make_offer(ref="OF-1"), make_offer(ref="OF-2")]
    balances = zero_balances(scheme, mereside_homes=-1, nene_bridge_homes=-2, cambridge_city=3)
    result = solve_round(scheme, ROUND_DAY, requests, offers, balances)
    assert [p["request"] for p in result.proposals] == ["RQ-2"]
    assert unmatched_codes(result) == {"RQ-1": "provider_at_debt_limit"}


def test_one_proposal_each_two_requests_one_offer(scheme):
    requests = [make_request(ref="RQ-1"), make_request(ref="RQ-2", provider="huntingdonshire")]
    result = solve_round(scheme, ROUND_DAY, requests, [make_offer()], zero_balances(scheme))
    assert len(result.proposals) == 1
    (left,) = result.unmatched
    assert left["request"] != result.proposals[0]["request"]
    assert left["reason_code"] == "compatible_offers_went_to_higher_priority"
    assert left["reason"]
    assert_levels_optimal(result)


def test_one_proposal_each_one_request_two_offers(scheme):
    offers = [make_offer(ref="OF-1"), make_offer(ref="OF-2", provider="granta_vale_housing")]
    result = solve_round(scheme, ROUND_DAY, [make_request()], offers, zero_balances(scheme))
    assert len(result.proposals) == 1
    assert result.unmatched == []


def test_declined_home_is_not_proposed_again(scheme):
    result = solve_round(scheme, ROUND_DAY, [make_request()], [make_offer()], zero_balances(scheme),
                         declined=frozenset({("RQ-1", "OF-1")}))
    assert result.proposals == []
    (left,) = result.unmatched
    assert left["reason_code"] == "no_compatible_offer"
    assert left["excluded_by"] == {"not_declined": 1}


def test_high_risk_request_wins_over_standard(scheme):
    # The standard-risk household has waited far longer, but risk comes first.
    requests = [make_request(ref="RQ-1", risk=Risk.standard, referred_on=date(2025, 1, 1)),
                make_request(ref="RQ-2", provider="huntingdonshire", risk=Risk.high,
                             referred_on=date(2026, 11, 20))]
    result = solve_round(scheme, ROUND_DAY, requests, [make_offer()], zero_balances(scheme))
    assert pairs_of(result) == [("RQ-2", "OF-1")]
    assert unmatched_codes(result) == {"RQ-1": "compatible_offers_went_to_higher_priority"}
    levels = {lv["name"]: lv["value"] for lv in result.objectives}
    assert levels["high_risk_moved"] == 1 and levels["households_moved"] == 1


def test_longer_waiting_wins_at_equal_risk(scheme):
    requests = [make_request(ref="RQ-1", risk=Risk.medium, referred_on=date(2026, 10, 1)),
                make_request(ref="RQ-2", provider="huntingdonshire", risk=Risk.medium,
                             referred_on=date(2026, 9, 1))]
    result = solve_round(scheme, ROUND_DAY, requests, [make_offer()], zero_balances(scheme))
    assert pairs_of(result) == [("RQ-2", "OF-1")]
    assert unmatched_codes(result) == {"RQ-1": "compatible_offers_went_to_higher_priority"}
    levels = {lv["name"]: lv["value"] for lv in result.objectives}
    assert levels["longest_waiting"] == (ROUND_DAY - date(2026, 9, 1)).days


def test_more_households_moved_beats_one_high_risk_pairing_choice(scheme):
    # RQ-1 (high) fits both homes, RQ-2 (standard) only OF-1: both move, RQ-1 takes OF-2.
    requests = [make_request(ref="RQ-1", risk=Risk.high),
                make_request(ref="RQ-2", provider="huntingdonshire", needs_step_free=True)]
    offers = [make_offer(ref="OF-1", step_free=True), make_offer(ref="OF-2", provider="granta_vale_housing")]
    result = solve_round(scheme, ROUND_DAY, requests, offers, zero_balances(scheme))
    assert sorted(pairs_of(result)) == [("RQ-1", "OF-2"), ("RQ-2", "OF-1")]
    assert_levels_optimal(result)


def test_unmatched_without_any_compatible_offer_lists_excluding_rules(scheme):
    requests = [make_request(avoid_areas=("cambridge",))]
    offers = [make_offer(ref="OF-1"), make_offer(ref="OF-2", bedrooms=5)]
    result = solve_round(scheme, ROUND_DAY, requests, offers, zero_balances(scheme))
    (left,) = result.unmatched
    assert left["reason_code"] == "no_compatible_offer"
    assert left["excluded_by"] == {"safety_buffer": 2, "size": 1}
