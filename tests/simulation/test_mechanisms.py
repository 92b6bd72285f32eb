"""Each mechanism of the simulated weekly process alone (`reciprocal.simulation.process`), on a
tiny hand-built stream (a `StoredYear` written by hand: these households and homes arrive in these
weeks) and assumptions under which nothing else acts: no withdrawal, no hold, no late
reconfirmation, every answer in a day, no refusal, no silence, every home into the pot.

Holds and late reconfirmations pause a household from rounds and circulation; reaching the
scheme's reasonable refusals puts it in review; a stage with no answer lapses at the first round
after its due date; a refused or lapsed pair is never proposed again; `answer_share=0` keeps no
home back for a household; the engine waiting for every answer runs no round while a proposal
lives; today's practice gives a home offered for a household to that household.
"""
from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.circulation import serving_areas
from matching.policies import first_come_first_served, first_offered
from matching.rules import MatchContext, failed_rules
from reciprocal.domain import ProposalStatus
from reciprocal.simulation import arrivals, process
from reciprocal.simulation.answers import Answering, home_for
from reciprocal.simulation.arrivals import Rates, draw_arrivals
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.simulation.compare import setting_stream
from reciprocal.simulation.replay import StoredYear
from reciprocal.simulation.stages import Live, next_step
from reciprocal.working_days import add_working_days

from tests.conftest import ROUND_DAY, make_offer, make_request
from tests.strategies import PROVIDERS, SCHEME, request_st

QUIET = Assumptions(answer_share=0.0, withdraw_rate=0.0, hold_rate=0.0, late_reconfirm=0.0,
                    confirm_days=(1, 1), view_days=(1, 1), answer_days=(1, 1), sign_days=(1, 1),
                    tenancy_days=(0, 0), silent_confirm=0.0, silent_view=0.0, silent_answer=0.0,
                    silent_sign=0.0, landlord_refusal=0.0, household_refusal=0.0)


def day(week: int) -> date:
    return ROUND_DAY + timedelta(days=7 * week)


def script(scheme, weeks: int, requests: dict, offers: dict, assumptions: Assumptions = QUIET, **changes
           ) -> StoredYear:
    """A stream by hand: `requests` and `offers` {week: [...]} arrive in those weeks' rounds."""
    return StoredYear(scheme, ROUND_DAY, weeks, sorted(scheme.providers),
                      [requests.get(w, []) for w in range(weeks)], [offers.get(w, []) for w in range(weeks)],
                      {}, {}, {p: 0 for p in scheme.providers}, {},
                      assumptions=dataclasses.replace(assumptions, **changes))


def homes(week: int, n: int) -> list:
    return [make_offer(ref=f"OF-{week}-{k}", available_from=day(week)) for k in range(n)]


