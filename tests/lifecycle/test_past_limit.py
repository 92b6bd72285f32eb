"""Issue 19: a counted give falls through and its member ends past its debt limit. Every place a
person looks says so, naming since when and why (`reciprocal.ledger.counted`); a later round places
none of its tenants until it is back within; its live placement still signs; `audit verify`
passes; and a proposal inserted by hand as if made while it was past its limit is named by verify.
On the suite's backend (SQLite, or PostgreSQL with RECIPROCAL_TEST_DATABASE_URL).

Cambridge City and Fenland, both with max_debt 1 here, gives counted from `proposed` (the default):

| day   | what happens                                                           | fenland counted |
| ----- | ---------------------------------------------------------------------- | --------------- |
| 11-23 | round 1: RQ-F1, RQ-F2 (fenland's) into OF-C1, OF-C2; RQ-C1 into OF-F1  | -2 + 1 = -1     |
| 11-25 | RQ-C1's household refuses OF-F1: fenland's give falls through; RQ-F1   | -2: past by 1   |
|       | and RQ-F2 accept their homes                                           |                 |
| 11-30 | round 2: RQ-F3 is not placed (past its limit); OF-F1 goes to RQ-C2     | -1              |
| 12-01 | RQ-F1 signs (its placement was live), and OF-F1's move signs           | -1              |
| 12-07 | round 3: RQ-F3 placed, fenland giving OF-F2 in the same round          | -1              |
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from reciprocal import audits
from reciprocal.audits import packs
from reciprocal.domain import RefusedBy
from reciprocal.intake import pot
from reciprocal.ledger import counted
from reciprocal.lifecycle import proposals, run, trail, views
from reciprocal.storage import ProposalRow

from tests.conftest import make_offer, make_request
from tests.moves import to_accepted

ROUND_1, REFUSED, ROUND_2, SIGNED, ROUND_3 = (date(2026, 11, 23), date(2026, 11, 25), date(2026, 11, 30),
                                              date(2026, 12, 1), date(2026, 12, 7))


def with_max_debt(scheme, n: int):
    terms = scheme.config.fairness.model_copy(update={"max_debt": n})
    return type(scheme)(scheme.config.model_copy(update={"fairness": terms}), scheme.providers, scheme.source)


def city_home(ref):
    return make_offer(ref=ref, provider="cambridge_city", area="cambridge")


def fenland_home(ref):
    return make_offer(ref=ref, provider="fenland", area="fenland")


def fenland_tenant(ref, waited=0):
    return make_request(ref=ref, provider="fenland", avoid_areas=("fenland",),
                        referred_on=date(2026, 10, 1) + timedelta(days=waited))


def city_tenant(ref):
    return make_request(ref=ref, provider="cambridge_city", avoid_areas=("cambridge",))


def proposal_of(db, request: str) -> dict:
    return next(p for p in views.proposal_list(db) if p["request"] == request)


@pytest.fixture
def strict(scheme):
    assert scheme.gives_count_from == "proposed"
    assert scheme.providers["fenland"].max_debt is None and scheme.providers["cambridge_city"].max_debt is None
    return with_max_debt(scheme, 1)


@pytest.fixture
def fell_through(db, strict):
    """Round 1 proposed, then fenland's give refused by the household (the table above)."""
    pot.add_records(db, [city_home("OF-C1"), city_home("OF-C2"), fenland_home("OF-F1")])
    pot.add_records(db, [fenland_tenant("RQ-F1"), fenland_tenant("RQ-F2", 1), city_tenant("RQ-C1")])
    first = run.run_round(db, strict, ROUND_1)
    made = {(p["request"], p["offer"]) for p in views.round_view(db, first.round_id)["proposals"]}
    assert made == {("RQ-F1", "OF-C1"), ("RQ-F2", "OF-C2"), ("RQ-C1", "OF-F1")} or \
        made == {("RQ-F1", "OF-C2"), ("RQ-F2", "OF-C1"), ("RQ-C1", "OF-F1")}
    give = proposal_of(db, "RQ-C1")["id"]
    run.refuse(db, strict, give, REFUSED, RefusedBy.household, strict.config.lifecycle.refusal_reasons[0],
               reasonable=False)
    for request in ("RQ-F1", "RQ-F2"):  # accepted: live (due to sign in 20 working days) in round 2
        to_accepted(db, strict, proposal_of(db, request)["id"], REFUSED)
    return give


