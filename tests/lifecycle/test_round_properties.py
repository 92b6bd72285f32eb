"""Properties of whole rounds on the example scheme.

1. `solve_round` on random rounds: no proposal breaks a hard rule (by `matching.check.violations`
   and by an own re-check with `failed_rules` and the debt limit), no request or offer is in two
   proposals, and every request is either proposed or unmatched with a reason and a reason code
   that is true of the solution.
2. Through the database: offers and requests added with `add_records`, a round run, proposals
   randomly signed (through every stage), refused (which re-solves) or left to lapse at the next
   round, records added between rounds, then a second round on top. No step takes a member past
   its debt limit, counting every live proposal that would place one of its tenants; a round
   proposes only from its snapshot and explains every request; the ledger sums to zero and
   matches the moves, no home is let twice, and no pair is proposed twice.
"""
from __future__ import annotations

import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from matching.check import violations
from matching.engine import solve_round
from reciprocal.lifecycle import proposals
from reciprocal.lifecycle.run import run_round
from matching.rules import MatchContext, failed_rules, is_eligible, risk_gate
from reciprocal.domain import Offer, PropertyType, Request, RequestKind
from reciprocal.ledger import balances as ledger_balances
from reciprocal.intake.pot import add_records
from reciprocal.lifecycle.views import round_view
from reciprocal.storage import Database, MoveRow, OfferRow, ProposalRow, RequestRow, RoundRow

from tests.conftest import ROUND_DAY, ready_sqlite
from tests.moves import refuse, sign_live
from tests.oracle import counted_totals, placement_room, respects_debt_limit
from tests.strategies import (PROVIDERS, SCHEME, balances_st, gives_st, offer_st, request_st, round_st,
                              scheme_variant_st, with_gives)

REASON_CODES = {"no_compatible_offer", "compatible_offers_went_to_higher_priority", "provider_past_debt_limit",
                "provider_at_debt_limit", "not_chosen_by_objectives", "landlord_not_an_active_member",
                "below_the_risk_gate", "compatible_offers_offered_for_other_households"}


# -- 1. solve_round on random rounds ------------------------------------------------------------

def check_round(scheme, requests, offers, balances, declined, result):
    ctx = MatchContext(scheme, ROUND_DAY, declined)
    req = {r.ref: r for r in requests}
    off = {o.ref: o for o in offers}
    pairs = [(p["request"], p["offer"]) for p in result.proposals]

    # No hard rule broken: the engine's own check, and an independent re-check.
    assert violations(ctx, requests, offers, balances, pairs) == []
    for p in result.proposals:
        r, o = req[p["request"]], off[p["offer"]]
        assert failed_rules(ctx, r, o) == [], p
        assert p["from_provider"] == r.provider and p["to_provider"] == o.provider
        assert p["reasons"]
    # Rule 9 under the scheme's rule, restated in tests/oracle.py.
    r_index = {r.ref: i for i, r in enumerate(requests)}
    o_index = {o.ref: j for j, o in enumerate(offers)}
    matching = [(r_index[r], o_index[o]) for r, o in pairs]
    assert respects_debt_limit(matching, requests, offers, balances, scheme)

    def room(provider: str) -> int:
        return placement_room(matching, requests, offers, balances, provider, scheme)

    assert result.compatible_pairs == sum(is_eligible(ctx, r, o) for r in requests for o in offers)

    # One proposal per request and per offer.
    assert len({r for r, _ in pairs}) == len(pairs)
    assert len({o for _, o in pairs}) == len(pairs)

    # Every request proposed or unmatched with a reason, never both.
    proposed = {r for r, _ in pairs}
    unmatched = {u["request"]: u for u in result.unmatched}
    assert len(unmatched) == len(result.unmatched)
    assert proposed.isdisjoint(unmatched)
    assert proposed | set(unmatched) == set(req)
    used_offers = {o for _, o in pairs}
    order = scheme.config.matching.objectives
    households_maximal = ("households_moved" in order
                          and "ledger_imbalance" not in order[:order.index("households_moved")])
    for ref, u in unmatched.items():
        assert isinstance(u["reason"], str) and u["reason"].strip(), u
        assert u["reason_code"] in REASON_CODES, u
        eligible = [o.ref for o in offers if is_eligible(ctx, req[ref], o)]
        provider = req[ref].provider
        # The reason code is true of this solution.
        if u["reason_code"] == "landlord_not_an_active_member":
            assert not scheme.is_active(provider, ROUND_DAY) and eligible == [], u
        elif u["reason_code"] == "below_the_risk_gate":
            assert scheme.config.priority.risk_gate is not None and eligible == [], u
            assert not risk_gate(ctx, req[ref], None), u
        elif u["reason_code"] == "no_compatible_offer":
            assert scheme.is_active(provider, ROUND_DAY) and risk_gate(ctx, req[ref], None), u
            assert eligible == []
            # Which rules excluded how many offers (an offer counts under every rule it breaks).
            counts = Counter(name for o in offers for name in failed_rules(ctx, req[ref], o))
            assert u["excluded_by"] == dict(counts), u
            assert u["open_offers"] == len(offers)
        else:
            assert eligible, u
        if u["reason_code"] == "provider_at_debt_limit":
            assert room(provider) <= 0, u
        if u["reason_code"] == "provider_past_debt_limit":
            assert room(provider) < 0, u
        if u["reason_code"] == "compatible_offers_went_to_higher_priority":
            assert set(eligible) <= used_offers
        if u["reason_code"] == "not_chosen_by_objectives":
            assert not households_maximal, (order, u)
        # With most households moved (and nothing before it that may prefer fewer moves), a
        # request with a free compatible home and headroom would have been moved.
        if households_maximal and eligible and room(provider) > 0:
            assert set(eligible) <= used_offers, u


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=14, max_offers=14), balances=balances_st())
def test_round_proposals_break_no_hard_rule_default_objectives(round_, balances):
    requests, offers = round_
    result = solve_round(SCHEME, ROUND_DAY, requests, offers, balances)
    check_round(SCHEME, requests, offers, balances, frozenset(), result)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(round_=round_st(max_requests=12, max_offers=12), balances=balances_st(spread=4),
       scheme=scheme_variant_st(), data=st.data())