def proposed_weeks(run: process.Run) -> list[int]:
    """The week of each proposal, in order."""
    return [(on - ROUND_DAY).days // 7 for on, pairs in run.proposed for _ in pairs]


def with_lifecycle(scheme, **terms):
    lifecycle = scheme.config.lifecycle.model_copy(update=terms)
    return dataclasses.replace(scheme, config=scheme.config.model_copy(update={"lifecycle": lifecycle}))


def test_the_quiet_script_proposes_and_signs_at_once(scheme):
    """The baseline every test below changes one thing in."""
    run = process.run(scheme, script(scheme, 4, {0: [make_request()]}, {1: homes(1, 1)}), "engine")
    assert proposed_weeks(run) == [1] and [m.week for m in run.moves] == [2]
    assert run.holds == run.stale == run.reviews == 0 and not run.lapsed


# -- households paused: holds, late reconfirmation, review --------------------------------------------

def test_a_household_on_hold_is_in_no_round(scheme):
    stream = script(scheme, 8, {0: [make_request()]}, {1: homes(1, 1)}, hold_rate=1.0, hold_length=(2, 2))
    run = process.run(scheme, stream, "engine")
    # Held in week 1 (before the home came), back in week 3 and held again at once: weeks 1, 3, 5, 7.
    assert run.proposals == 0 and run.holds == 4 and run.still_waiting == 1


def test_a_household_on_hold_is_on_no_circulation_list(scheme, monkeypatch):
    listed: list[tuple[date, set]] = []
    real = arrivals.circulation

    def spy(scheme, on, requests):
        listed.append((on, {r.ref for r in requests}))
        return real(scheme, on, requests)

    monkeypatch.setattr(arrivals, "circulation", spy)
    rates = Rates(requests_per_year=5 * 52, offers_per_year=0)
    for hold_rate in (1.0, 0.0):
        listed.clear()
        stream = draw_arrivals(scheme, 6, 1, rates, assumptions=dataclasses.replace(
            QUIET, hold_rate=hold_rate, approved_share=1.0))
        process.run(scheme, stream, "engine")
        later = [(on, ref) for on, refs in listed for ref in refs
                 if (on - ROUND_DAY).days // 7 != stream.arrival_week[ref]]
        if hold_rate:  # listed in the week it arrived, on hold from the next week on
            assert listed and not later
        else:
            assert later


@pytest.mark.parametrize("late, weeks", [(1.0, [4]), (0.0, [1])])
def test_a_late_reconfirmation_makes_a_request_stale_for_the_drawn_weeks(scheme, late, weeks):
    # Due for reconfirmation on week 1's round day (the scheme's 90 days after referral).
    due = day(1) - timedelta(days=scheme.config.lifecycle.reconfirm_days)
    stream = script(scheme, 6, {0: [make_request(referred_on=due)]}, {1: homes(1, 1)},
                    late_reconfirm=late, stale_weeks=(3, 3))
    run = process.run(scheme, stream, "engine")
    assert proposed_weeks(run) == weeks and run.stale == (1 if late else 0)


def test_a_household_referred_long_before_it_arrives_reconfirms_once_not_every_week(scheme):
    """Several reconfirmations fell due before it arrived (a replayed year's old referral): one is
    asked for at once, the next a whole period later; not one a week until it catches up."""
    period = scheme.config.lifecycle.reconfirm_days
    long_ago = day(0) - timedelta(days=3 * period + 10)
    stream = script(scheme, 8, {0: [make_request(referred_on=long_ago)]}, {}, late_reconfirm=1.0,
                    stale_weeks=(1, 1))
    run = process.run(scheme, stream, "engine")
    assert run.stale == 1


def test_without_reconfirmation_terms_no_request_goes_stale(scheme):
    never = with_lifecycle(scheme, reconfirm_days=None)
    due = day(1) - timedelta(days=scheme.config.lifecycle.reconfirm_days)
    run = process.run(never, script(never, 6, {0: [make_request(referred_on=due)]}, {1: homes(1, 1)},
                                    late_reconfirm=1.0), "engine")
    assert proposed_weeks(run) == [1] and run.stale == 0


@pytest.mark.parametrize("refusals, review_weeks, weeks", [(2, 4, [0, 1, 6, 7]), (3, 2, [0, 1, 2, 5])])
def test_reaching_the_reasonable_refusals_puts_a_request_in_review(scheme, refusals, review_weeks, weeks):
    """Each home refused a week after it was proposed; the refusal that reaches the scheme's
    `reasonable_refusals` pauses the household for `review_weeks`, and the count starts again."""
    ruled = with_lifecycle(scheme, reasonable_refusals=refusals)
    stream = script(ruled, 10, {0: [make_request()]}, {0: homes(0, 4)}, household_refusal=1.0,
                    review_weeks=review_weeks)
    run = process.run(ruled, stream, "engine")
    assert proposed_weeks(run) == weeks
    # Four refusals: a review at each `refusals`-th.
    assert run.reviews == 4 // refusals and run.refused_by_household == 4 and not run.moves


# -- stages: lapses, refusals, never again ------------------------------------------------------------

@pytest.mark.parametrize("days, weeks", [(3, [0, 1]), (5, [0, 2]), (8, [0, 2])])
def test_a_nomination_never_confirmed_lapses_at_the_first_round_after_its_due_date(scheme, days, weeks):
    """Proposed on a Monday: 3 working days is the Thursday (lapsed at the next Monday's round); 5
    is the next Monday itself (not after it: lapsed a week later); 8 the Thursday after."""
    ruled = with_lifecycle(scheme, days_to_confirm_nomination=days)
    run = process.run(ruled, script(ruled, 3, {0: [make_request()]}, {0: homes(0, 2)}, silent_confirm=1.0),
                      "engine")
    assert proposed_weeks(run) == weeks
    assert list(run.lapsed) == ["proposed"] and run.lapsed["proposed"] + run.live_at_end == 2


def test_a_tenancy_never_signed_lapses_after_the_schemes_days_to_sign(scheme):
    run = process.run(scheme, script(scheme, 8, {0: [make_request()]}, {0: homes(0, 2)}, silent_sign=1.0),
                      "engine")
    accepted = add_working_days(ROUND_DAY, 3)  # confirmed, viewed and accepted a day each
    due = add_working_days(accepted, scheme.config.lifecycle.days_to_sign)
    first_after = next(w for w in range(8) if day(w) > due)
    assert proposed_weeks(run) == [0, first_after] and run.lapsed == {"accepted": 1}


@pytest.mark.parametrize("ending", [{"household_refusal": 1.0}, {"landlord_refusal": 1.0},
                                    {"silent_confirm": 1.0}, {"silent_view": 1.0}, {"silent_answer": 1.0}])
@pytest.mark.parametrize("policy", process.POLICIES)
def test_a_refused_or_lapsed_pair_is_never_proposed_again(scheme, ending, policy):
    run = process.run(scheme, script(scheme, 10, {0: [make_request()]}, {0: homes(0, 1)}, **ending), policy)
    assert [(on, pairs) for on, pairs in run.proposed if pairs] == [(ROUND_DAY, [("RQ-1", "OF-0-0")])]
    assert run.still_waiting == 1 and list(run.pot.offers) == ["OF-0-0"]
    assert run.refused_by_household + run.refused_by_landlord + sum(run.lapsed.values()) == 1


def test_a_pair_is_answered_the_same_way_in_every_policy():
    """The stage draws are keyed by seed, pair and stage: about 15% of households refuse."""
    assumptions = Assumptions()
    steps = [next_step(SCHEME, 1, assumptions, Live(make_request(ref=f"RQ-{k}"), make_offer(),
                                                    ProposalStatus.viewing, ROUND_DAY, ROUND_DAY))
             for k in range(2000)]
    again = next_step(SCHEME, 1, assumptions, Live(make_request(ref="RQ-7"), make_offer(),
                                                   ProposalStatus.viewing, ROUND_DAY, ROUND_DAY))
    assert again == steps[7]
    refused = sum(s.outcome == "refuse_household" for s in steps) / len(steps)
    assert 0.10 < refused < 0.17  # 15%, less the answers that came too late (they lapse)


# -- homes: kept for households, or into the pot --------------------------------------------------------

def test_with_answer_share_zero_every_home_goes_into_the_pot(scheme):
    for share, any_for in ((0.0, False), (1.0, True)):
        offered = []
        for seed in (1, 2, 3):
            run_scheme, _, stream = setting_stream(scheme, "default", 52, seed, Assumptions(answer_share=share))
            figures = process.run(run_scheme, stream, "today").figures()
            offered.append(figures["offered_for_households"])
            assert figures["homes_offered"] > 0
        assert any(offered) == any_for, (share, offered)
    assert not Answering(Assumptions(answer_share=0.0)).holds(1, 0, "fenland", 0, balance=-5)


def test_members_keep_more_homes_back_the_more_they_owe():
    chances = [Assumptions().answer_probability(balance) for balance in (3, 2, 1, 0, -1, -2)]
    assert chances == sorted(chances) and chances[-1] == 1.0 and chances[0] < chances[3] < 1.0


def test_a_kept_home_goes_into_the_pot_when_no_household_turns_up():
    terms = Assumptions()
    answering = Answering(terms)
    kept = [k for k in range(50) if answering.holds(1, 0, "fenland", k, balance=0)]
    assert kept  # 90% of an even member's homes are kept back
    assert answering.answer(1, terms.hold_weeks - 1, ROUND_DAY, {}, {}) == ([], [])
    made, expired = answering.answer(1, terms.hold_weeks, ROUND_DAY, {}, {})
    assert made == [] and sorted(k for _, _, k in expired) == kept


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=request_st("RQ-1"), member=st.sampled_from(PROVIDERS), pick=st.integers(0, 10 ** 6))
def test_a_home_made_for_a_listed_household_passes_every_rule(request, member, pick):
    ctx = MatchContext(SCHEME, ROUND_DAY)
    areas = serving_areas(ctx, member, request)
    if not areas:
        return
    home = home_for("OF-X", member, request, areas, ROUND_DAY, random.Random(pick))
    assert home.for_request == request.ref
    assert failed_rules(ctx, request, home) == []


def test_owing_members_offer_more_often(scheme):
    stream = setting_stream(scheme, "stress", 52, 1, Assumptions())[2]
    member = max(stream.offer_rate, key=stream.offer_rate.get)
    for week in range(52):  # the same draw: never fewer homes when owing more
        counts = [stream.offer_count(week, member, b) for b in (4, 2, 0, -2, -4)]
        assert counts == sorted(counts)
    assert sum(stream.offer_count(w, member, -2) for w in range(52)) > \
        sum(stream.offer_count(w, member, 2) for w in range(52))
    assert stream.offer(3, member, 0) == stream.offer(3, member, 0)  # the same home whoever asks


# -- policies --------------------------------------------------------------------------------------

def test_the_engine_waiting_for_every_answer_runs_no_round_while_a_proposal_lives(scheme):
    big = make_offer(ref="OF-B", bedrooms=3, property_type="house", available_from=day(1))
    stream = script(scheme, 6, {0: [make_request(ref="RQ-A")], 1: [make_request(ref="RQ-B", bedrooms_needed=3)]},
                    {0: homes(0, 1), 1: [big]}, sign_days=(5, 5))
    weekly, wait = (process.run(scheme, stream, p) for p in ("engine", "engine_wait"))
    # RQ-A's home is signed on 4 December (a day each to confirm, view and answer, five to sign).
    assert [m.week for m in weekly.moves] == [2, 3] and weekly.moves[0].request == "RQ-A"
    assert proposed_weeks(weekly) == [0, 1] and proposed_weeks(wait) == [0, 2]


def _ctx(scheme):
    return MatchContext(scheme, ROUND_DAY)


def test_today_gives_a_home_offered_for_a_household_to_that_household(scheme):
    older = make_request(ref="RQ-OLD", referred_on=date(2026, 1, 5))
    newer = make_request(ref="RQ-NEW", referred_on=date(2026, 9, 1))
    home = make_offer(ref="OF-FOR", for_request="RQ-NEW")
    assert first_offered(_ctx(scheme), [older, newer], [home], {}) == [("RQ-NEW", "OF-FOR")]
    # A home offered for nobody goes to the household circulated longest; so does one offered for a
    # household it does not suit.
    assert first_offered(_ctx(scheme), [older, newer], [make_offer(ref="OF-ANY")], {}) == [("RQ-OLD", "OF-ANY")]
    unsuited = make_request(ref="RQ-BIG", bedrooms_needed=4, referred_on=date(2026, 9, 1))
    assert first_offered(_ctx(scheme), [older, unsuited], [make_offer(ref="OF-X", for_request="RQ-BIG")],
                         {}) == [("RQ-OLD", "OF-X")]


def test_today_the_first_suitable_home_offered_wins(scheme):
    first = make_offer(ref="OF-Z", available_from=ROUND_DAY - timedelta(days=10))
    later = make_offer(ref="OF-A", available_from=ROUND_DAY)
    assert first_offered(_ctx(scheme), [make_request()], [later, first], {}) == [("RQ-1", "OF-Z")]


@pytest.mark.parametrize("policy, household", [("today", "RQ-NEW"), ("fcfs", "RQ-OLD")])
def test_in_the_process_today_honours_a_home_offered_for_a_household(scheme, policy, household):
    older = make_request(ref="RQ-OLD", referred_on=date(2026, 1, 5))
    newer = make_request(ref="RQ-NEW", referred_on=date(2026, 9, 1))
    home = make_offer(ref="OF-FOR", for_request="RQ-NEW", available_from=ROUND_DAY)
    run = process.run(scheme, script(scheme, 3, {0: [older, newer]}, {0: [home]}), policy)
    assert run.proposed[0] == (ROUND_DAY, [(household, "OF-FOR")])
    assert run.moves[0].for_household == (household == "RQ-NEW")


def test_fcfs_serves_the_oldest_request_with_the_first_available_offer(scheme):
    old = make_request(ref="RQ-OLD", referred_on=date(2026, 1, 5))
    new = make_request(ref="RQ-NEW", referred_on=date(2026, 9, 1), provider="peterborough_city")
    soon = make_offer(ref="OF-Z", available_from=ROUND_DAY - timedelta(days=10))
    later = make_offer(ref="OF-A", available_from=ROUND_DAY)
    assert first_come_first_served(_ctx(scheme), [new, old], [later, soon], {}) == \
        [("RQ-OLD", "OF-Z"), ("RQ-NEW", "OF-A")]


@pytest.mark.parametrize("order", [first_offered, first_come_first_served])
def test_hand_policies_keep_the_debt_limit(scheme, order):
    requests = [make_request(ref=f"RQ-{k}", referred_on=date(2026, 1, k + 1)) for k in range(3)]
    offers = [make_offer(ref=f"OF-{k}") for k in range(3)]
    # fenland owes 1 already, max_debt 2: one more of its tenants may be placed, not three.
    assert order(_ctx(scheme), requests, offers, {"fenland": -1, "cambridge_city": 1}) == [("RQ-0", "OF-0")]


def test_policies_give_the_same_answer_with_precomputed_compatibility():
    """`compatible` (rules in NumPy form) is only a speed-up of `is_eligible`."""
    from matching import check
    from matching.policies import compatible_offers, random_order
    from reciprocal.simulation.generator import generate
    inst = generate("pilot", 2)
    ctx = MatchContext(inst.scheme, inst.on)
    table = compatible_offers(ctx, inst.requests, inst.offers, inst.balances)
    for order in (first_come_first_served, first_offered):
        slow = order(ctx, inst.requests, inst.offers, inst.balances)
        assert slow == order(ctx, inst.requests, inst.offers, inst.balances, table)
        assert slow and check.violations(ctx, inst.requests, inst.offers, inst.balances, slow) == []
    shuffled = random_order(ctx, inst.requests, inst.offers, inst.balances, random.Random(7))
    assert shuffled == random_order(ctx, inst.requests, inst.offers, inst.balances, random.Random(7), table)
    assert check.violations(ctx, inst.requests, inst.offers, inst.balances, shuffled) == []
