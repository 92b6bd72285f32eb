"""A replay answers a pair the scheme really proposed as its trail says (`replay._real_answers`,
`stages.next_step`), and draws the answers of every other pair."""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace as Row

from reciprocal.domain import Offer, ProposalStatus, PropertyType, Request, RequestKind, Risk
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.simulation.replay import _real_answers
from reciprocal.simulation.stages import Live, next_step
from reciprocal.working_days import add_working_days

MON = date(2026, 11, 23)


def _event(proposal_id, before, after, on):
    return Row(proposal_id=proposal_id, from_status=before, to_status=after, on=on)


def test_the_trail_gives_each_stage_its_outcome_and_working_days():
    proposals = [Row(id=1, request_ref="R1", offer_ref="O1", refused_by=None),
                 Row(id=2, request_ref="R2", offer_ref="O2", refused_by="household"),
                 Row(id=3, request_ref="R3", offer_ref="O3", refused_by=None),
                 Row(id=4, request_ref="R4", offer_ref="O4", refused_by=None)]
    events = [_event(1, None, "proposed", MON), _event(1, "proposed", "nomination_confirmed", date(2026, 11, 25)),
              _event(1, "nomination_confirmed", "viewing", date(2026, 12, 2)),
              _event(2, None, "proposed", MON), _event(2, "proposed", "nomination_confirmed", MON),
              _event(2, "nomination_confirmed", "viewing", date(2026, 11, 30)),
              _event(2, "viewing", "refused", date(2026, 12, 1)),
              _event(3, None, "proposed", MON), _event(3, "proposed", "lapsed", date(2026, 11, 27)),
              _event(4, None, "proposed", MON), _event(4, "proposed", "cancelled", date(2026, 11, 24))]
    answers = _real_answers(proposals, events)
    assert answers[("R1", "O1", "proposed")] == ("next", 2)
    assert answers[("R1", "O1", "nomination_confirmed")] == ("next", 5)
    assert answers[("R2", "O2", "proposed")] == ("next", 0)
    assert answers[("R2", "O2", "viewing")] == ("refuse_household", 1)
    assert answers[("R3", "O3", "proposed")] == ("lapse", 4)
    assert not any(key[0] == "R4" for key in answers)  # cancelled: no answer, drawn in a replay
    assert ("R1", "O1", "viewing") not in answers  # still live at its viewing


def test_a_known_answer_is_used_and_any_other_pair_is_drawn(scheme):
    request = Request(ref="R1", provider="cambridge_city", kind=RequestKind.survivor, current_tenancy="secure",
                      bedrooms_needed=2, referred_on=MON, risk=Risk.high)
    offer = Offer(ref="O1", provider="fenland", area=next(iter(scheme.config.areas)), bedrooms=2,
                  property_type=PropertyType.flat, available_from=MON)
    live = Live(request, offer, ProposalStatus.proposed, MON, MON)
    never = Assumptions(landlord_refusal=1.0)  # every drawn nomination refused
    drawn = next_step(scheme, 1, never, live)
    assert drawn.outcome == "refuse_landlord"
    known = {("R1", "O1", "proposed"): ("next", 2)}
    real = next_step(scheme, 1, never, live, known)
    assert real.outcome == "next" and real.day == add_working_days(MON, 2)
    lapsed = next_step(scheme, 1, never, live, {("R1", "O1", "proposed"): ("lapse", 4)})
    assert lapsed.outcome == "lapse" and lapsed.day == add_working_days(MON, scheme.days_for(ProposalStatus.proposed))