def test_round_proposals_break_no_hard_rule_other_scheme_terms(round_, balances, scheme, data):
    requests, offers = round_
    declined = frozenset(data.draw(st.lists(
        st.tuples(st.sampled_from([r.ref for r in requests] or ["RQ-0"]),
                  st.sampled_from([o.ref for o in offers] or ["OF-0"])), max_size=4)))
    result = solve_round(scheme, ROUND_DAY, requests, offers, balances, declined)
    check_round(scheme, requests, offers, balances, declined, result)


# -- 2. whole rounds through the database ---------------------------------------------------

SECOND_ROUND_DAY = ROUND_DAY + timedelta(days=7)


@st.composite
def pot_st(draw, first: int, max_requests: int, max_offers: int):
    n_req = draw(st.integers(0, max_requests))
    n_off = draw(st.integers(0, max_offers))
    requests = [draw(request_st(f"RQ-{k}")) for k in range(first, first + n_req)]
    offers = [draw(offer_st(f"OF-{k}")) for k in range(first, first + n_off)]
    return requests, offers


# SQLite commits are fsync-bound: a RAM-backed temporary directory, where there is one, makes each
# example several times faster.
TMP_ROOT = "/dev/shm" if Path("/dev/shm").is_dir() else None


def fresh_db(tmp: str) -> Database:
    return ready_sqlite(Path(tmp) / "x.db", SCHEME.id)  # as `Database.create` makes it


def add_pot(db: Database, requests, offers) -> None:
    if requests:
        add_records(db, requests)
    if offers:
        add_records(db, offers)


def counted(db: Database, scheme) -> dict[str, int]:
    """Rule 9's balances now, restated (tests/oracle.py): the ledger plus every live proposal as
    the scheme counts it."""
    with db.reading() as session:
        ledger = ledger_balances(session, PROVIDERS).total
        live = [(p.from_provider, p.to_provider, p.status) for p in proposals.live(session)]
    return counted_totals(ledger, live, scheme)


def assert_within_limits(balances: dict[str, int], before: dict[str, int] | None = None) -> None:
    """No member below -max_debt, unless it was already there before (a lowered limit): then it
    went no lower."""
    for provider in PROVIDERS:
        floor = -SCHEME.max_debt(provider)
        if before is not None:
            floor = min(floor, before[provider])
        assert balances[provider] >= floor, (provider, balances[provider])


def proposal_ids(db: Database) -> set[int]:
    with db.reading() as session:
        return {p.id for p in session.exec(select(ProposalRow)).all()}


