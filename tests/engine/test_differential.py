"""Differential test: the round engine (`solve_round`) against an independent brute force.

On random small rounds of the example scheme (up to 6 requests x 6 offers, random landlords, areas
where the offering landlord holds stock, random needs, avoided areas, perpetrator requests, random
starting balances that sum to zero, random objective orders), every matching of eligible pairs is
enumerated, filtered by one-proposal-each and the debt limit, and the lexicographic optimum is
computed level by level with objective values computed here, independently of
`matching.objectives`. The engine must report, at every level, that optimum as both value and
bound with status OPTIMAL, and its proposals must achieve those values.

Eligibility reuses `matching.rules.is_eligible` (the pair form of each rule, tested alone in
tests/rules/test_rules.py; the engine judges pairs with the rules' mask forms, so a mask that
disagrees with its rule shows up here too); everything the engine adds on top (rules 9 and 10, the objectives, the
lexicographic optimisation) is re-derived here. The engine's weighted stages are also forced apart
(one stage per level) so that its optimal-face fixing between stages is compared too. Beyond
brute-force sizes the engine is compared with the CP-SAT model of `matching.cpsat`.

The strategies (tests/strategies.py) are shared with tests/lifecycle/test_round_properties.py and
the brute force (tests/oracle.py) with tests/rules/test_band_limits.py.
"""
from __future__ import annotations

from datetime import date
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching.flow
from matching.engine import solve_round
from matching.instance import build_instance
from matching.cpsat import solve as cp_sat_solve
from matching.objectives import objectives_for
from matching.rules import MatchContext
from reciprocal.domain import Offer, PropertyType, Request, RequestKind, Risk

from tests.conftest import ROUND_DAY
from tests.oracle import brute_force, measure, respects_debt_limit
from tests.strategies import (PROVIDERS, SCHEME, balances_st, gives_st, objective_order_st,
                              pinned_instance, round_st, scheme_variant_st, scheme_with_objectives,
                              with_gives)


def check_against_brute_force(scheme, requests, offers, balances, declined=frozenset()):
    result = solve_round(scheme, ROUND_DAY, requests, offers, balances, declined)
    optimum, eligible = brute_force(scheme, ROUND_DAY, requests, offers, balances, declined)

    # The engine's eligible pairs (mask forms) are exactly the pairs passing every rule.
    assert result.compatible_pairs == sum(len(v) for v in eligible.values())
    names = list(scheme.config.matching.objectives)
    assert [lv["name"] for lv in result.objectives] == names
    for level in result.objectives:
        assert level["status"] == "OPTIMAL", level
        assert level["value"] == level["bound"], level
        assert level["value"] == optimum[level["name"]], (level, optimum)

    # The proposals themselves are a feasible matching achieving every reported value.
    r_index = {r.ref: i for i, r in enumerate(requests)}
    o_index = {o.ref: j for j, o in enumerate(offers)}
    matching = [(r_index[p["request"]], o_index[p["offer"]]) for p in result.proposals]
    assert len({i for i, _ in matching}) == len(matching)
    assert len({j for _, j in matching}) == len(matching)
    assert all(j in eligible.get(i, ()) for i, j in matching)
    assert respects_debt_limit(matching, requests, offers, balances, scheme)
    for name in names:
        assert measure(name, matching, requests, offers, balances, ROUND_DAY) == optimum[name], name
    return result, optimum


# -- the tests ------------------------------------------------------------------------------------

@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(), balances=balances_st(), gives=gives_st)
def test_solve_round_matches_brute_force_default_objectives(round_, balances, gives):
    """Under every choice of `fairness.gives_count_from` (rule 9)."""
    requests, offers = round_
    check_against_brute_force(with_gives(SCHEME, gives), requests, offers, balances)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(), balances=balances_st(), scheme=scheme_variant_st(), data=st.data())
def test_solve_round_matches_brute_force_other_scheme_terms(round_, balances, scheme, data):
    """Any objective order and other scheme terms (reach, risk gate, buffer, horizon, inactive
    members); the engine judges pairs with the rules' mask forms, the brute force with their pair
    forms, so the two are compared under every option too."""
    requests, offers = round_
    # Some past declines among the pairs of this round.
    declined = frozenset(data.draw(st.lists(
        st.tuples(st.sampled_from([r.ref for r in requests] or ["RQ-0"]),
                  st.sampled_from([o.ref for o in offers] or ["OF-0"])), max_size=3)))
    check_against_brute_force(scheme, requests, offers, balances, declined)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(), balances=balances_st(), order=objective_order_st(), gives=gives_st)