def where(db, scheme, on=None) -> counted.Position:
    with db.reading() as session:
        return counted.positions(session, scheme, on)["fenland"]


def test_a_give_that_falls_through_is_said_everywhere_and_the_member_waits_until_back_within(db, strict,
                                                                                            fell_through):
    give = fell_through
    why = f"past its limit by 1 since {REFUSED.isoformat()}: proposal {give}, the home it was giving, refused by the household"
    # The member is past its limit (counted: two placements live, its give gone), since the refusal.
    fenland = where(db, strict)
    assert (fenland.counted_balance, fenland.past_limit_by, fenland.past_limit_since) == (-2, 1, REFUSED)
    assert fenland.why() == why
    with db.reading() as session:
        assert proposals.counted_balances(session, strict).total["fenland"] == fenland.counted_balance
    assert where(db, strict, REFUSED - timedelta(days=1)).past_limit_by == 0  # within before it

    # `due` tells fenland, as it may see it, and nobody else.
    (item,) = [d for d in views.due_for(db, strict, REFUSED, REFUSED, "fenland") if d["what"] == "debt_limit"]
    assert item["action"].startswith(why) and item["past_limit_by"] == 1
    assert not [d for d in views.due_for(db, strict, REFUSED, REFUSED, "cambridge_city")
                if d["what"] == "debt_limit"]

    # Round 2: its new household is not placed, with the plain reason; its home still goes.
    pot.add_records(db, [city_home("OF-C3")])
    pot.add_records(db, [fenland_tenant("RQ-F3"), city_tenant("RQ-C2")])
    second = views.round_view(db, run.run_round(db, strict, ROUND_2).round_id)
    assert "RQ-F3" not in {p["request"] for p in second["proposals"]}
    (left,) = [u for u in second["unmatched"] if u["request"] == "RQ-F3"]
    assert left["reason_code"] == "provider_past_debt_limit"
    assert left["reason"].startswith(f"its provider fenland is {why}; none of its tenants is placed")
    assert ("RQ-C2", "OF-F1") in {(p["request"], p["offer"]) for p in second["proposals"]}

    # The live placement still signs, though its member is past its limit.
    placed = proposal_of(db, "RQ-F1")["id"]
    assert run.sign(db, strict, placed, SIGNED, SIGNED).changes[0].to_status == "signed"

    # The pack (every format) and `audit fairness` (every format) say why, as of the refusal's week.
    pack = packs.member_pack(db, strict, "fenland", REFUSED)
    assert pack["debt_limit"]["why_past_limit"] == why and pack["debt_limit"]["exposure"] == 1
    for fmt, render in packs.RENDER.items():
        assert f"proposal {give}, the home it was giving, refused by the household" in render(pack), fmt
    report = audits.fairness(db, strict, until=REFUSED, today=REFUSED)
    row = next(r for r in report["providers"] if r["provider"] == "fenland")
    assert (row["past_limit_by"], row["why_past_limit"], row["exposure"]) == (1, why, 1)
    assert report["scheme_measures"]["providers_past_debt_limit"] == ["fenland"]
    columns, rows = audits.fairness_table(report)
    for key in ("counted_balance", "past_limit_by", "past_limit_since", "why_past_limit", "exposure"):
        assert key in columns
    from reciprocal.audits.exports import csv_text
    from reciprocal.audits.html import fairness_html
    assert why in csv_text(columns, rows) and why in fairness_html(report)
    # Another member sees how far and since when, never whose household refused what.
    other = audits.fairness(db, strict, until=REFUSED, today=REFUSED, for_provider="cambridge_city")
    seen = next(r for r in other["providers"] if r["provider"] == "fenland")
    assert seen["why_past_limit"] == f"past its limit by 1 since {REFUSED.isoformat()}"

    # Back within once a give of its counts: OF-F1's move to RQ-C2 signs.
    regive = proposal_of(db, "RQ-C2")["id"]
    to_accepted(db, strict, regive, SIGNED)
    run.sign(db, strict, regive, SIGNED, SIGNED)
    assert where(db, strict).past_limit_by == 0
    # Round 3: RQ-F3 placed again, fenland giving a home in the same round (room 0 from -1).
    pot.add_records(db, [fenland_home("OF-F2")])
    pot.add_records(db, [city_tenant("RQ-C3")])
    third = views.round_view(db, run.run_round(db, strict, ROUND_3).round_id)
    # Which city tenant takes OF-F2 is a tie on every objective (RQ-C1, back in the pot after
    # refusing OF-F1, waited as long as RQ-C3); that fenland gives it is what lets RQ-F3 move.
    made = {p["request"]: p["offer"] for p in third["proposals"]}
    assert "RQ-F3" in made and "OF-F2" in made.values()
    assert {r for r, o in made.items() if o == "OF-F2"} <= {"RQ-C1", "RQ-C3"}

    # `audit verify` replays it all and finds every proposal made within the rule.
    result = audits.verify(db, scheme=strict)
    assert result.ok, [str(f) for f in result.failures]