def assert_made_within_limits(db: Database, scheme, before: set[int]) -> None:
    """The proposals a step made (a round, or a refusal's re-offer: one batch) break no debt
    limit under the scheme's rule, judged on the counted balances at the moment they were made:
    the counted balances now, less what the new (still `proposed`) proposals count."""
    with db.reading() as session:
        new = [p for p in session.exec(select(ProposalRow)).all() if p.id not in before]
        offers = {o.ref: o for o in session.exec(select(OfferRow)).all()}
        requests = {r.ref: r for r in session.exec(select(RequestRow)).all()}
    if not new:
        return
    assert all(p.status == "proposed" for p in new)
    now = Counter(counted(db, scheme))
    for p in new:  # take the new proposals back out of the count
        now[p.from_provider] += 1
        if scheme.config.fairness.gives_count_from == "proposed":
            now[p.to_provider] -= 1
    reqs = [domain_request(requests[p.request_ref]) for p in new]
    offs = [domain_offer(offers[p.offer_ref]) for p in new]
    assert respects_debt_limit([(k, k) for k in range(len(new))], reqs, offs, dict(now), scheme), \
        [(p.request_ref, p.offer_ref) for p in new]


def domain_request(row: RequestRow) -> Request:
    return Request(ref=row.ref, provider=row.provider, kind=RequestKind.survivor,
                   current_tenancy="secure", bedrooms_needed=1, referred_on=date(2026, 1, 1))


def domain_offer(row: OfferRow) -> Offer:
    return Offer(ref=row.ref, provider=row.provider, area="cambridge", bedrooms=row.bedrooms,
                 property_type=PropertyType.flat, available_from=date(2026, 1, 1))


def answer_round(db, scheme, round_id: int, on: date, choose) -> None:
    """Answer the round's proposals one by one (including those a refusal's re-solve adds) with
    `choose`, which returns "sign" (through every stage), "refuse" or "leave" (to lapse). After
    every step no proposal was made past a limit; with gives counted once signed, the counted
    balances and the ledger stay within every limit at every moment."""
    seen: set[int] = set()
    while True:
        waiting = [p for p in round_view(db, round_id)["proposals"]
                   if p["status"] == "proposed" and p["id"] not in seen]
        if not waiting:
            return
        proposal = waiting[0]
        seen.add(proposal["id"])
        what = choose(proposal)
        before = proposal_ids(db)
        if what == "sign":
            sign_live(db, scheme, on, round_id=round_id,
                      skip={p["request"] for p in round_view(db, round_id)["proposals"]
                            if p["id"] != proposal["id"]})
        elif what == "refuse":
            out = refuse(db, scheme, proposal["id"], on)
            assert out.changes[0].to_status == "refused"
        assert_made_within_limits(db, scheme, before)
        if scheme.gives_count_from == "signed":
            assert_within_limits(counted(db, scheme))
            with db.reading() as session:
                assert_within_limits(ledger_balances(session, PROVIDERS).total)


def assert_round_report(db: Database, round_id: int) -> None:
    """Every request in the round's snapshot was proposed a home or is unmatched with a reason;
    every proposal the round's own solve made is between a request and an offer of its snapshot
    (a refusal's re-solve later that week takes the free pot as it is then)."""
    with db.reading() as session:
        snapshot = session.get(RoundRow, round_id).snapshot
    view = round_view(db, round_id)
    proposed = {p["request"] for p in view["proposals"]}
    unmatched = {u["request"]: u for u in view["unmatched"]}
    assert len(unmatched) == len(view["unmatched"])
    assert proposed | set(unmatched) >= set(snapshot["requests"])
    first_solve = view["solves"][0]["proposals"]  # a refusal's re-solve takes the pot as it is then
    for p in sorted(view["proposals"], key=lambda p: p["id"])[:first_solve]:
        assert p["request"] in snapshot["requests"] and p["offer"] in snapshot["offers"], p
    for ref, u in unmatched.items():
        assert u["reason"].strip() and u["reason_code"] in REASON_CODES, u
    for level in view["objectives"]:
        assert level["status"] == "OPTIMAL" and level["value"] == level["bound"], level


