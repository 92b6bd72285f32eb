"""The round's matching in the database: open a round on the free pot, and re-solve after a
decline. Each is one transaction around the pure `matching.engine.solve_round`."""
from __future__ import annotations

from datetime import date

from matching.engine import RoundResult, solve_round
from reciprocal.config import Scheme
from reciprocal.domain import ProposalStatus, ledger_effect
from reciprocal.intake.pot import get_open
from reciprocal.ledger import balances as ledger_balances
from reciprocal.lifecycle.rounds import (create_round, declined_pairs, decide as decide_row, ensure_no_open_round,
                                         get_round, live_proposals, proposals_of)
from reciprocal.lifecycle.views import RoundReport, proposal_row
from reciprocal.storage import Database


def run_round(db: Database, scheme: Scheme, on: date, time_limit: float | None = None) -> int:
    """Open a round on the open pot and store its proposals; returns the round id."""
    with db.transaction() as session:
        ensure_no_open_round(session)
        offers, requests = get_open(session)
        ledger = ledger_balances(session, list(scheme.providers))
        balances = ledger.total
        declined = declined_pairs(session)
        result = solve_round(scheme, on, requests, offers, balances, declined, time_limit,
                             band_balances=ledger.by_band)
        snapshot = {"offers": sorted(o.ref for o in offers), "requests": sorted(r.ref for r in requests),
                    "balances": balances}
        rnd = create_round(session, on, snapshot)
        _store(session, rnd.id, result)
        rnd.report = RoundReport.first(result).to_json()
        session.add(rnd)
        return rnd.id


def decide(db: Database, scheme: Scheme, round_id: int, proposal_id: int, accept: bool,
           reason: str | None = None, resolve: bool = True) -> dict:
    """Record a decision; after a decline, re-solve the round for the freed home."""
    with db.transaction() as session:
        decision = decide_row(session, round_id, proposal_id, accept, reason)
        out = {"proposal": decision.proposal_id, "request": decision.request, "offer": decision.offer,
               "status": decision.status, "new_proposals": []}
        if accept or not resolve:
            return out
        rnd = get_round(session, round_id)
        offers, requests = get_open(session)
        in_round = proposals_of(session, round_id)
        proposed_requests = {p.request_ref for p in in_round}
        live = live_proposals(session)
        live_offers = {p.offer_ref for p in live}
        snap_offers, snap_requests = set(rnd.snapshot.get("offers", [])), set(rnd.snapshot.get("requests", []))
        # Each request gets at most one proposal per round; freed and unused homes can be offered.
        free_requests = [r for r in requests if r.ref in snap_requests and r.ref not in proposed_requests]
        free_offers = [o for o in offers if o.ref in snap_offers and o.ref not in live_offers]
        bedrooms = {o.ref: o.bedrooms for o in offers}
        # The debt limit holds over the whole round, live proposals included.
        live_effect = ledger_effect((p.from_provider, p.to_provider, scheme.band_of(bedrooms.get(p.offer_ref, 0)))
                                    for p in live)
        ledger = ledger_balances(session, list(scheme.providers)).after(live_effect)
        balances, by_band = ledger.total, ledger.by_band
        result = solve_round(scheme, rnd.on, free_requests, free_offers, balances, declined_pairs(session),
                             band_balances=by_band)
        _store(session, round_id, result)
        declined_reason = {p.request_ref: p.decline_reason for p in in_round if p.status == ProposalStatus.declined}
        unmatched = list(result.unmatched)
        for ref, why in sorted(declined_reason.items()):
            unmatched.append({"request": ref, "reason_code": "declined_this_round",
                              "reason": f"declined its proposal this round ({why}); it is considered "
                                        f"again next round"})
        rnd.report = RoundReport.from_json(rnd.report).resolved(result, unmatched).to_json()
        session.add(rnd)
        out["new_proposals"] = [{"request": p["request"], "offer": p["offer"]} for p in result.proposals]
        return out


def _store(session, round_id: int, result: RoundResult) -> None:
    session.add_all([proposal_row(round_id, p) for p in result.proposals])
    session.flush()
