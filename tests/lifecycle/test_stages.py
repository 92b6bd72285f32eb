"""Proposals through their stages (SPEC section 6), each behaviour alone on the demo pot.

Round 1 on the demo data proposes RQ-0101..RQ-0104 and RQ-0107 (the README's worked weeks); each
test starts from there on a fresh database."""
from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from reciprocal.audits import verify
from reciprocal.domain import OfferStatus, ProposalStatus, RefusedBy, RequestOutcome, Role
from reciprocal.errors import StateError
from reciprocal.intake import listing, pot
from reciprocal.ledger import balances
from reciprocal.lifecycle import run, views
from reciprocal.storage import MoveRow, ProposalEventRow
from reciprocal.working_days import add_working_days
from tests.conftest import DEMO_DATA, ROUND_DAY
from tests.moves import sign_live, to_accepted

WEEK_2 = date(2026, 11, 30)


def stage(db, pid):
    return views.proposal_view(db, pid)["status"]


def test_a_round_proposes_with_a_due_date_in_working_days(db, scheme, week1):
    view = views.proposal_view(db, week1["RQ-0101"])
    assert view["status"] == "proposed" and view["stage_on"] == "2026-11-23"
    assert view["due_on"] == add_working_days(ROUND_DAY, scheme.config.lifecycle.days_to_confirm_nomination).isoformat()
    assert [e["to"] for e in view["trail"]] == ["proposed"] and view["trail"][0]["role"] == "engine"