def assert_db_invariants(db: Database, scheme) -> None:
    with db.reading() as session:
        totals = ledger_balances(session, PROVIDERS).total
        moves = session.exec(select(MoveRow)).all()
        rows = session.exec(select(ProposalRow)).all()
        offers = {o.ref: o for o in session.exec(select(OfferRow)).all()}
        requests = {r.ref: r for r in session.exec(select(RequestRow)).all()}
    assert sum(totals.values()) == 0, totals
    # A home is never let twice; a household moves once.
    assert len({m.offer_ref for m in moves}) == len(moves)
    assert len({m.request_ref for m in moves}) == len(moves)
    assert {m.offer_ref for m in moves} == {ref for ref, o in offers.items() if o.status == "let"}
    assert {m.request_ref for m in moves} == {ref for ref, r in requests.items() if r.status == "moved"}
    # Ledger balances are exactly what the moves say.
    expected = Counter()
    for m in moves:
        assert m.from_provider == requests[m.request_ref].provider
        assert m.to_provider == offers[m.offer_ref].provider
        expected[m.to_provider] += 1
        expected[m.from_provider] -= 1
    assert {p: v for p, v in totals.items() if v} == {p: v for p, v in expected.items() if v}
    # A refused or lapsed pair is never proposed again (nothing here is cancelled, so no pair is
    # proposed twice at all).
    pairs = Counter((p.request_ref, p.offer_ref) for p in rows)
    assert all(n == 1 for n in pairs.values()), pairs.most_common(2)
    event(f"moves: {min(len(moves), 5)}+" if len(moves) >= 5 else f"moves: {len(moves)}")
    event(f"refused: {min(sum(p.status == 'refused' for p in rows), 3)}")
    event(f"lapsed: {min(sum(p.status == 'lapsed' for p in rows), 3)}")
    if scheme.gives_count_from == "signed":
        assert_within_limits(totals)


def run_two_rounds(data, choose_mode: str) -> None:
    pot1 = data.draw(pot_st(1, 8, 8), label="round 1 pot")
    pot2 = data.draw(pot_st(100, 4, 4), label="added before round 2")
    late = [data.draw(pot_st(k, 2, 2), label="added between rounds") for k in (200, 300)]

    def choose(_proposal):
        if choose_mode == "sign_all":
            return "sign"
        return data.draw(st.sampled_from(["sign", "sign", "refuse", "leave"]), label="answer")

    scheme = with_gives(SCHEME, data.draw(gives_st, label="gives_count_from"))
    with tempfile.TemporaryDirectory(dir=TMP_ROOT) as tmp:
        db = fresh_db(tmp)
        add_pot(db, *pot1)
        for on, extra, mid in ((ROUND_DAY, None, late[0]), (SECOND_ROUND_DAY, pot2, late[1])):
            if extra is not None:
                add_pot(db, *extra)
            before = proposal_ids(db)
            round_id = run_round(db, scheme, on).round_id
            assert_made_within_limits(db, scheme, before)
            if scheme.gives_count_from == "signed":
                assert_within_limits(counted(db, scheme))
            add_pot(db, *mid)
            view = round_view(db, round_id)
            assert len({p["request"] for p in view["proposals"]}) == len(view["proposals"])
            assert len({p["offer"] for p in view["proposals"]}) == len(view["proposals"])
            answer_round(db, scheme, round_id, on, choose)
            assert_round_report(db, round_id)
            assert_db_invariants(db, scheme)


# No shrinking: each example runs rounds and signings on a database; a failure still prints the
# example that broke it.
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]


