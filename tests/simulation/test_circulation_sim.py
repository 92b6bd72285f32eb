"""Members answering circulation in the simulation (`reciprocal.simulation.answers`,
`reciprocal.simulation.circulating`).

- A home a member makes for a household on its circulation list passes every hard rule for that
  household on the day (random households and members of the example scheme).
- Members answer more often the more they owe.
- The two modes see the same referrals and the same approvals; every proposal of both is checked
  by the engine (an offer made for a household is proposed to it first when the rules allow).
- The same seeds give the same figures.
"""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.circulation import serving_areas
from matching.rules import MatchContext, failed_rules
from reciprocal.simulation import simulate as sim
from reciprocal.simulation.answers import ANSWERS, Answering, home_for
from reciprocal.simulation.circulating import MEASURES, compare_circulation
from reciprocal.simulation_report import render_circulation

from tests.conftest import ROUND_DAY
from tests.strategies import PROVIDERS, SCHEME, request_st


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=request_st("RQ-1"), member=st.sampled_from(PROVIDERS), pick=st.integers(0, 10 ** 6))
def test_a_home_made_for_a_listed_household_passes_every_rule(request, member, pick):
    ctx = MatchContext(SCHEME, ROUND_DAY)
    areas = serving_areas(ctx, member, request)
    if not areas:
        return
    home = home_for("OF-X", member, request, areas, ROUND_DAY, random.Random(pick))
    assert home.for_request == request.ref
    assert failed_rules(ctx, request, home) == []


def test_members_answer_more_often_the_more_they_owe():
    chances = [ANSWERS.answer_probability(balance) for balance in (3, 2, 1, 0, -1, -2)]
    assert chances == sorted(chances) and chances[-1] == 1.0 and chances[0] < chances[3] < 1.0


def test_a_kept_home_goes_into_the_pot_when_no_household_turns_up():
    answering = Answering(ANSWERS)
    kept = [k for k in range(50) if answering.holds(1, 0, "fenland", k, balance=0)]
    assert kept  # 90% of an even member's homes are kept back
    made, expired = answering.answer(1, ANSWERS.hold_weeks - 1, ROUND_DAY, {}, {})
    assert made == [] and expired == []
    made, expired = answering.answer(1, ANSWERS.hold_weeks, ROUND_DAY, {}, {})
    assert made == [] and sorted(k for _, _, k in expired) == kept


@pytest.fixture(scope="module")
def compared(scheme):
    return compare_circulation(scheme, "default", seeds=3, weeks=52)


def test_both_modes_see_the_same_referrals_and_circulate_the_same_requests(compared):
    for seed in compared["per_seed"]:
        assert seed["pot"]["referrals"] == seed["circulation"]["referrals"]
        assert seed["pot"]["circulated"] == seed["circulation"]["circulated"] <= seed["pot"]["referrals"]
        assert seed["pot"]["offers_for_households"] == 0
    assert sum(s["circulation"]["offers_for_households"] for s in compared["per_seed"]) > 0


def test_the_same_seeds_give_the_same_figures(scheme, compared):
    assert compare_circulation(scheme, "default", seeds=3, weeks=52) == compared


def test_the_table_names_every_measure_and_the_seed_figures(compared):
    text = render_circulation(compared)
    for _, label in MEASURES:
        assert label in text
    assert "Cambridgeshire 2019/20" in text and "| requests circulated (approved) |" in text


def test_every_round_of_both_modes_is_checked_against_the_hard_rules(scheme, monkeypatch):
    checked = []
    real = sim.violations

    def spy(ctx, requests, offers, balances, pairs, *args):
        checked.append(sum(1 for o in offers if o.for_request))
        return real(ctx, requests, offers, balances, pairs, *args)

    monkeypatch.setattr(sim, "violations", spy)
    compare_circulation(scheme, "stress", seeds=1, weeks=8)
    assert checked and sum(checked) > 0  # rounds with offers made for a household were checked