def test_due_dates_skip_weekends_and_bank_holidays():
    assert add_working_days(date(2026, 12, 23), 3) == date(2026, 12, 30)  # Christmas, Boxing Day (observed)
    assert add_working_days(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Friday to Monday


def test_stages_go_one_at_a_time_and_record_who_and_when(db, scheme, week1):
    pid = week1["RQ-0101"]
    with pytest.raises(StateError, match="its next stage is nomination_confirmed"):
        run.advance(db, scheme, pid, ROUND_DAY, Role.coordinator, ProposalStatus.viewing)
    out = run.advance(db, scheme, pid, date(2026, 11, 24), Role.offering_landlord)
    assert [(c.from_status, c.to_status) for c in out.changes] == [("proposed", "nomination_confirmed")]
    assert run.advance(db, scheme, pid, date(2026, 11, 24), Role.offering_landlord,
                       ProposalStatus.nomination_confirmed).changes == []  # already there: nothing
    run.advance(db, scheme, pid, date(2026, 11, 25), Role.offering_landlord, viewing_on=date(2026, 11, 27))
    run.advance(db, scheme, pid, date(2026, 11, 27), Role.household)
    with pytest.raises(StateError, match="next step is signing"):
        run.advance(db, scheme, pid, date(2026, 11, 27), Role.household)
    trail = views.proposal_view(db, pid)["trail"]
    assert [(e["from"], e["to"], e["role"], e["on"]) for e in trail] == [
        (None, "proposed", "engine", "2026-11-23"),
        ("proposed", "nomination_confirmed", "offering_landlord", "2026-11-24"),
        ("nomination_confirmed", "viewing", "offering_landlord", "2026-11-25"),
        ("viewing", "accepted", "household", "2026-11-27")]
    assert views.proposal_view(db, pid)["viewing_on"] == "2026-11-27"


def test_a_change_dated_before_the_stage_began_is_refused(db, scheme, week1):
    with pytest.raises(StateError, match="would come before it"):
        run.advance(db, scheme, week1["RQ-0101"], date(2026, 11, 20), Role.coordinator)


def test_signing_is_the_move_and_a_second_signing_changes_nothing(db, scheme, week1):
    pid = week1["RQ-0102"]
    with pytest.raises(StateError, match="only an accepted proposal can be signed"):
        run.sign(db, scheme, pid, date(2026, 12, 7), ROUND_DAY)
    to_accepted(db, scheme, pid, ROUND_DAY)
    out = run.sign(db, scheme, pid, date(2026, 12, 7), date(2026, 11, 26))
    assert {(c.what, c.to_status) for c in out.changes} == {("proposal", "signed"), ("offer", "let"),
                                                            ("request", "moved")}
    assert run.sign(db, scheme, pid, date(2026, 12, 7), date(2026, 11, 26)).changes == []
    with db.reading() as session:
        (move,) = session.exec(select(MoveRow)).all()
    assert move.moved_on == date(2026, 12, 7)  # dated by the tenancy start, not the round
    with db.reading() as session:
        ledger = balances(session)
    assert ledger.total == {"cambridge_city": -1, "peterborough_city": 1}
    assert verify(db).ok


def test_a_refused_pair_is_never_proposed_again_and_the_home_is_reoffered(db, scheme, week1):
    pid = week1["RQ-0103"]
    offer = views.proposal_view(db, pid)["offer"]
    with pytest.raises(StateError, match="not one of the scheme's refusal reasons"):
        run.refuse(db, scheme, pid, ROUND_DAY, RefusedBy.household, "because", "", False)
    with pytest.raises(StateError, match="reasonable"):
        run.refuse(db, scheme, pid, ROUND_DAY, RefusedBy.household, "other", "")
    out = run.refuse(db, scheme, pid, date(2026, 11, 25), RefusedBy.household, "too_far_from_support",
                     "school", False)
    made = [c for c in out.changes if c.to_status == "proposed"]
    assert out.changes[0].to_status == "refused"
    assert [(c.request, c.offer) for c in made] == [("RQ-0106", offer)]  # the re-solve, same week
    later = run.run_round(db, scheme, WEEK_2)
    pairs = {(p["request"], p["offer"]) for p in views.proposal_list(db)}
    assert ("RQ-0103", offer) in pairs
    assert not [p for p in views.round_view(db, later.round_id)["proposals"]
                if (p["request"], p["offer"]) == ("RQ-0103", offer)]


def test_reasonable_refusals_up_to_the_limit_put_the_request_in_review(db, scheme, week1):
    assert scheme.config.lifecycle.reasonable_refusals == 2
    pid = week1["RQ-0101"]
    out = run.refuse(db, scheme, pid, ROUND_DAY, RefusedBy.household, "other", "", True, resolve=False)
    assert [c.what for c in out.changes] == ["proposal"]  # one reasonable refusal: not yet
    with db.transaction() as session:  # a second reasonable refusal of another home, recorded
        from reciprocal.lifecycle import proposals
        extra = dict(round_id=1, request_ref="RQ-0101", offer_ref="OF-2611-11", from_provider="fenland",
                     to_provider="x", explanation={})
        made = proposals.propose(session, scheme, [extra], ROUND_DAY)
        changes = proposals.refuse(session, scheme, int(made[0].ref), ROUND_DAY, RefusedBy.household,
                                   "other", "", True)
    assert [(c.what, c.to_status) for c in changes] == [("proposal", "refused"), ("request", "review")]
    assert listing.list_requests(db, "review")[0].ref == "RQ-0101"


def test_an_overdue_proposal_lapses_out_loud_at_the_next_round(db, scheme, week1):
    for request, pid in week1.items():
        if request != "RQ-0107":
            run.advance(db, scheme, pid, date(2026, 11, 24), Role.offering_landlord)
    out = run.run_round(db, scheme, WEEK_2)
    lapsed = [c for c in out.changes if c.to_status == "lapsed"]
    assert [(c.ref, c.from_status) for c in lapsed] == [(str(week1["RQ-0107"]), "proposed")]
    assert "due 2026-11-26" in lapsed[0].why or "2026-11-26" in lapsed[0].why
    assert views.round_view(db, out.round_id)["changes_before"][0]["to"] == "lapsed"


def test_live_proposals_reserve_their_home_and_household(db, scheme, week1):
    out = run.run_round(db, scheme, WEEK_2)
    live = {(p["request"], p["offer"]) for p in views.proposal_list(db, ["proposed"])}
    new = {(p["request"], p["offer"]) for p in views.round_view(db, out.round_id)["proposals"]}
    assert not {r for r, _ in new} & {r for r, _ in live - new}
    assert not {o for _, o in new} & {o for _, o in live - new}


def test_withdrawing_a_home_cancels_its_live_proposal_and_says_so(db, scheme, week1):
    offer = views.proposal_view(db, week1["RQ-0101"])["offer"]
    out = run.offer_change(db, scheme, offer, date(2026, 11, 24), OfferStatus.withdrawn)
    assert [(c.what, c.to_status) for c in out.changes] == [("proposal", "cancelled"), ("offer", "withdrawn")]


def test_hold_resume_close_and_reconfirm(db, scheme, week1):
    out = run.request_change(db, scheme, "hold", "RQ-0102", date(2026, 11, 24), reason="in hospital",
                             until=date(2026, 12, 14))
    assert [(c.what, c.to_status) for c in out.changes] == [("proposal", "cancelled"), ("request", "on_hold")]
    due = views.due_list(db, date(2026, 12, 14), date(2026, 12, 14))
    assert any(d["what"] == "request" and d["ref"] == "RQ-0102" for d in due)
    assert run.request_change(db, scheme, "resume", "RQ-0102", date(2026, 12, 14)).changes[0].to_status == "active"
    out = run.request_change(db, scheme, "close", "RQ-0105", date(2026, 12, 14),
                             outcome=RequestOutcome.moved_other_route)
    assert out.changes[-1].to_status == "closed"
    with pytest.raises(StateError):
        run.request_change(db, scheme, "reconfirm", "RQ-0105", date(2026, 12, 14))


def test_requests_not_reconfirmed_go_stale_and_come_back_when_reconfirmed(db, scheme, week1):
    late = date(2027, 6, 1)  # far past reconfirm_days from the import
    out = run.run_round(db, scheme, late)
    stale = {c.ref for c in out.changes if c.to_status == "stale"}
    assert "RQ-0105" in stale
    assert run.request_change(db, scheme, "reconfirm", "RQ-0105", late).changes[0].to_status == "active"


def test_rounds_cannot_go_back_in_time(db, scheme, week1):
    with pytest.raises(StateError, match="would come before it"):
        run.run_round(db, scheme, date(2026, 11, 1))


def test_every_change_is_in_the_trail_and_verify_checks_it(db, scheme, week1):
    sign_live(db, scheme, date(2026, 11, 24))
    assert verify(db).ok
    with db.transaction() as session:
        event = session.exec(select(ProposalEventRow).order_by(ProposalEventRow.id.desc())).first()
        event.role = "household"  # rewritten behind the engine's back
        session.add(event)
    result = verify(db)
    assert not result.ok and result.first.check == "trail_hash" and result.first.event is not None


@pytest.mark.parametrize("gives", ["proposed", "nomination_confirmed", "accepted", "signed"])
def test_rule_9_a_home_given_counts_from_the_schemes_stage(scheme, gives):
    """A member at its debt limit that gives a home in a round: with gives counted from a later
    stage than `proposed` it is not placed a tenant on the strength of it (so signing the round's
    moves in any order keeps every balance in its limit); with the default, the home it gives in
    the round funds its tenant's placement, and the exchange is proposed whole."""
    from matching.engine import solve_round
    from tests.conftest import make_offer, make_request
    from tests.strategies import with_gives
    scheme = with_gives(scheme, gives)
    fenland_home = make_offer(ref="OF-F", provider="fenland", area="fenland")
    city_home = make_offer(ref="OF-C", provider="cambridge_city", area="cambridge")
    fenland_tenant = make_request(ref="RQ-F", provider="fenland", avoid_areas=("fenland",))
    city_tenant = make_request(ref="RQ-C", provider="cambridge_city", avoid_areas=("cambridge",))
    result = solve_round(scheme, ROUND_DAY, [fenland_tenant, city_tenant], [fenland_home, city_home],
                         {"fenland": -scheme.max_debt("fenland")})
    if gives == "proposed":
        assert len(result.proposals) == 2 and result.unmatched == []
    else:
        assert {(p["request"], p["offer"]) for p in result.proposals} == {("RQ-C", "OF-F")}
        (left,) = result.unmatched
        assert left["request"] == "RQ-F" and left["reason_code"] == "provider_at_debt_limit"
    # With one home of headroom, the exchange is proposed: either signing order stays within it.
    result = solve_round(scheme, ROUND_DAY, [fenland_tenant, city_tenant], [fenland_home, city_home],
                         {"fenland": 1 - scheme.max_debt("fenland")})
    assert len(result.proposals) == 2


def test_the_old_round_commands_say_what_replaced_them_and_change_nothing(db_url, tmp_path, week1):
    from tests.helpers import reciprocal
    for args in (("round", "close", "1"), ("round", "close", "1", "--lapse-pending"),
                 ("round", "decide", "1", "--proposal", "1", "--accept")):
        done = reciprocal(*args, db=db_url, cwd=tmp_path)
        assert done.returncode == 4, done.stderr
        assert "nothing was changed" in done.stderr and "proposal" in done.stderr
    listed = reciprocal("proposal", "list", "--format", "json", db=db_url, cwd=tmp_path)
    import json
    assert {p["status"] for p in json.loads(listed.stdout)} == {"proposed"}


def test_a_referred_request_waits_for_its_landlords_approval(db, scheme, tmp_path):
    pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    pot.import_requests(db, scheme, DEMO_DATA / "requests.csv", referred=True)
    assert views.round_view(db, run.run_round(db, scheme, ROUND_DAY).round_id)["proposals"] == []
    out = run.request_change(db, scheme, "approve", "RQ-0101", ROUND_DAY)
    assert [(c.from_status, c.to_status) for c in out.changes] == [("referred", "active")]
    later = run.run_round(db, scheme, ROUND_DAY, again=True)  # a second round that day, asked for
    assert [p["request"] for p in views.round_view(db, later.round_id)["proposals"]] == ["RQ-0101"]
