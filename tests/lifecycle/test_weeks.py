"""Weeks of rounds with random stage answers, refusals, lapses, withdrawals, holds,
reconfirmations, signings, and updates of households, homes and the configs, in any order the
commands allow (SPEC section 6, issue 21).

After every step: no home let twice, no household moved twice, a refused or lapsed pair never
proposed again (a pair cancelled by a hold may be), at most one live proposal per home and household,
balances sum to zero in total and by band, `audit verify` passes (with the scheme: no proposal made
past its member's debt limit under the scheme's rule; with `gives_count_from: signed` no ledger
balance past a limit either),
every state change the step made was reported by it, and nothing else, and no live proposal
breaks a hard rule under the facts (and configs) as they are now."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlmodel import select

from reciprocal import audits
from matching.rules import MatchContext, failed_rules
from reciprocal.config import Scheme, load_scheme
from reciprocal.domain import (LIVE_PROPOSAL, NEXT_STAGE, Offer, OfferStatus, PropertyType, ProposalStatus,
                               RefusedBy, Request, RequestKind, RequestOutcome, Risk, Role)
from reciprocal.errors import InputFileError, StateError
from reciprocal.intake import listing, pot
from reciprocal.ledger import balances
from reciprocal.lifecycle import proposals as lifecycle_proposals
from reciprocal.lifecycle import run
from reciprocal.lifecycle.updates import Update
from reciprocal.storage import MoveRow, OfferRow, ProposalRow, RequestRow, offer_from_row, request_from_row
from tests.conftest import CONFIG_DIR, DEMO_DATA, ROUND_DAY, ready_sqlite
from tests.strategies import gives_st, with_gives

SCHEME = load_scheme(CONFIG_DIR)
PROVIDERS = sorted(SCHEME.providers)
AREAS = sorted(SCHEME.config.areas)
LIVE = {s.value for s in LIVE_PROPOSAL}


class WeeksOfRounds(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="weeks-")
        self.db = ready_sqlite(os.path.join(self.dir, "w.db"), SCHEME.id)  # as `Database.create` makes it
        self.day = ROUND_DAY
        self.serial = 0
        self.scheme = SCHEME  # the configs as they are now: a step may change them

    def teardown(self):
        self.db.engine.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- what the database holds -----------------------------------------------------------------

    def snapshot(self) -> dict:
        with self.db.reading() as session:
            state = {("proposal", str(p.id)): p.status for p in session.exec(select(ProposalRow)).all()}
            state.update({("request", r.ref): r.status for r in session.exec(select(RequestRow)).all()})
            state.update({("offer", o.ref): o.status for o in session.exec(select(OfferRow)).all()})
        return state

    def proposals(self, *statuses: str) -> list[ProposalRow]:
        with self.db.reading() as session:
            rows = session.exec(select(ProposalRow).order_by(ProposalRow.id)).all()
        return [p for p in rows if not statuses or p.status in statuses]

    def act(self, fn, *args, **kwargs):
        """Run one command; every state it changed must be among the changes it reported."""
        before = self.snapshot()
        try:
            outcome = fn(self.db, self.scheme, *args, **kwargs)
        except (StateError, InputFileError):
            assert self.snapshot() == before  # refused: nothing changed
            return None
        after = self.snapshot()
        changed = {k for k in after if before.get(k) != after[k]}
        reported = {(c.what, c.ref): c.to_status for c in outcome.changes}
        assert changed <= set(reported), f"changed without a word: {sorted(changed - set(reported))}"
        for key, status in reported.items():
            assert after.get(key) == status, (key, status, after.get(key))
        return outcome

    def pick(self, data, rows, label):
        return data.draw(st.sampled_from(rows), label=label) if rows else None

    # -- the steps --------------------------------------------------------------------------------

    @initialize(gives=gives_st)
    def the_demo_pot_and_a_round(self, gives):
        """The scheme's rule 9 choice drawn once: every choice of `gives_count_from`."""
        self.base = self.scheme = with_gives(SCHEME, gives)
        pot.import_offers(self.db, SCHEME, DEMO_DATA / "offers.csv")
        pot.import_requests(self.db, SCHEME, DEMO_DATA / "requests.csv")
        self.act(run.run_round, self.day)

    @rule(giver=st.sampled_from(PROVIDERS), bedrooms=st.integers(1, 3), pick=st.integers(0, 5),
          landlord=st.sampled_from(PROVIDERS), needs=st.integers(1, 3),
          avoid=st.sets(st.sampled_from(AREAS), max_size=1), high=st.booleans(), waited=st.integers(0, 200))
    def a_home_and_a_household_join(self, giver, bedrooms, pick, landlord, needs, avoid, high, waited):
        self.serial += 1
        areas = SCHEME.providers[giver].areas
        tenancy = "secure" if SCHEME.providers[landlord].kind == "local_authority" else "assured"
        pot.add_records(self.db, [Offer(f"OF-W{self.serial}", giver, areas[pick % len(areas)], bedrooms,
                                        PropertyType.house, self.day, step_free=True)])
        pot.add_records(self.db, [Request(f"RQ-W{self.serial}", landlord, RequestKind.survivor, tenancy, needs,
                                          self.day - timedelta(days=waited), Risk.high if high else Risk.standard,
                                          avoid_areas=tuple(sorted(avoid)))])

    @rule(days=st.integers(1, 9))
    def a_round_some_days_later(self, days):
        self.day += timedelta(days=days)
        self.act(run.run_round, self.day)

    @precondition(lambda self: self.proposals(*LIVE))
    @rule(data=st.data(), days=st.integers(0, 3))
    def a_stage_answered(self, data, days):
        p = self.pick(data, self.proposals(*LIVE), "proposal")
        self.day += timedelta(days=days)
        following = NEXT_STAGE[ProposalStatus(p.status)]
        if following == ProposalStatus.signed:
            self.act(run.sign, p.id, self.day + timedelta(days=data.draw(st.integers(0, 20))), self.day)
        else:
            self.act(run.advance, p.id, self.day, Role.coordinator, following)

    @precondition(lambda self: self.proposals(*LIVE))
    @rule(data=st.data(), by=st.sampled_from(list(RefusedBy)), reasonable=st.booleans(), resolve=st.booleans())
    def a_refusal(self, data, by, reasonable, resolve):
        p = self.pick(data, self.proposals(*LIVE), "proposal")
        self.act(run.refuse, p.id, self.day, by, "other", "", reasonable if by == RefusedBy.household else None,
                 resolve)

    @rule(data=st.data(), offer=st.booleans(), let_outside=st.booleans())
    def a_withdrawal(self, data, offer, let_outside):
        if offer:
            ref = self.pick(data, [o.ref for o in listing.list_offers(self.db)], "offer")
            if ref:
                status = OfferStatus.let_outside_scheme if let_outside else OfferStatus.withdrawn
                self.act(run.offer_change, ref, self.day, status)
        else:
            ref = self.pick(data, [r.ref for r in listing.list_requests(self.db, None)], "request")
            if ref:
                self.act(run.request_change, "close", ref, self.day, outcome=RequestOutcome.lost_contact)

    @rule(data=st.data(), action=st.sampled_from(["hold", "resume", "reconfirm", "approve"]))
    def a_request_change(self, data, action):
        ref = self.pick(data, [r.ref for r in listing.list_requests(self.db, None)], "request")
        if ref is None:
            return
        extra = {"reason": "test hold", "until": self.day + timedelta(days=14)} if action == "hold" else {}
        self.act(run.request_change, action, ref, self.day, **extra)

    @rule(data=st.data(), field=st.sampled_from(["avoid_areas", "bedrooms_needed", "needs_step_free",
                                                 "needs_wheelchair", "risk", "preferred_areas", "max_bedrooms"]))
    def a_household_update(self, data, field):
        ref = self.pick(data, [r.ref for r in listing.list_requests(self.db, None)], "request")
        if ref is None:
            return
        value = data.draw({"avoid_areas": st.sets(st.sampled_from(AREAS), max_size=2).map(";".join),
                           "preferred_areas": st.sets(st.sampled_from(AREAS), max_size=2).map(";".join),
                           "bedrooms_needed": st.integers(1, 3).map(str), "max_bedrooms": st.integers(1, 4).map(str),
                           "needs_step_free": st.sampled_from(["yes", "no"]),
                           "needs_wheelchair": st.sampled_from(["yes", "no"]),
                           "risk": st.sampled_from([r.value for r in Risk])}[field], label=field)
        self.act(run.update_cases, "request", [Update(ref, {field: value or "none"})], self.day)

    @rule(data=st.data(), field=st.sampled_from(["available_from", "bedrooms", "wheelchair_accessible",
                                                 "restrictions", "tenancy_offered"]))
    def a_home_update(self, data, field):
        ref = self.pick(data, [o.ref for o in listing.list_offers(self.db)], "offer")
        if ref is None:
            return
        value = data.draw({"available_from": st.integers(-10, 60).map(lambda d: (self.day + timedelta(days=d)).isoformat()),
                           "bedrooms": st.integers(1, 3).map(str), "wheelchair_accessible": st.sampled_from(["yes", "no"]),
                           "restrictions": st.sampled_from(["none", "no_perpetrator", "age_55_plus"]),
                           "tenancy_offered": st.sampled_from(["none", "starter", "secure", "assured"])}[field],
                          label=field)
        self.act(run.update_cases, "offer", [Update(ref, {field: value})], self.day)

    @rule(hops=st.integers(0, 2), suspend=st.sets(st.sampled_from(PROVIDERS), max_size=1),
          on_suspension=st.sampled_from(["continue", "cancel"]))
    def a_config_change(self, hops, suspend, on_suspension):
        """The MoU configs edited between commands: the next command judges every live proposal again."""
        base = self.base.config
        config = base.model_copy(update={
            "matching": base.matching.model_copy(update={"safety_buffer_hops": hops}),
            "lifecycle": base.lifecycle.model_copy(update={"on_suspension": on_suspension})})
        members = {k: (v.model_copy(update={"status": "suspended"}) if k in suspend else v)
                   for k, v in SCHEME.providers.items()}
        self.scheme = Scheme(config, members, SCHEME.source)
        self.act(run.lapse_overdue, self.day)

    # -- what must always hold -------------------------------------------------------------------

    @invariant()
    def no_live_proposal_breaks_a_hard_rule_under_the_facts_as_they_are_now(self):
        with self.db.reading() as session:
            declined = lifecycle_proposals.never_again(session)
            for p in lifecycle_proposals.live(session):
                request = request_from_row(session.exec(select(RequestRow).where(RequestRow.ref == p.request_ref)).one())
                offer = offer_from_row(session.exec(select(OfferRow).where(OfferRow.ref == p.offer_ref)).one())
                broken = failed_rules(MatchContext(self.scheme, max(self.day, p.stage_on), declined), request, offer)
                if self.scheme.config.lifecycle.on_suspension == "continue":
                    broken = [r for r in broken if r != "providers_active"]
                assert not broken, (p.id, p.request_ref, p.offer_ref, broken)

    @invariant()
    def verify_passes(self):
        """With the scheme: its replay of rule 9 holds that no proposal was made past its
        member's debt limit under the scheme's `gives_count_from`."""
        result = audits.verify(self.db, scheme=self.scheme)
        assert result.ok, [str(f) for f in result.failures]

    @invariant()
    def no_home_let_twice_no_household_moved_twice(self):
        with self.db.reading() as session:
            moves = session.exec(select(MoveRow)).all()
        assert len({m.offer_ref for m in moves}) == len(moves)
        assert len({m.request_ref for m in moves}) == len(moves)

    @invariant()
    def no_refused_or_lapsed_pair_proposed_again_and_one_live_proposal_each(self):
        """A pair cancelled because its household was put on hold (or its home withdrawn and
        re-offered) may be proposed again; one refused or lapsed, never (rule 10)."""
        rows = self.proposals()
        for p in rows:
            if p.status in ("refused", "lapsed"):
                again = [q.id for q in rows if q.id > p.id and (q.request_ref, q.offer_ref) == (p.request_ref, p.offer_ref)]
                assert again == [], (p.request_ref, p.offer_ref, p.id, again)
        live = [p for p in rows if p.status in LIVE]
        assert len({p.offer_ref for p in live}) == len(live)
        assert len({p.request_ref for p in live}) == len(live)

    @invariant()
    def every_live_proposal_can_still_be_signed(self):
        """Its home available and its household active: a change elsewhere (a household going
        stale in a round, a review) never leaves a live proposal that signing must refuse."""
        with self.db.reading() as session:
            requests = {r.ref: r.status for r in session.exec(select(RequestRow)).all()}
            offers = {o.ref: o.status for o in session.exec(select(OfferRow)).all()}
        for p in self.proposals(*LIVE):
            assert (requests[p.request_ref], offers[p.offer_ref]) == ("active", "available"), p.id

    @invariant()
    def balances_sum_to_zero_and_no_member_past_a_limit_the_scheme_promised(self):
        with self.db.reading() as session:
            bal = balances(session, PROVIDERS)
        assert sum(bal.total.values()) == 0
        by_band = Counter()
        for bands in bal.by_band.values():
            by_band.update(bands)
        assert all(n == 0 for n in by_band.values()), by_band
        # The ledger itself stays within every limit only where the scheme promised it (gives
        # counted once signed); otherwise a give that falls through may leave a member past it,
        # and `verify_passes` holds that no proposal was made past it.
        if self.scheme.gives_count_from == "signed":
            for provider in PROVIDERS:
                assert bal.of(provider) >= -SCHEME.max_debt(provider), (provider, bal.of(provider))


# No shrinking: each step may run the solver; a failure still prints the steps that broke it.
WeeksOfRounds.TestCase.settings = settings(max_examples=12, stateful_step_count=20, deadline=None,
                                           phases=[Phase.explicit, Phase.reuse, Phase.generate],
                                           suppress_health_check=[HealthCheck.too_slow])
test_weeks_of_rounds_keep_every_rule = WeeksOfRounds.TestCase

