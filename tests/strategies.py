"""Hypothesis strategies for random rounds of the example scheme, shared by the engine's
differential test, the band-limit test and the round properties.

Offers are placed where their landlord holds stock; requests carry random needs, avoided and
preferred areas, risks and perpetrator details; starting balances sum to zero; scheme variants
change the matching terms (objective order, hops, size slack, horizon, risk gate, a suspended or
leaving member)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import strategies as st

from reciprocal.config import OBJECTIVE_NAMES, load_scheme
from reciprocal.domain import AGE_BANDS, GIVES_COUNT_FROM, Offer, PropertyType, Request, RequestKind, Risk
from tests.conftest import CONFIG_DIR, ROUND_DAY

SCHEME = load_scheme(CONFIG_DIR)
PROVIDERS = sorted(SCHEME.providers)
AREAS = sorted(SCHEME.config.areas)
TENANCIES = sorted(SCHEME.config.tenancy_kinds)


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
    fairness = SCHEME.config.fairness.model_copy(update={"gives_count_from": draw(gives_st)})
    config = SCHEME.config.model_copy(update={"matching": matching, "priority": priority,
                                              "rounds": rounds, "fairness": fairness})
    providers = dict(SCHEME.providers)
    suspended = draw(st.one_of(st.none(), st.sampled_from(PROVIDERS)))
    if suspended:
        providers[suspended] = providers[suspended].model_copy(update={"status": "suspended"})
    leaving = draw(st.one_of(st.none(), st.sampled_from(PROVIDERS)))
    if leaving:
        left = ROUND_DAY + timedelta(days=draw(st.integers(-1, 1)))
        providers[leaving] = providers[leaving].model_copy(update={"left": left})
    return replace(SCHEME, config=config, providers=providers)


def scheme_with_objectives(order: list[str], gives: str = "proposed"):
    matching = SCHEME.config.matching.model_copy(update={"objectives": list(order)})
    return with_gives(replace(SCHEME, config=SCHEME.config.model_copy(update={"matching": matching})), gives)


# Rule 9's choices of the stage from which a home given counts (`fairness.gives_count_from`).
gives_st = st.sampled_from(GIVES_COUNT_FROM)


def with_gives(scheme, gives: str):
    """The scheme with `fairness.gives_count_from` set to `gives`."""
    fairness = scheme.config.fairness.model_copy(update={"gives_count_from": gives})
    return replace(scheme, config=scheme.config.model_copy(update={"fairness": fairness}))


def pinned_instance(round_, balances, order, gives, data):
    """A drawn round as the flow engine sees it: the scheme with `order` and `gives`, its
    objectives, and the `MatchingInstance` with some homes drawn as offered for a household (one
    for a household not in the pot) and pinned."""
    from matching.instance import build_instance
    from matching.objectives import objectives_for
    from matching.pinning import choose_pins
    from matching.rules import MatchContext

    requests, offers = round_
    refs = [r.ref for r in requests] + ["RQ-ELSEWHERE"]
    offers = [replace(o, for_request=data.draw(st.sampled_from([None, None, *refs])))
              for o in offers]
    scheme = scheme_with_objectives(order, gives)
    inst = build_instance(MatchContext(scheme, ROUND_DAY), requests, offers, balances)
    inst.pinned, _ = choose_pins(inst)
    return scheme, objectives_for(list(order)), inst
