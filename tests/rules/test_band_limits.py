"""Rule 9 per bedroom band (`fairness.band_max_debt`): the band path (`matching.mip`), its
explanations, its check level by level against a brute force and against the CP-SAT model, what
it answers when a time limit is reached, and the close holding back moves that would pass a band
limit."""
from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import check, cpsat, mip
from matching.engine import solve_round
from matching.instance import build_instance
from matching.objectives import objectives_for
from matching.pinning import choose_pins
from matching.rules import MatchContext
from reciprocal.intake.pot import add_records
from reciprocal.ledger import balances
from reciprocal.lifecycle.run import run_round
from reciprocal.lifecycle.views import round_view
from tests.conftest import ROUND_DAY, make_offer, make_request
from tests.moves import refuse, sign_live
from tests.oracle import brute_force
from tests.strategies import PROVIDERS, SCHEME, balances_st, gives_st, round_st, with_gives


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
    """Rule 9 per band with gives counted once signed: with band_max_debt 0 an exchange in one
    round would take whichever side signs first past the limit, so neither is proposed; a member
    owed a home in the band has room for one of its tenants."""
    limited = with_gives(banded(scheme, band_max_debt=0), "signed")
    requests, offers = _exchange()
    assert solve_round(limited, ROUND_DAY, requests, offers, {}).proposals == []
    owed = solve_round(limited, ROUND_DAY, requests, offers, {"fenland": 1},
                       band_balances={"fenland": {"2 bed": 1}})
    assert {(p["request"], p["offer"]) for p in owed.proposals} == {("RQ-F", "OF-C")}


@pytest.mark.parametrize("gives", ["proposed", "nomination_confirmed", "accepted", "signed"])
def test_a_band_limit_of_zero_lets_an_exchange_when_gives_count_from_proposed(scheme, gives):
    """The default rule: each member's home given in the round funds its household's placement in
    the same band, so the exchange is proposed whole, by the band path and by CP-SAT alike."""
    limited = with_gives(banded(scheme, band_max_debt=0), gives)
    requests, offers = _exchange()
    got = {(p["request"], p["offer"]) for p in solve_round(limited, ROUND_DAY, requests, offers, {}).proposals}
    assert got == ({("RQ-F", "OF-C"), ("RQ-C", "OF-F")} if gives == "proposed" else set())
    inst = build_instance(MatchContext(limited, ROUND_DAY), requests, offers, {})
    reference = cpsat.solve(inst, objectives_for(limited.config.matching.objectives))
    assert len(reference.chosen) == len(got)


def _exchange():
    requests = [make_request(ref="RQ-F"),  # Fenland's household
                make_request(ref="RQ-C", provider="cambridge_city", avoid_areas=("cambridge",))]
    offers = [make_offer(ref="OF-C"),  # Cambridge City's 2-bed in Cambridge
              make_offer(ref="OF-F", provider="fenland", area="fenland")]
    return requests, offers


def brute_force_with_bands(scheme, requests, offers, balances, limit, band_balances=None):
    assert scheme.config.fairness.band_max_debt == limit
    optimum, _ = brute_force(scheme, ROUND_DAY, requests, offers, balances, band_balances=band_balances)
    return optimum


BANDS = [b.name for b in SCHEME.config.fairness.bands]
band_balances_st = st.fixed_dictionaries(
    {p: st.fixed_dictionaries({b: st.integers(-1, 2) for b in BANDS}) for p in PROVIDERS})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=5, max_offers=5), balances=balances_st(), gives=gives_st)
def test_band_limited_rounds_match_brute_force(round_, balances, gives):
    requests, offers = round_
    scheme = with_gives(banded(SCHEME, band_max_debt=0, max_debt=2), gives)
    result = solve_round(scheme, ROUND_DAY, requests, offers, balances)
    optimum = brute_force_with_bands(scheme, requests, offers, balances, 0)
    got = {o["name"]: o["value"] for o in result.objectives}
    assert got == optimum
    assert all(o["value"] == o["bound"] for o in result.objectives)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=5, max_offers=5), balances=balances_st(),
       band_balances=band_balances_st, limit=st.sampled_from([0, 1]), max_debt=st.sampled_from([1, 2]),
       path=st.sampled_from(["lp", "mip-then-face", "mip-and-row"]), gives=gives_st)
def test_band_limited_rounds_match_brute_force_level_by_level(round_, balances, band_balances, limit,
                                                              max_debt, path, gives):
    """Every level's value, bound and status against the brute force, with band balances that give
    some members room in some bands, by each path a level can take: the LP optimum integral (its
    face kept); the LP fractional, so a MIP, whose optimum equals the LP's (the face kept); no
    LP at all, so a MIP locked in by a row. Under every choice of `gives_count_from`, with band
    balances past a limit too."""
    requests, offers = round_
    scheme = with_gives(banded(SCHEME, band_max_debt=limit, max_debt=max_debt), gives)
    real_solve, real_integral = mip.solve_mip, mip._integral
    try:
        if path == "mip-then-face":  # as if every LP optimum were fractional
            mip._integral = lambda values: False
        if path == "mip-and-row":
            mip.solve_mip = lambda *args, **kwargs: real_solve(*args, **kwargs, lp_first=False)
        result = solve_round(scheme, ROUND_DAY, requests, offers, balances, band_balances=band_balances)
    finally:
        mip.solve_mip, mip._integral = real_solve, real_integral
    optimum = brute_force_with_bands(scheme, requests, offers, balances, limit, band_balances)
    assert [o["name"] for o in result.objectives] == list(optimum)
    for level in result.objectives:
        best = optimum[level["name"]]
        assert (level["value"], level["bound"], level["status"]) == (best, best, "OPTIMAL")


