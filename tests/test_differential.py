"""Differential test: the round engine (`solve_round`) against an independent brute force.

On random small rounds of the example scheme (up to 6 requests x 6 offers, random landlords, areas
where the offering landlord holds stock, random needs, avoided areas, perpetrator requests, random
starting balances that sum to zero, random objective orders), every matching of eligible pairs is
enumerated, filtered by one-proposal-each and the debt limit, and the lexicographic optimum is
computed level by level with objective values computed here, independently of
`matching.objectives`. The engine must report, at every level, that optimum as both value and
bound with status OPTIMAL, and its proposals must achieve those values.

Eligibility reuses `matching.rules.is_eligible` (the pair form of each rule, tested alone in
test_rules.py; the engine judges pairs with the rules' mask forms, so a mask that disagrees with its
rule shows up here too); everything the engine adds on top (rules 9 and 10, the objectives, the
lexicographic optimisation) is re-derived here. The engine's weighted stages are also forced apart
(one stage per level) so that its optimal-face fixing between stages is compared too. Beyond
brute-force sizes the engine is compared with the CP-SAT model of `matching.cpsat`.

The strategies below are also used by test_round_properties.py.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching.flow
from matching.engine import solve_round
from matching.instance import build_instance
from matching.cpsat import solve as cp_sat_solve
from matching.objectives import objectives_for
from matching.rules import MatchContext, is_eligible
from reciprocal.config import OBJECTIVE_NAMES, load_scheme
from reciprocal.domain import (AGE_BANDS, Offer, PropertyType, Request, RequestKind, Risk)

from .conftest import CONFIG_DIR, ROUND_DAY

SCHEME = load_scheme(CONFIG_DIR)
PROVIDERS = sorted(SCHEME.providers)
AREAS = sorted(SCHEME.config.areas)
TENANCIES = sorted(SCHEME.config.tenancy_kinds)


# -- strategies ---------------------------------------------------------------------------------

@st.composite
def offer_st(draw, ref: str) -> Offer:
    provider = draw(st.sampled_from(PROVIDERS))
    area = draw(st.sampled_from(sorted(SCHEME.providers[provider].areas)))
    wheelchair = draw(st.sampled_from([False, False, False, True]))
    return Offer(
        ref=ref, provider=provider, area=area,
        bedrooms=draw(st.sampled_from([1, 2, 2, 2, 3, 3, 4])),
        property_type=draw(st.sampled_from(list(PropertyType))),
        available_from=ROUND_DAY + timedelta(days=draw(st.sampled_from([-20, -3, 0, 7, 28, 28, 29])
                                                              | st.integers(-20, 30))),
        step_free=draw(st.booleans()),
        wheelchair_accessible=wheelchair,
        tenancy_offered=draw(st.one_of(st.none(), st.none(), st.none(), st.sampled_from(TENANCIES))),
        restrictions=tuple(draw(st.one_of(
            st.just(()), st.just(()), st.just(()), st.just(()), st.just(()),
            st.lists(st.sampled_from(["no_perpetrator", "age_55_plus", "age_65_plus"]),
                     max_size=2, unique=True)))),
    )


@st.composite
def request_st(draw, ref: str) -> Request:
    provider = draw(st.sampled_from(PROVIDERS))
    kind = draw(st.sampled_from([RequestKind.survivor] * 3 + [RequestKind.perpetrator]))
    need = draw(st.sampled_from([1, 2, 2, 2, 3]))
    fields = dict(
        ref=ref, provider=provider, kind=kind,
        current_tenancy=draw(st.sampled_from(["secure"] * 4 + ["assured"] * 4 + TENANCIES
                                             + ["licence"])),  # not a tenancy kind of the scheme
        bedrooms_needed=need,
        max_bedrooms=draw(st.one_of(st.none(), st.none(), st.integers(need, need + 2))),
        needs_step_free=draw(st.sampled_from([False, False, False, True])),
        needs_wheelchair=draw(st.sampled_from([False] * 7 + [True])),
        avoid_areas=tuple(draw(st.one_of(st.just([]), st.just([]),
                                         st.lists(st.sampled_from(AREAS), max_size=2, unique=True)))),
        preferred_areas=tuple(draw(st.lists(st.sampled_from(AREAS), max_size=2, unique=True))),
        risk=draw(st.sampled_from(list(Risk))),
        referred_on=ROUND_DAY - timedelta(days=draw(st.integers(-3, 300))),
        age=draw(st.one_of(st.none(), st.sampled_from(AGE_BANDS))),
    )
    if kind == RequestKind.perpetrator:
        fields.update(
            survivor_area=draw(st.sampled_from(AREAS + [None])),
            survivor_consent=draw(st.sampled_from([True, True, True, False])),
            safety_decision_on=draw(st.one_of(
                st.none(), st.integers(-60, 0).map(lambda d: ROUND_DAY + timedelta(days=d)),
                st.integers(-2, 2).map(lambda d: ROUND_DAY + timedelta(days=d)))),
        )
    return Request(**fields)


@st.composite
def balances_st(draw, spread: int = 3) -> dict[str, int]:
    """Starting balances in -spread..spread over all providers, summing to zero."""
    balances = {p: 0 for p in PROVIDERS}
    transfers = draw(st.lists(st.tuples(st.sampled_from(PROVIDERS), st.sampled_from(PROVIDERS)),
                              max_size=12))
    for giver, receiver in transfers:
        if giver != receiver and balances[giver] < spread and balances[receiver] > -spread:
            balances[giver] += 1
            balances[receiver] -= 1
    return balances


@st.composite
def round_st(draw, max_requests: int = 6, max_offers: int = 6):
    # Skewed towards full rounds: small ones are still drawn (and shrunk to).
    n_req = draw(st.integers(0, max_requests + 2).map(lambda n: min(n, max_requests)))
    n_off = draw(st.integers(0, max_offers + 2).map(lambda n: min(n, max_offers)))
    requests = [draw(request_st(f"RQ-{k}")) for k in range(1, n_req + 1)]
    offers = [draw(offer_st(f"OF-{k}")) for k in range(1, n_off + 1)]
    return requests, offers


def objective_order_st():
    """The default order most often; otherwise any order of a non-empty subset."""
    return st.one_of(
        st.just(list(SCHEME.config.matching.objectives)),
        st.permutations(list(OBJECTIVE_NAMES)),
        st.permutations(list(OBJECTIVE_NAMES)).flatmap(
            lambda order: st.integers(1, len(order)).map(lambda n: list(order[:n]))),
    )


@st.composite
def scheme_variant_st(draw):
    """The example scheme with other terms: objective order, buffer and reach hops, size slack,
    horizon, risk gate, and maybe a suspended member or one that left around the round."""
    order = draw(objective_order_st())
    matching = SCHEME.config.matching.model_copy(update={
        "objectives": list(order),
        "safety_buffer_hops": draw(st.sampled_from([1, 1, 0, 2])),
        "reach_hops": draw(st.sampled_from([None, None, 0, 1, 2])),
        "max_bedrooms_over_need": draw(st.sampled_from([1, 1, 0, 2])),
    })
    priority = SCHEME.config.priority.model_copy(update={
        "risk_gate": draw(st.sampled_from([None, None, None, Risk.high, Risk.medium, Risk.standard]))})
    rounds = SCHEME.config.rounds.model_copy(update={
        "offer_horizon_days": draw(st.sampled_from([28, 28, 0, 7]))})
    config = SCHEME.config.model_copy(update={"matching": matching, "priority": priority,
                                              "rounds": rounds})
    providers = dict(SCHEME.providers)
    suspended = draw(st.one_of(st.none(), st.sampled_from(PROVIDERS)))
    if suspended:
        providers[suspended] = providers[suspended].model_copy(update={"status": "suspended"})
    leaving = draw(st.one_of(st.none(), st.sampled_from(PROVIDERS)))
    if leaving:
        left = ROUND_DAY + timedelta(days=draw(st.integers(-1, 1)))
        providers[leaving] = providers[leaving].model_copy(update={"left": left})
    return replace(SCHEME, config=config, providers=providers)


def scheme_with_objectives(order: list[str]):
    matching = SCHEME.config.matching.model_copy(update={"objectives": list(order)})
    return replace(SCHEME, config=SCHEME.config.model_copy(update={"matching": matching}))


# -- the independent brute force ---------------------------------------------------------------

def headroom(balances: dict[str, int], provider: str, scheme=SCHEME) -> int:
    """Rule 9 as the brief states it: net homes a provider's tenants may receive this round."""
    own = scheme.providers[provider].max_debt
    max_debt = scheme.config.fairness.max_debt if own is None else own
    return max(0, balances.get(provider, 0) + max_debt)