@settings(max_examples=40, deadline=None, phases=NO_SHRINK,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_db_rounds_with_random_answers_keep_ledger_and_lets_consistent(data):
    run_two_rounds(data, "random")


@settings(max_examples=20, deadline=None, phases=NO_SHRINK,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_db_rounds_all_signed_respect_debt_limit(data):
    run_two_rounds(data, "sign_all")


# -- the debt limit, whatever order a round's proposals end in --------------------------------------

def _pot_where_fenland_gives_one_and_could_receive_three():
    """Fenland (balance 0, max_debt 2) has three tenants to move and one home; Cambridge City has
    three homes and one tenant. With gives counted once signed Fenland's headroom is two: two of
    its households are proposed homes, and its own home goes to Cambridge City's household; giving
    it does not make room for a third before that move is signed. With gives counted from
    proposed, the home it gives funds the third."""
    requests = [Request(ref=f"RQ-{k}", provider="fenland", kind=RequestKind.survivor,
                        current_tenancy="secure", bedrooms_needed=2, referred_on=date(2026, 10, k))
                for k in (1, 2, 3)]
    requests.append(Request(ref="RQ-4", provider="cambridge_city", kind=RequestKind.survivor,
                            current_tenancy="secure", bedrooms_needed=2,
                            referred_on=date(2026, 10, 1)))
    offers = [Offer(ref=f"OF-{k}", provider="cambridge_city", area="cambridge", bedrooms=2,
                    property_type=PropertyType.flat, available_from=date(2026, 11, 20))
              for k in (1, 2, 3)]
    offers.append(Offer(ref="OF-4", provider="fenland", area="fenland", bedrooms=2,
                        property_type=PropertyType.house, available_from=date(2026, 11, 20)))
    return requests, offers


@pytest.mark.parametrize("giving_side", ["refused", "lapsed", "signed first", "signed last"])
def test_debt_limit_holds_whatever_order_the_round_ends_in(db, scheme, giving_side):
    """With gives counted once signed (the scheme's hard guarantee), no order of endings takes
    Fenland past its limit."""
    scheme = with_gives(scheme, "signed")
    requests, offers = _pot_where_fenland_gives_one_and_could_receive_three()
    add_pot(db, requests, offers)
    round_id = run_round(db, scheme, ROUND_DAY).round_id
    view = round_view(db, round_id)
    placed = [p for p in view["proposals"] if p["from_provider"] == "fenland"]
    given = [p for p in view["proposals"] if p["to_provider"] == "fenland"]
    assert len(placed) == 2 and len(given) == 1  # the third Fenland household waits
    (left,) = view["unmatched"]
    assert left["reason_code"] == "provider_at_debt_limit"
    day = ROUND_DAY
    if giving_side == "refused":
        refuse(db, scheme, given[0]["id"], day, resolve=False)
    if giving_side == "signed first":
        sign_live(db, scheme, day, skip={p["request"] for p in placed})
    sign_live(db, scheme, day, skip={given[0]["request"]})
    if giving_side == "signed last":
        sign_live(db, scheme, day)
    if giving_side == "lapsed":
        run_round(db, scheme, date(2026, 12, 7))
    with db.reading() as session:
        fenland = ledger_balances(session, list(scheme.providers)).of("fenland")
    assert fenland == (-1 if giving_side in ("signed first", "signed last") else -2)


def test_by_default_a_home_given_funds_a_third_placement_and_a_give_that_falls_through_leaves_it_past(db, scheme):
    """The default rule: Fenland's home given in the round funds its third household. Then the
    household refuses Fenland's home: Fenland is past its limit by one (counted), its placements
    still sign, and the next round places none of its tenants, saying why."""
    assert scheme.gives_count_from == "proposed"
    requests, offers = _pot_where_fenland_gives_one_and_could_receive_three()
    add_pot(db, requests, offers)
    round_id = run_round(db, scheme, ROUND_DAY).round_id
    view = round_view(db, round_id)
    placed = [p for p in view["proposals"] if p["from_provider"] == "fenland"]
    (given,) = [p for p in view["proposals"] if p["to_provider"] == "fenland"]
    assert len(placed) == 3 and view["unmatched"] == []
    refuse(db, scheme, given["id"], ROUND_DAY, resolve=False)
    assert counted(db, scheme)["fenland"] == -3  # past its limit of 2 by one
    sign_live(db, scheme, ROUND_DAY)  # every live placement still signs
    with db.reading() as session:
        assert ledger_balances(session, list(scheme.providers)).of("fenland") == -3
    add_pot(db, [Request(ref="RQ-9", provider="fenland", kind=RequestKind.survivor, current_tenancy="secure",
                         bedrooms_needed=2, referred_on=date(2026, 10, 9))],
            [Offer(ref="OF-9", provider="cambridge_city", area="cambridge", bedrooms=2,
                   property_type=PropertyType.flat, available_from=date(2026, 11, 20))])
    later = round_view(db, run_round(db, scheme, SECOND_ROUND_DAY).round_id)
    assert later["proposals"] == []
    (u,) = [u for u in later["unmatched"] if u["request"] == "RQ-9"]
    assert u["reason_code"] == "provider_past_debt_limit" and "past its limit by 1" in u["reason"]
    assert "the home it was giving, refused by the household" in u["reason"]
