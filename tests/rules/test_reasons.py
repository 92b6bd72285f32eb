"""Reasons a coordinator reads (issue 12): each says the plain cause, in the scheme's own terms.

- A household that lost its compatible home is told so in the scheme's own objective order.
- After a refusal re-offers the freed home, the household it went to leaves the unmatched list,
  and no household's reason is replaced by what the one-home re-solve saw.
- Per-rule exclusion counts say when they add up to more than the offers.
- Households of a suspended member, of one not yet joined or gone, or below the risk gate are told
  that, not a rule count.
- A proposal's balance line names the debt limit.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from matching.engine import solve_round
from matching.explain import BELOW_RISK_GATE, LANDLORD_NOT_ACTIVE
from reciprocal.domain import RefusedBy, Risk
from reciprocal.intake import pot
from reciprocal.lifecycle import run, views

from tests.conftest import ROUND_DAY, make_offer, make_request
from tests.strategies import SCHEME, scheme_with_objectives


def test_the_higher_priority_reason_names_the_schemes_own_order():
    scheme = scheme_with_objectives(["longest_waiting", "households_moved", "high_risk_moved"])
    old = make_request(ref="RQ-OLD", referred_on=ROUND_DAY - timedelta(days=300), risk=Risk.standard)
    urgent = make_request(ref="RQ-URGENT", referred_on=ROUND_DAY - timedelta(days=3), risk=Risk.high)
    result = solve_round(scheme, ROUND_DAY, [old, urgent], [make_offer()], {})
    assert [p["request"] for p in result.proposals] == ["RQ-OLD"]
    left, = result.unmatched
    assert left["reason"].endswith("in its order: longest_waiting, households_moved, high_risk_moved")
    assert "risk, number moved" not in left["reason"]


def test_a_refusal_re_offers_the_home_and_the_round_keeps_true_reasons(db, scheme):
    first = make_request(ref="RQ-A", referred_on=ROUND_DAY - timedelta(days=300))
    second = make_request(ref="RQ-B", referred_on=ROUND_DAY - timedelta(days=10))
    elsewhere = make_request(ref="RQ-C", bedrooms_needed=4)  # no home fits it
    pot.add_records(db, [first, second, elsewhere], approved_on=ROUND_DAY)
    pot.add_records(db, [make_offer(ref="OF-1")])
    round_id = run.run_round(db, scheme, ROUND_DAY).round_id
    before = {u["request"]: u for u in views.round_view(db, round_id)["unmatched"]}
    assert before["RQ-B"]["reason_code"] == "compatible_offers_went_to_higher_priority"
    proposal = next(p for p in views.round_view(db, round_id)["proposals"] if p["request"] == "RQ-A")
    run.refuse(db, scheme, proposal["id"], ROUND_DAY + timedelta(days=1), RefusedBy.household, "other",
               reasonable=False)
    after = views.round_view(db, round_id)
    assert ("RQ-B", "OF-1") in {(p["request"], p["offer"]) for p in after["proposals"]}
    unmatched = {u["request"]: u for u in after["unmatched"]}
    assert "RQ-B" not in unmatched  # it has a proposal now
    assert unmatched["RQ-C"] == before["RQ-C"]  # the one-home re-solve did not rewrite it


def test_exclusion_counts_say_when_an_offer_failed_several_rules():
    request = make_request(avoid_areas=("cambridge",), bedrooms_needed=4)
    result = solve_round(SCHEME, ROUND_DAY, [request], [make_offer()], {})
    left, = result.unmatched
    assert left["excluded_by"] == {"safety_buffer": 1, "size": 1}
    assert "an offer can fail several rules" in left["reason"]
    fits_size = solve_round(SCHEME, ROUND_DAY, [replace(request, bedrooms_needed=2)], [make_offer()], {})
    assert "several rules" not in fits_size.unmatched[0]["reason"]


def _with_member(**changes):
    providers = dict(SCHEME.providers)
    providers["fenland"] = providers["fenland"].model_copy(update=changes)
    return replace(SCHEME, providers=providers)


def test_households_of_a_member_not_active_are_told_why_plainly():
    cases = [(_with_member(status="suspended"), "fenland is suspended"),
             (_with_member(joined=ROUND_DAY + timedelta(days=30)), "joins the scheme on 2026-12-23"),
             (_with_member(left=ROUND_DAY - timedelta(days=1)), "left the scheme on 2026-11-22")]
    for scheme, words in cases:
        result = solve_round(scheme, ROUND_DAY, [make_request()], [make_offer()], {})
        left, = result.unmatched
        assert left["reason_code"] == LANDLORD_NOT_ACTIVE and words in left["reason"], left


def test_households_below_the_risk_gate_are_told_so():
    priority = SCHEME.config.priority.model_copy(update={"risk_gate": Risk.high})
    scheme = replace(SCHEME, config=SCHEME.config.model_copy(update={"priority": priority}))
    result = solve_round(scheme, ROUND_DAY, [make_request(risk=Risk.medium)], [make_offer()], {})
    left, = result.unmatched
    assert left["reason_code"] == BELOW_RISK_GATE
    assert left["reason"] == ("its risk (medium) is below the scheme's risk gate (high): only high risk "
                              "and above are matched")


def test_a_proposals_balance_line_names_the_debt_limit():
    result = solve_round(SCHEME, ROUND_DAY, [make_request()], [make_offer()], {"fenland": -1})
    line = next(r for r in result.proposals[0]["reasons"] if "balance" in r)
    assert line.startswith(f"fenland balance -1 -> -2 (its tenant is rehoused; its debt limit is "
                           f"-{SCHEME.max_debt('fenland')}")
