"""Round state: open → solve → decide → close, in the database.

The solving itself lives in `matching.engine`; this module keeps the states and makes the close
atomic and idempotent: accepted proposals become moves, offers are let, requests are moved, both
ledger legs and the post-move checklist are written, all in one transaction or not at all. A second
close changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, select

from reciprocal.config import Scheme
from reciprocal.domain import LIVE_PROPOSAL, OfferStatus, RequestStatus, ProposalStatus, Risk, RoundStatus, hold_backs_for_debt_limit
from reciprocal.errors import IntegrityError, NotFoundError, StateError
from reciprocal.ledger import balances as ledger_balances
from reciprocal.ledger import record_move
from reciprocal.lifecycle.checklist import CHECKLIST
from reciprocal.storage import (ChecklistItemRow, Database, MoveRow, OfferRow, ProposalRow, RequestRow,
                      RoundRow, utcnow)

def current_open_round(session: Session) -> RoundRow | None:
    return session.exec(select(RoundRow).where(RoundRow.status == RoundStatus.open.value)).first()


def ensure_no_open_round(session: Session) -> None:
    existing = current_open_round(session)
    if existing is not None:
        raise StateError(f"round {existing.id} is still open; decide and close it (`reciprocal round "
                         f"close {existing.id}`) before running a new round")


def create_round(session: Session, on: date, snapshot: dict) -> RoundRow:
    ensure_no_open_round(session)
    row = RoundRow(on=on, status=RoundStatus.open.value, snapshot=snapshot, report={})
    session.add(row)
    session.flush()
    return row


def get_round(session: Session, round_id: int) -> RoundRow:
    row = session.get(RoundRow, round_id)
    if row is None:
        raise NotFoundError(f"no round {round_id}")
    return row


def proposals_of(session: Session, round_id: int) -> list[ProposalRow]:
    return list(session.exec(select(ProposalRow).where(ProposalRow.round_id == round_id)
                             .order_by(ProposalRow.id)).all())


def declined_pairs(session: Session) -> frozenset[tuple[str, str]]:
    rows = session.exec(select(ProposalRow.request_ref, ProposalRow.offer_ref).where(
        ProposalRow.status == ProposalStatus.declined.value)).all()
    return frozenset((r, o) for r, o in rows)


@dataclass(frozen=True)
class Decision:
    proposal_id: int
    request: str
    offer: str
    status: str


def decide(session: Session, round_id: int, proposal_id: int, accept: bool,
           reason: str | None) -> Decision:
    """Accept or decline one proposal of an open round. A decline needs a reason."""
    if not accept and not (reason and reason.strip()):
        raise StateError("a decline needs a reason (--reason)")
    rnd = get_round(session, round_id)
    if rnd.status != RoundStatus.open.value:
        raise StateError(f"round {round_id} is closed; its proposals can no longer be decided")
    proposal = session.get(ProposalRow, proposal_id)
    if proposal is None or proposal.round_id != round_id:
        raise NotFoundError(f"round {round_id} has no proposal {proposal_id}")
    target = ProposalStatus.accepted if accept else ProposalStatus.declined
    if proposal.status == target.value:
        return Decision(proposal.id, proposal.request_ref, proposal.offer_ref, proposal.status)
    if proposal.status not in (ProposalStatus.pending.value, ProposalStatus.accepted.value):
        raise StateError(f"proposal {proposal_id} is {proposal.status}; it cannot be changed")
    proposal.status = target.value
    proposal.decline_reason = None if accept else reason.strip()[:500]
    proposal.decided_at = utcnow()
    session.add(proposal)
    return Decision(proposal.id, proposal.request_ref, proposal.offer_ref, proposal.status)


@dataclass(frozen=True)
class CloseResult:
    round_id: int
    moves: list[dict]
    already_closed: bool
    lapsed: int = 0
    held_back: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"round": self.round_id, "already_closed": self.already_closed, "moves": self.moves,
                "lapsed": self.lapsed, "held_back": self.held_back}


def close_round(db: Database, scheme: Scheme, round_id: int, lapse_pending: bool = False) -> CloseResult:
    """Commit every accepted proposal as a move, atomically; a second close changes nothing."""
    with db.transaction() as session:
        rnd = get_round(session, round_id)
        if rnd.status == RoundStatus.closed.value:
            moves = session.exec(select(MoveRow).where(MoveRow.round_id == round_id)).all()
            return CloseResult(round_id, [_move_dict(m) for m in moves], already_closed=True)
        proposals = proposals_of(session, round_id)
        pending = [p for p in proposals if p.status == ProposalStatus.pending.value]
        if pending and not lapse_pending:
            ids = ", ".join(str(p.id) for p in pending)
            raise StateError(f"round {round_id} has {len(pending)} undecided proposal(s) ({ids}); accept "
                             f"or decline each (`reciprocal round decide`), or close with --lapse-pending "
                             f"to let them lapse; nothing was changed")
        for p in pending:
            p.status = ProposalStatus.cancelled.value
            p.decline_reason = "lapsed: undecided when the round closed"
            session.add(p)
        held = _hold_back_over_debt_limit(session, scheme, proposals)
        moves = []
        for p in proposals:
            if p.status != ProposalStatus.accepted.value:
                continue
            offer = session.exec(select(OfferRow).where(OfferRow.ref == p.offer_ref)).one()
            request = session.exec(select(RequestRow).where(RequestRow.ref == p.request_ref)).one()
            if offer.status != OfferStatus.open or request.status != RequestStatus.open:
                raise IntegrityError(f"proposal {p.id}: offer {offer.ref} is {offer.status} and request "
                                     f"{request.ref} is {request.status}; refusing to let a home twice "
                                     f"or move a household twice. Nothing was changed")
            move = MoveRow(round_id=round_id, proposal_id=p.id, request_ref=request.ref,
                           offer_ref=offer.ref, from_provider=request.provider,
                           to_provider=offer.provider, kind=request.kind, bedrooms=offer.bedrooms,
                           band=scheme.band_of(offer.bedrooms), moved_on=rnd.on)
            session.add(move)
            session.flush()
            record_move(session, move)
            for item, owner in CHECKLIST:
                session.add(ChecklistItemRow(move_id=move.id, item=item,
                                             owner=move.to_provider if owner == "to" else move.from_provider))
            offer.status, offer.closed_on = OfferStatus.let.value, rnd.on
            request.status, request.closed_on = RequestStatus.moved.value, rnd.on
            p.status = ProposalStatus.moved.value
            session.add_all([offer, request, p])
            moves.append(_move_dict(move))
        rnd.status = RoundStatus.closed.value
        rnd.closed_at = utcnow()
        session.add(rnd)
        return CloseResult(round_id, moves, already_closed=False, lapsed=len(pending),
                           held_back=[{"proposal": p.id, "request": p.request_ref, "offer": p.offer_ref,
                                       "reason": p.decline_reason} for p in held])


def _hold_back_over_debt_limit(session: Session, scheme: Scheme, proposals: list[ProposalRow]
                               ) -> list[ProposalRow]:
    """Rule 9 at the moment of commitment. The round was solved within every debt limit, but a
    decline or a lapse on the giving side of an exchange can leave a provider receiving more than
    its headroom. Such a provider's accepted proposals are held back, lowest priority first (risk,
    then the most recently referred), until every limit holds; the households carry over."""
    accepted = [p for p in proposals if p.status == ProposalStatus.accepted.value]
    if not accepted:
        return []
    start = ledger_balances(session, list(scheme.providers))
    requests = {r.ref: r for r in session.exec(select(RequestRow).where(
        RequestRow.ref.in_([p.request_ref for p in accepted]))).all()}
    offers = {o.ref: o for o in session.exec(select(OfferRow).where(
        OfferRow.ref.in_([p.offer_ref for p in accepted]))).all()}
    moves = [(p.from_provider, p.to_provider, scheme.band_of(offers[p.offer_ref].bedrooms),
              _priority_key(scheme, requests[p.request_ref])) for p in accepted]
    chosen = hold_backs_for_debt_limit(moves, start, scheme.debt_limit)
    held = []
    for k in chosen:
        victim = accepted[k]
        victim.status = ProposalStatus.cancelled.value
        victim.decline_reason = (f"held back: {victim.from_provider} would pass its debt limit "
                                 f"(max_debt {scheme.max_debt(victim.from_provider)}) because another "
                                 f"move of this round fell through; carried over to the next round")
        session.add(victim)
        held.append(victim)
    return held


def _priority_key(scheme: Scheme, request) -> tuple:
    """Larger is lower priority: lower risk first, then the most recently referred."""
    order = {risk: k for k, risk in enumerate(scheme.config.priority.risk_levels)}
    return (order.get(Risk(request.risk), 0), request.referred_on, request.ref)


def _move_dict(m: MoveRow) -> dict:
    return {"move": m.id, "request": m.request_ref, "offer": m.offer_ref,
            "from_provider": m.from_provider, "to_provider": m.to_provider, "band": m.band,
            "moved_on": m.moved_on.isoformat()}


def live_proposals(session: Session) -> list[ProposalRow]:
    live = [s.value for s in LIVE_PROPOSAL]
    return list(session.exec(select(ProposalRow).where(ProposalRow.status.in_(live))).all())


def list_rounds(db: Database) -> list[dict]:
    with db.reading() as session:
        rows = session.exec(select(RoundRow).order_by(RoundRow.id)).all()
        out = []
        for r in rows:
            props = proposals_of(session, r.id)
            out.append({"round": r.id, "on": r.on.isoformat(), "status": r.status,
                        "proposals": len(props),
                        "accepted": sum(p.status in (ProposalStatus.accepted, ProposalStatus.moved) for p in props),
                        "moves": sum(p.status == ProposalStatus.moved for p in props),
                        "unmatched": len(r.report.get("unmatched", []))})
        return out
