"""How proposals fared, for the board and funders (docs/audits.md): how they ended (signed,
refused, lapsed, cancelled), refusals by party and by reason, household refusals of reasonable
offers, lapses by stage, the median working days spent in each stage, and the requests now stale,
on hold or in review. Read from the proposal trail, so a figure counts what happened in the period
(an ending or a stage left between its first and last day), not what a proposal is now."""
from __future__ import annotations

import statistics
from collections import Counter
from datetime import date

from sqlmodel import Session, select

from reciprocal.domain import LIVE_PROPOSAL, ProposalStatus, RequestStatus
from reciprocal.storage import ProposalEventRow, ProposalRow, RequestRow
from reciprocal.working_days import working_days_between

ENDINGS = ("signed", "refused", "lapsed", "cancelled")
STAGES = tuple(s.value for s in LIVE_PROPOSAL)


def proposal_figures(session: Session, start: date, end: date) -> dict:
    # Plain rows of the columns read: an ORM object per event and per proposal (with its
    # explanation) took seconds for a national scheme's trail.
    events = session.exec(select(ProposalEventRow.proposal_id, ProposalEventRow.on, ProposalEventRow.from_status,
                                 ProposalEventRow.to_status, ProposalEventRow.detail)
                          .order_by(ProposalEventRow.id)).all()
    proposals = {p.id: p for p in session.exec(select(ProposalRow.id, ProposalRow.refused_by,
                                                      ProposalRow.refusal_reason)).all()}
    endings: Counter = Counter()
    by_party: Counter = Counter()
    by_reason: Counter = Counter()
    lapsed_at: Counter = Counter()
    reasonable = 0
    days_in: dict[str, list[int]] = {s: [] for s in STAGES}
    last_on: dict[int, date] = {}
    made = 0
    for e in events:
        entered = last_on.get(e.proposal_id)
        last_on[e.proposal_id] = e.on
        if not start <= e.on <= end:
            continue
        if e.from_status is None and e.to_status == ProposalStatus.proposed:
            made += 1
        if e.from_status in days_in and entered is not None and not (e.detail or {}).get("migrated"):
            days_in[e.from_status].append(working_days_between(entered, e.on))
        if e.to_status in ENDINGS and e.from_status is not None:
            endings[e.to_status] += 1
            if e.to_status == ProposalStatus.refused:
                p = proposals.get(e.proposal_id)
                detail = e.detail or {}
                by_party[detail.get("by") or (p.refused_by if p else None) or "unknown"] += 1
                by_reason[detail.get("reason") or (p.refusal_reason if p else None) or "unknown"] += 1
                if detail.get("by") == "household" and detail.get("reasonable"):
                    reasonable += 1
            if e.to_status == ProposalStatus.lapsed:
                lapsed_at[e.from_status] += 1
    statuses = Counter(session.exec(select(RequestRow.status)).all())
    return {
        "proposals_made": made,
        "ended": {k: endings.get(k, 0) for k in ENDINGS},
        "refused_by": dict(sorted(by_party.items())),
        "refusal_reasons": dict(sorted(by_reason.items())),
        "household_refusals_of_reasonable_offers": reasonable,
        "lapsed_at_stage": {s: lapsed_at.get(s, 0) for s in STAGES},
        "median_working_days_in_stage": {s: (statistics.median(v) if v else None) for s, v in days_in.items()},
        "requests_now": {s.value: statuses.get(s.value, 0) for s in
                         (RequestStatus.stale, RequestStatus.on_hold, RequestStatus.review)},
    }