def respects_debt_limit(matching, requests, offers, balances, scheme=SCHEME) -> bool:
    net = Counter()
    for i, j in matching:
        net[requests[i].provider] += 1
        net[offers[j].provider] -= 1
    return all(n <= headroom(balances, p, scheme) for p, n in net.items())


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


def brute_force(scheme, on, requests, offers, balances, declined=frozenset()):
    """The lexicographic optimum, level by level: {objective name: optimal value}."""
    ctx = MatchContext(scheme, on, declined)
    eligible: dict[int, list[int]] = {}
    for i, r in enumerate(requests):
        for j, o in enumerate(offers):
            if is_eligible(ctx, r, o):
                eligible.setdefault(i, []).append(j)
    feasible = [m for m in all_matchings(len(requests), eligible)
                if respects_debt_limit(m, requests, offers, balances, scheme)]
    assert feasible  # the empty matching always is
    optimum: dict[str, int] = {}
    candidates = feasible
    for name in scheme.config.matching.objectives:
        scored = [(m, measure(name, m, requests, offers, balances, on)) for m in candidates]
        best = SENSE[name](v for _, v in scored)
        optimum[name] = best
        candidates = [m for m, v in scored if v == best]
    return optimum, eligible


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
@given(round_=round_st(), balances=balances_st())
def test_solve_round_matches_brute_force_default_objectives(round_, balances):
    requests, offers = round_
    check_against_brute_force(SCHEME, requests, offers, balances)


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
@given(round_=round_st(), balances=balances_st(), order=objective_order_st())
def test_solve_round_matches_brute_force_with_every_level_its_own_stage(round_, balances, order):
    """The flow engine folds levels into weighted stages while the weights fit in int64; on small
    rounds everything folds into one stage. Lowering its cost limit forces one stage per level,
    so the reduced-cost fixing between stages (which keeps the optimal face) is exercised too."""
    requests, offers = round_
    with mock.patch.object(matching.flow, "COST_LIMIT", 1):
        check_against_brute_force(scheme_with_objectives(order), requests, offers, balances)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=14, max_offers=14), balances=balances_st(),
       order=objective_order_st(), split=st.booleans())
