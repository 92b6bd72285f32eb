"""Purging closed households' details (data protection): `reciprocal request purge --closed-before`.

Once a household has moved, or its request was withdrawn, the scheme no longer needs to know
where it must not go, where it hoped to go, its access needs, its age band, its risk level, where
the survivor lives or when the safety decision was taken. Purging removes exactly those from each
request closed before a given day, and from what was written about it: the proposal reasons
(risk, preferences met), a coordinator's decline reason, and the round's unmatched reasons
(which counted the offers its avoided areas excluded), and the values before and after of each
update of its facts (the hash-chained trail keeps which fields changed, when and by whom).

What stays is what the ledger, `audit verify`, the fairness audit and the quarterly report are
built on: the request's ref (a pseudonymous case code), provider, kind, current tenancy,
bedrooms needed, referred and closed days and status; every move; every offer; and the ledger,
untouched, so its sums and its hash chain are exactly as before. Each purged request records the
day it was purged (`purged_on`); purging is idempotent. Open requests are never purged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from reciprocal.domain import RequestStatus, Risk
from reciprocal.storage import Database, ProposalEventRow, ProposalRow, RequestRow, RoundRow

CLOSED = (RequestStatus.moved.value, RequestStatus.closed.value)
KEPT = ("ref", "provider", "kind", "current_tenancy", "bedrooms_needed", "referred_on", "status",
        "closed_on", "created_at")
# What a purged request's household fields become: nothing known.
BLANK = {"max_bedrooms": None, "needs_step_free": False, "needs_wheelchair": False,
         "avoid_areas": [], "preferred_areas": [], "risk": Risk.standard.value, "age": None,
         "survivor_area": None, "survivor_consent": False, "safety_decision_on": None,
         "hold_reason": None}
# Proposal explanation keys that say nothing about the household (the rules every proposal
# passed, and what the move did to both providers' balances).
KEPT_EXPLANATION = ("rules_passed", "balance_effect")


@dataclass(frozen=True)
class PurgeResult:
    closed_before: date
    purged: list[str] = field(default_factory=list)  # refs purged now (or that would be, dry run)
    already_purged: int = 0  # closed before the day and purged by an earlier run
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {"closed_before": self.closed_before.isoformat(), "purged": self.purged,
                "already_purged": self.already_purged, "dry_run": self.dry_run}


def purge_closed(db: Database, closed_before: date, today: date | None = None,
                 dry_run: bool = False) -> PurgeResult:
    """Purge the details of every request moved or withdrawn before `closed_before`, in one
    transaction; with `dry_run`, only say which would be purged."""
    today = today or date.today()
    if dry_run:
        with db.reading() as session:
            due, already = _due(session, closed_before)
            return PurgeResult(closed_before, [r.ref for r in due], already, dry_run=True)
    with db.transaction() as session:
        due, already = _due(session, closed_before)
        refs = [r.ref for r in due]
        note = f"details of this household were purged on {today.isoformat()}"
        for row in due:
            for name, value in BLANK.items():
                setattr(row, name, value)
            row.purged_on = today
            session.add(row)
        _purge_proposals(session, set(refs), note)
        _purge_round_reports(session, set(refs), note)
        _purge_updates(session, refs)
        return PurgeResult(closed_before, refs, already)


def _due(session: Session, closed_before: date) -> tuple[list[RequestRow], int]:
    closed = session.exec(select(RequestRow).where(RequestRow.status.in_(CLOSED),
                                                   RequestRow.closed_on < closed_before)
                          .order_by(RequestRow.ref)).all()
    due = [r for r in closed if r.purged_on is None]
    return due, len(closed) - len(due)


def _purge_proposals(session: Session, refs: set[str], note: str) -> None:
    if not refs:
        return
    chunks = sorted(refs)
    for start in range(0, len(chunks), 500):
        for proposal in session.exec(select(ProposalRow).where(
                ProposalRow.request_ref.in_(chunks[start:start + 500]))).all():
            explanation = {k: v for k, v in (proposal.explanation or {}).items() if k in KEPT_EXPLANATION}
            proposal.explanation = {"reasons": [note], **explanation}  # a new dict: JSON is not tracked
            if proposal.decline_reason:
                proposal.decline_reason = "reason purged with the household's details"
            session.add(proposal)


def _purge_updates(session: Session, refs: list[str]) -> None:
    """The values before and after of each update of the household's facts, kept beside the trail
    (`reciprocal.lifecycle.updates`); the chained events keep only which fields changed and when."""
    cases = [f"request:{ref}" for ref in refs]
    for start in range(0, len(cases), 500):
        for event in session.exec(select(ProposalEventRow).where(
                ProposalEventRow.case_ref.in_(cases[start:start + 500]))).all():
            event.case_values = None
            session.add(event)


def _purge_round_reports(session: Session, refs: set[str], note: str) -> None:
    if not refs:
        return
    for rnd in session.exec(select(RoundRow)).all():
        report = rnd.report or {}
        unmatched = report.get("unmatched", [])
        if not any(u.get("request") in refs for u in unmatched):
            continue
        rnd.report = {**report, "unmatched": [
            {"request": u["request"], "reason_code": u.get("reason_code"), "reason": note}
            if u.get("request") in refs else u for u in unmatched]}
        session.add(rnd)