def _generated(members=16, areas=5, requests=60, offers=30, seed=3, limit=1):
    """A generated round (as benchmarks/band_limits.py builds them) with band limits on."""
    import random

    from benchmarks.band_limits import band_balances, with_band_limit
    from reciprocal.simulation.generator import SCALES, _populate, synthetic_scheme

    spec = dataclasses.replace(SCALES["regional"], name="test", providers=members, areas=areas,
                               requests=requests, offers=offers, reach_hops=None)
    rng = random.Random(seed)
    instance = _populate(synthetic_scheme(spec, rng), spec, rng, seed)
    return with_band_limit(instance, limit), band_balances(instance, limit, seed)


@pytest.mark.parametrize("seed,limit,gives", [(1, 0, "proposed"), (2, 1, "signed"), (3, 1, "proposed"),
                                              (4, 0, "accepted")])
def test_band_path_agrees_with_the_cp_sat_model_level_by_level(seed, limit, gives):
    """Another solver on another formulation: the CP-SAT model of `matching.cpsat` (booleans,
    an absolute-value constraint per member) proves the same value at every level."""
    instance, bands = _generated(seed=seed, limit=limit)
    instance = dataclasses.replace(instance, scheme=with_gives(instance.scheme, gives))
    result = solve_round(instance.scheme, instance.on, instance.requests, instance.offers,
                         instance.balances, band_balances=bands)
    inst = build_instance(MatchContext(instance.scheme, instance.on), instance.requests,
                          instance.offers, instance.balances, bands)
    inst.pinned, _ = choose_pins(inst)
    other = cpsat.solve(inst, objectives_for(instance.scheme.config.matching.objectives), 600.0)
    assert all(lv.optimal for lv in other.levels)
    assert [(o["name"], o["value"], o["bound"], o["status"]) for o in result.objectives] == \
        [(lv.name, lv.value, lv.value, "OPTIMAL") for lv in other.levels]


def test_a_time_limit_reached_answers_with_the_start_and_its_gaps(monkeypatch):
    """When HiGHS finds nothing in time, every level keeps the solution it started from (the flow's
    cut back to the band limits, which keeps every rule), and says so: status, bound, gap, note."""
    instance, bands = _generated(seed=2, limit=1)
    empty = mip._Result.__new__(mip._Result)

    def nothing(model, objective, maximize, integer, seconds, hint=None):
        empty.optimal, empty.values, empty.duals, empty.reduced = False, None, None, None
        empty.dual_bound, empty.objective = (float("inf") if maximize else float("-inf")), float("nan")
        return empty

    monkeypatch.setattr(mip, "_run", nothing)
    result = solve_round(instance.scheme, instance.on, instance.requests, instance.offers,
                         instance.balances, time_limit=5, band_balances=bands)
    assert result.proposals  # the start: the flow's moves within the band limits
    pairs = [(p["request"], p["offer"]) for p in result.proposals]
    assert check.violations(MatchContext(instance.scheme, instance.on), instance.requests,
                            instance.offers, instance.balances, pairs, bands) == []
    for level in result.objectives:
        assert level["status"] in ("OPTIMAL", mip.NO_SOLUTION)
        assert (level["status"] == "OPTIMAL") == (level["value"] == level["bound"])
        if level["status"] != "OPTIMAL":
            assert level["gap"] > 0 and "previous level's solution is kept" in level["note"]
    assert any(level["status"] == mip.NO_SOLUTION for level in result.objectives)


def test_a_solver_that_fails_outright_is_a_level_without_a_solution_not_a_crash(monkeypatch):
    instance, bands = _generated(seed=3, limit=1)

    def fails(*args, **kwargs):
        raise RuntimeError("solver unavailable")

    monkeypatch.setattr(mip.core_solver, "solve", fails)
    result = solve_round(instance.scheme, instance.on, instance.requests, instance.offers,
                         instance.balances, band_balances=bands)
    failed = [level for level in result.objectives if level["status"] == mip.NO_SOLUTION]
    assert failed and all("solver unavailable" in level["note"] for level in failed)


def test_a_tiny_time_limit_still_answers_with_each_levels_status_and_gap():
    """A real time limit far too short: the round still answers, every level either proven or
    marked with its bound, gap and a note; the answer keeps every rule (checked in solve_round)."""
    instance, bands = _generated(members=30, areas=9, requests=300, offers=150, seed=5, limit=1)
    result = solve_round(instance.scheme, instance.on, instance.requests, instance.offers,
                         instance.balances, time_limit=0.1, band_balances=bands)
    for level in result.objectives:
        assert level["status"] in ("OPTIMAL", "FEASIBLE", mip.NO_SOLUTION)
        assert (level["status"] == "OPTIMAL") == (level["value"] == level["bound"] and "note" not in level)
        if level["sense"] == "max":
            assert level["bound"] >= level["value"]
        else:
            assert level["bound"] <= level["value"]


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
