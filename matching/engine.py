"""A round's matching, end to end: snapshot the pot, build the instance, solve, explain, check,
store. Also the re-solve after a decline, which offers freed homes to households not yet proposed
one in the round.

`solve_round` is pure (domain objects in, result out) so tests and benchmarks call it directly;
`run_round` and `decide` wrap it in one database transaction each.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from reciprocal.config import Scheme
from reciprocal.domain import Offer, Request
from reciprocal.errors import IntegrityError
from reciprocal.ledger import balances as ledger_balances
from reciprocal.pot import get_open
from reciprocal.rounds import (create_round, declined_pairs, ensure_no_open_round, decide as decide_row,
                               get_round, live_proposals, proposals_of)
from reciprocal.storage import Database, ProposalRow

from . import check
from .explain import explain_proposal, explain_unmatched
from .instance import build_instance
from .flow import solve_flow
from .model import solve
from .objectives import objectives_for
from .rules import MatchContext


@dataclass
class RoundResult:
    proposals: list[dict] = field(default_factory=list)  # request, offer, from/to provider, explanation
    unmatched: list[dict] = field(default_factory=list)
    objectives: list[dict] = field(default_factory=list)
    solve_seconds: float = 0.0
    compatible_pairs: int = 0


def solve_round(scheme: Scheme, on: date, requests: list[Request], offers: list[Offer],
                balances: dict[str, int], declined: frozenset[tuple[str, str]] = frozenset(),
                time_limit: float | None = None,
                band_balances: dict[str, dict[str, int]] | None = None) -> RoundResult:
    ctx = MatchContext(scheme, on, declined)
    inst = build_instance(ctx, requests, offers, balances, band_balances)
    objectives = objectives_for(scheme.config.matching.objectives)
    if inst.band_headroom:
        # Debt limits per bedroom band couple each move to two band accounts, which a network
        # flow cannot express; the CP-SAT model solves the same hierarchy exactly (it reports
        # each level's bound and gap) within the scheme's time limit.
        solution = solve(inst, objectives, time_limit or scheme.config.matching.time_limit_seconds)
    else:
        # The flow engine is exact and needs no time limit.
        solution = solve_flow(inst, objectives)
    pairs = [(inst.requests[i].ref, inst.offers[j].ref) for i, j in solution.chosen]
    broken = check.violations(ctx, requests, offers, balances, pairs, band_balances)
    if broken:
        # Never reached if the model is right; if it is wrong, nothing is proposed.
        raise IntegrityError("the solver's answer broke hard rules; no proposal was stored: "
                             + "; ".join(broken[:5]))
    result = RoundResult(solve_seconds=round(solution.seconds, 4), compatible_pairs=inst.n_pairs)
    for i, j in sorted(solution.chosen, key=lambda p: inst.requests[p[0]].ref):
        r, o = inst.requests[i], inst.offers[j]
        result.proposals.append({"request": r.ref, "offer": o.ref, "from_provider": r.provider,
                                 "to_provider": o.provider,
                                 **explain_proposal(inst, i, j, objectives, balances)})
    for i, reason in sorted(explain_unmatched(inst, solution.chosen).items()):
        result.unmatched.append({"request": inst.requests[i].ref, **reason})
    result.objectives = [{"name": lv.name, "sense": lv.sense, "value": lv.value, "bound": lv.bound,
                          "gap": lv.gap, "status": lv.status, "seconds": round(lv.seconds, 4)}
                         for lv in solution.levels]
    return result


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
        rnd.report = _report(result, first=True)
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
        ledger = ledger_balances(session, list(scheme.providers))
        balances, by_band = ledger.total, {p: dict(b) for p, b in ledger.by_band.items()}
        bedrooms = {o.ref: o.bedrooms for o in offers}
        for p in live:  # the debt limit holds over the whole round, live proposals included
            balances[p.to_provider] = balances.get(p.to_provider, 0) + 1
            balances[p.from_provider] = balances.get(p.from_provider, 0) - 1
            band = scheme.band_of(bedrooms.get(p.offer_ref, 0))
            for provider, step in ((p.to_provider, 1), (p.from_provider, -1)):
                by_band.setdefault(provider, {})[band] = by_band.get(provider, {}).get(band, 0) + step
        result = solve_round(scheme, rnd.on, free_requests, free_offers, balances, declined_pairs(session),
                             band_balances=by_band)
        _store(session, round_id, result)
        declined_reason = {p.request_ref: p.decline_reason for p in in_round if p.status == "declined"}
        report = dict(rnd.report)
        unmatched = [u for u in result.unmatched]
        for ref, why in sorted(declined_reason.items()):
            unmatched.append({"request": ref, "reason_code": "declined_this_round",
                              "reason": f"declined its proposal this round ({why}); it is considered "
                                        f"again next round"})
        report["unmatched"] = sorted(unmatched, key=lambda u: u["request"])
        report.setdefault("solves", []).append(_report(result, first=False)["solves"][0])
        rnd.report = report
        session.add(rnd)
        out["new_proposals"] = [{"request": p["request"], "offer": p["offer"]} for p in result.proposals]
        return out


def _store(session, round_id: int, result: RoundResult) -> None:
    for p in result.proposals:
        explanation = {k: v for k, v in p.items()
                       if k not in ("request", "offer", "from_provider", "to_provider")}
        session.add(ProposalRow(round_id=round_id, request_ref=p["request"], offer_ref=p["offer"],
                                from_provider=p["from_provider"], to_provider=p["to_provider"],
                                explanation=explanation))
    session.flush()


def _report(result: RoundResult, first: bool) -> dict:
    solve_info = {"objectives": result.objectives, "solve_seconds": result.solve_seconds,
                  "compatible_pairs": result.compatible_pairs, "proposals": len(result.proposals)}
    if first:
        return {"objectives": result.objectives, "solve_seconds": result.solve_seconds,
                "compatible_pairs": result.compatible_pairs, "unmatched": result.unmatched,
                "solves": [solve_info]}
    return {"solves": [solve_info]}