def test_a_proposal_inserted_by_hand_while_past_the_limit_is_named_by_verify(db, strict, fell_through):
    assert audits.verify(db, scheme=strict).ok
    pot.add_records(db, [city_home("OF-C9")])
    pot.add_records(db, [fenland_tenant("RQ-F9")])
    # Someone writes a proposal placing fenland's tenant behind the engine's back, with a trail
    # event that chains onto the trail (the chain re-hashed): fenland was past its limit.
    with db.transaction() as session:
        round_id = session.execute(text("SELECT max(id) FROM round")).scalar()
        forged = ProposalRow(round_id=round_id, request_ref="RQ-F9", offer_ref="OF-C9", from_provider="fenland",
                             to_provider="cambridge_city", status="proposed", stage_on=ROUND_2)
        session.add(forged)
        session.flush()
        trail.record(session, forged, None, "proposed", ROUND_2, "engine", {"round": round_id})
        forged_id = forged.id
    result = audits.verify(db, scheme=strict)
    assert not result.ok
    named = [f for f in result.failures if f.check == "debt_limit"]
    assert [f.proposal for f in named] == [forged_id]
    assert str(named[0]).startswith(f"proposal {forged_id}: was made on {ROUND_2.isoformat()}")
    assert "fenland past its debt limit" in str(named[0]) and "counted balance -2" in str(named[0])


def test_a_homes_bedrooms_updated_while_proposed_moves_its_band_and_verify_judges_each_batch_in_its_own_band(db, scheme):
    """A proposal counts in the band its home has at each moment: an `offer update` of the
    bedrooms moves a live proposal into another band (the member may end past that band's limit,
    and is shown so), but the round that made it is judged in the band it was made in; a batch
    really made past a band limit is still named (found by a review: verify replayed every batch
    in today's band)."""
    import dataclasses

    from reciprocal.lifecycle.updates import Update
    fair = scheme.config.fairness.model_copy(update={"band_max_debt": 1, "max_debt": 5})
    banded = dataclasses.replace(scheme, config=scheme.config.model_copy(update={"fairness": fair}),
                                 providers={p: c.model_copy(update={"max_debt": None})
                                            for p, c in scheme.providers.items()})
    day = date(2026, 11, 23)
    pot.add_records(db, [make_request(ref="RQ-1", max_bedrooms=3), make_request(ref="RQ-2", max_bedrooms=3)],
                    approved_on=day)
    pot.add_records(db, [make_offer(ref="OF-1", bedrooms=3), make_offer(ref="OF-2", bedrooms=2)])
    made = views.round_view(db, run.run_round(db, banded, day).round_id)["proposals"]
    assert {(p["request"], p["offer"]) for p in made} == {("RQ-1", "OF-1"), ("RQ-2", "OF-2")}
    assert audits.verify(db, scheme=banded).ok
    run.update_cases(db, banded, "offer", [Update("OF-1", {"bedrooms": "2"})], day + timedelta(days=2))
    with db.reading() as session:
        assert proposals.counted_balances(session, banded).by_band["fenland"].get("2 bed") == -2
        assert len(proposals.live(session)) == 2  # a fairness band never cancels a household's proposal
    result = audits.verify(db, scheme=banded)
    assert result.ok, [str(f) for f in result.failures]