def test_solve_round_matches_cp_sat_model_on_medium_rounds(round_, balances, order, split):
    """Beyond brute-force sizes: every level equals the CP-SAT lexicographic model's proven
    optimum (an independent formulation: one Boolean per eligible pair, constraints for rules 9
    and 10, each level locked before the next)."""
    requests, offers = round_
    scheme = scheme_with_objectives(order)
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


def _req(ref, provider, **kw):
    base = dict(kind=RequestKind.survivor, current_tenancy="secure", bedrooms_needed=2,
                referred_on=date(2026, 10, 1))
    base.update(kw)
    return Request(ref=ref, provider=provider, **base)


def _off(ref, provider, area, **kw):
    base = dict(bedrooms=2, property_type=PropertyType.flat, available_from=date(2026, 11, 20))
    base.update(kw)
    return Offer(ref=ref, provider=provider, area=area, **base)


def test_brute_force_finds_a_known_optimum():
    """The brute force itself, on a case worked by hand: Fenland at -2 may only place a tenant
    if it gives a home; the high-risk household comes first; imbalance then picks the giver."""
    requests = [_req("RQ-1", "fenland", risk=Risk.high),
                _req("RQ-2", "cambridge_city"),
                _req("RQ-3", "huntingdonshire", referred_on=date(2026, 6, 1))]
    offers = [_off("OF-1", "cambridge_city", "cambridge"),
              _off("OF-2", "fenland", "fenland"),
              _off("OF-3", "granta_vale_housing", "cambridge")]
    balances = {p: 0 for p in PROVIDERS}
    balances.update(fenland=-2, cambridge_city=2)
    optimum, _ = brute_force(SCHEME, ROUND_DAY, requests, offers, balances)
    # 3 households can move: RQ-2 -> OF-2 (Fenland gives), RQ-1 and RQ-3 to Cambridge homes.
    assert optimum["high_risk_moved"] == 1
    assert optimum["households_moved"] == 3
    assert optimum["longest_waiting"] == (53 + 53 + 175)
    # Final: fenland -2+1-1=-2, cambridge_city 2-1+(0 or 1 given), huntingdonshire -1, granta +1.
    assert optimum["ledger_imbalance"] == min(
        measure("ledger_imbalance", m, requests, offers, balances, ROUND_DAY)
        for m in ([(0, 0), (1, 1), (2, 2)], [(0, 2), (1, 1), (2, 0)]))
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