def test_solve_round_matches_brute_force_with_every_level_its_own_stage(round_, balances, order, gives):
    """The flow engine folds levels into weighted stages while the weights fit in int64; on small
    rounds everything folds into one stage. Lowering its cost limit forces one stage per level,
    so the reduced-cost fixing between stages (which keeps the optimal face) is exercised too."""
    requests, offers = round_
    with mock.patch.object(matching.flow, "COST_LIMIT", 1):
        check_against_brute_force(scheme_with_objectives(order, gives), requests, offers, balances)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=14, max_offers=14), balances=balances_st(),
       order=objective_order_st(), split=st.booleans(), gives=gives_st)
def test_solve_round_matches_cp_sat_model_on_medium_rounds(round_, balances, order, split, gives):
    """Beyond brute-force sizes: every level equals the CP-SAT lexicographic model's proven
    optimum (an independent formulation: one Boolean per eligible pair, constraints for rules 9
    and 10, each level locked before the next), under every choice of `gives_count_from`."""
    requests, offers = round_
    scheme = scheme_with_objectives(order, gives)
    with mock.patch.object(matching.flow, "COST_LIMIT", 1 if split else matching.flow.COST_LIMIT):
        result = solve_round(scheme, ROUND_DAY, requests, offers, balances)
    inst = build_instance(MatchContext(scheme, ROUND_DAY), requests, offers, balances)
    reference = cp_sat_solve(inst, objectives_for(list(order)), time_limit=20.0)
    assert [lv.name for lv in reference.levels] == [lv["name"] for lv in result.objectives]
    for ref_level, level in zip(reference.levels, result.objectives):
        assert ref_level.status == "OPTIMAL" and ref_level.value == ref_level.bound, ref_level
        assert level["value"] == ref_level.value, (level, ref_level)
        assert level["bound"] == level["value"] and level["status"] == "OPTIMAL"
    # Whatever the engine chose achieves those values, by the independent measures.
    r_index = {r.ref: i for i, r in enumerate(requests)}
    o_index = {o.ref: j for j, o in enumerate(offers)}
    matching_ = [(r_index[p["request"]], o_index[p["offer"]]) for p in result.proposals]
    assert respects_debt_limit(matching_, requests, offers, balances, scheme)
    for level in result.objectives:
        assert measure(level["name"], matching_, requests, offers, balances, ROUND_DAY) == level["value"]



@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=16, max_offers=16), balances=balances_st(),
       order=objective_order_st(), split=st.booleans(), data=st.data(), gives=gives_st)
def test_max_flow_levels_agree_with_min_cost_flow_levels(round_, balances, order, split, data, gives):
    """The levels that count moves are solved as maximum flows (from the pins, or from the
    previous level's flow, within its optimal face); solving every level as a min-cost flow
    instead (the path the brute force and CP-SAT tests above check on their own) must give the
    same value at every level, with some homes offered for a household pinned first. When gives
    count from `proposed` a member's gives and placements meet in its node, so no level is a
    maximum flow and both paths are the same."""
    scheme, objectives, inst = pinned_instance(round_, balances, order, gives, data)
    limit = 1 if split else matching.flow.COST_LIMIT
    with mock.patch.object(matching.flow, "COST_LIMIT", limit):
        fast = matching.flow.solve_flow(inst, objectives)
        with mock.patch.object(matching.flow, "MAX_FLOW_LEVELS", False):
            reference = matching.flow.solve_flow(inst, objectives)
    assert all(lv.method == "min_cost_flow" for lv in reference.levels)
    if gives == "proposed":
        assert all(lv.method == "min_cost_flow" for lv in fast.levels)
    elif order[0] in ("high_risk_moved", "households_moved"):
        assert fast.levels[0].method == "max_flow"
    assert [(lv.name, lv.value) for lv in fast.levels] == [(lv.name, lv.value) for lv in reference.levels]
    assert all(lv.status == "OPTIMAL" and lv.bound == lv.value for lv in fast.levels)
    chosen = set(fast.chosen)
    assert all(inst.pairs[k] in chosen for k in inst.pinned)
    assert len({i for i, _ in chosen}) == len(chosen) == len({j for _, j in chosen})
    assert respects_debt_limit(sorted(chosen), inst.requests, inst.offers, balances, scheme)


def _req(ref, provider, **kw):
    base = dict(kind=RequestKind.survivor, current_tenancy="secure", bedrooms_needed=2,
                referred_on=date(2026, 10, 1))
    base.update(kw)
    return Request(ref=ref, provider=provider, **base)


def _off(ref, provider, area, **kw):
    base = dict(bedrooms=2, property_type=PropertyType.flat, available_from=date(2026, 11, 20))
    base.update(kw)
    return Offer(ref=ref, provider=provider, area=area, **base)


def _fenland_gives_and_waits():
    """Fenland at -2 (its limit) with a high-risk household, and a home it gives; two other
    households and two Cambridge homes."""
    requests = [_req("RQ-1", "fenland", risk=Risk.high),
                _req("RQ-2", "cambridge_city"),
                _req("RQ-3", "huntingdonshire", referred_on=date(2026, 6, 1))]
    offers = [_off("OF-1", "cambridge_city", "cambridge"),
              _off("OF-2", "fenland", "fenland"),
              _off("OF-3", "granta_vale_housing", "cambridge")]
    balances = {p: 0 for p in PROVIDERS}
    balances.update(fenland=-2, cambridge_city=2)
    return requests, offers, balances


def test_brute_force_finds_a_known_optimum():
    """The brute force itself, on a case worked by hand: with gives counted once signed, Fenland
    at -2 places no tenant, even though it gives a home, so its high-risk household waits."""
    requests, offers, balances = _fenland_gives_and_waits()
    signed = with_gives(SCHEME, "signed")
    optimum, _ = brute_force(signed, ROUND_DAY, requests, offers, balances)
    # 2 households can move: RQ-2 -> OF-2 (Fenland gives) and RQ-3 to a Cambridge home.
    assert optimum["high_risk_moved"] == 0
    assert optimum["households_moved"] == 2
    assert optimum["longest_waiting"] == (53 + 175)
    assert optimum["ledger_imbalance"] == min(
        measure("ledger_imbalance", m, requests, offers, balances, ROUND_DAY)
        for m in ([(1, 1), (2, 0)], [(1, 1), (2, 2)]))
    check_against_brute_force(signed, requests, offers, balances)


def test_brute_force_a_home_given_funds_a_placement_in_the_same_round():
    """The same case with gives counted from `proposed` (the default): Fenland gives OF-2 to
    Cambridge City's household in this round, which brings it back to -1, so its high-risk
    household takes a Cambridge home in the same round: three households move, not two."""
    requests, offers, balances = _fenland_gives_and_waits()
    assert SCHEME.gives_count_from == "proposed"
    optimum, _ = brute_force(SCHEME, ROUND_DAY, requests, offers, balances)
    assert optimum["high_risk_moved"] == 1
    assert optimum["households_moved"] == 3
    # Past its limit (-3), Fenland places no tenant even though it gives a home.
    balances.update(fenland=-3, cambridge_city=3)
    optimum, _ = brute_force(SCHEME, ROUND_DAY, requests, offers, balances)
    assert optimum["high_risk_moved"] == 0 and optimum["households_moved"] == 2
    check_against_brute_force(SCHEME, requests, offers, balances)


def test_brute_force_debt_limit_with_own_max_debt():
    # Mereside (max_debt 1) at -1: no tenant placed; Nene Bridge (max_debt 3) at -2: one placed.
    requests = [_req("RQ-1", "mereside_homes", current_tenancy="assured"),
                _req("RQ-2", "nene_bridge_homes", current_tenancy="assured"),
                _req("RQ-3", "nene_bridge_homes", current_tenancy="assured")]
    offers = [_off("OF-1", "cambridge_city", "cambridge"), _off("OF-2", "cambridge_city", "cambridge"),
              _off("OF-3", "south_cambridgeshire", "south_cambridgeshire")]
    balances = {p: 0 for p in PROVIDERS}
    balances.update(mereside_homes=-1, nene_bridge_homes=-2, cambridge_city=3)
    _, optimum = check_against_brute_force(SCHEME, requests, offers, balances)
    assert optimum["households_moved"] == 1
