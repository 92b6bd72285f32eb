"""A proposal's stages (docs/config.md, Lifecycle terms), in the database: advance, refuse, sign, lapse, cancel.

`proposed -> nomination_confirmed -> viewing -> accepted -> signed`; or it ends `refused`,
`lapsed` or `cancelled`. Each live stage is due a number of working days after it began
(`lifecycle` terms in scheme.yaml; `reciprocal.working_days`). While a proposal is live its home
and its household are reserved; when it ends without signing both go back to the pot and that pair
is never proposed again (rule 10). Signing *is* the move: ledger legs, post-move checklist, offer
let, request moved, all in one transaction, and a second signing changes nothing.

Every function here takes an open write transaction's session, returns the `Change`s it made and
records each change of stage in the trail (`reciprocal.lifecycle.trail`). Rule 9 holds at every
moment: a round only places a member's tenants within its headroom counting every live proposal
that would place one (`reserved_balances`), so signings in any order never take a member past its
limit; `sign` checks it once more and refuses rather than break it.
"""
from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from reciprocal.config import Scheme
from reciprocal.domain import (LIVE_PROPOSAL, NEXT_STAGE, Balances, OfferStatus, ProposalStatus,
                               RefusedBy, RequestStatus, Role, over_debt_limit, receiving_effect)
from reciprocal.errors import InputFileError, IntegrityError, NotFoundError, Problem, StateError
from reciprocal.intake.readers import note_problem
from reciprocal.ledger import balances as ledger_balances
from reciprocal.ledger import record_move
from reciprocal.lifecycle import trail
from reciprocal.lifecycle.changes import Change
from reciprocal.lifecycle.checklist import CHECKLIST
from reciprocal.storage import ChecklistItemRow, MoveRow, OfferRow, ProposalRow, RequestRow, utcnow
from reciprocal.working_days import add_working_days

LIVE = tuple(s.value for s in LIVE_PROPOSAL)


def get(session: Session, proposal_id: int) -> ProposalRow:
    row = session.get(ProposalRow, proposal_id)
    if row is None:
        raise NotFoundError(f"no proposal {proposal_id}")
    return row


def live(session: Session) -> list[ProposalRow]:
    return list(session.exec(select(ProposalRow).where(ProposalRow.status.in_(LIVE))
                             .order_by(ProposalRow.id)).all())


def never_again(session: Session) -> frozenset[tuple[str, str]]:
    """Pairs never to propose again (rule 10): refused or lapsed, for that household and home."""
    ended = (ProposalStatus.refused.value, ProposalStatus.lapsed.value)
    rows = session.exec(select(ProposalRow.request_ref, ProposalRow.offer_ref)
                        .where(ProposalRow.status.in_(ended))).all()
    return frozenset((r, o) for r, o in rows)


def reserved_balances(session: Session, scheme: Scheme) -> Balances:
    """The ledger's balances less every live proposal's receiving leg (total and band): what a
    member's balance would be if every live proposal placing one of its tenants were signed and
    none of the homes it gives. A round solved within these is within every limit at every
    moment, whatever order the live proposals end in."""
    rows = live(session)
    bedrooms = {o.ref: o.bedrooms for o in session.exec(select(OfferRow).where(
        OfferRow.ref.in_([p.offer_ref for p in rows]))).all()} if rows else {}
    effect = receiving_effect((p.from_provider, p.to_provider, scheme.band_of(bedrooms.get(p.offer_ref, 0)))
                              for p in rows)
    return ledger_balances(session, list(scheme.providers)).after(effect)


def _change(p: ProposalRow, before: str | None, why: str) -> Change:
    return Change("proposal", str(p.id), before, p.status, why, p.request_ref, p.offer_ref)


def enter(session: Session, scheme: Scheme, p: ProposalRow, stage: ProposalStatus, on: date, role: Role,
          detail: dict | None = None, why: str = "") -> Change:
    """Move `p` into `stage` on `on`, with its due date if the stage is live; record the event."""
    before = p.status if p.id is not None and p.status else None
    p.status = stage.value
    p.stage_on = on
    p.due_on = add_working_days(on, scheme.days_for(stage)) if stage in LIVE_PROPOSAL else None
    if stage not in LIVE_PROPOSAL:
        p.decided_at = utcnow()
    session.add(p)
    session.flush()
    trail.record(session, p, before, p.status, on, role, detail)
    if p.due_on is not None:
        why = (why + "; " if why else "") + f"due {p.due_on.isoformat()}"
    return _change(p, before, why)


def move_facts(move: MoveRow) -> dict:
    """What the signing's trail event records of its move: the event is hash-chained, so `audit
    verify` can hold the move row (not chained itself) to it: the home, the household, both
    landlords, the band and the day."""
    return {"tenancy_start": move.moved_on.isoformat(), "move": move.id, "request": move.request_ref,
            "offer": move.offer_ref, "from_provider": move.from_provider, "to_provider": move.to_provider,
            "band": move.band}


def propose(session: Session, scheme: Scheme, made: list[ProposalRow], on: date) -> list[Change]:
    """New proposals from a round (or a re-solve): stage `proposed`, due in working days. Stored
    and entered in the trail together, in order (a national round makes thousands)."""
    stage = ProposalStatus.proposed
    due = add_working_days(on, scheme.days_for(stage))
    for p in made:
        p.status, p.stage_on, p.due_on = stage.value, on, due
    session.add_all(made)
    session.flush()
    trail.record_many(session, [(p.id, None, p.status, on, Role.engine, {"round": p.round_id})
                                for p in made])
    # made now: the trail's first event comes from no stage
    return [_change(p, None, f"proposed by round {p.round_id}; due {due.isoformat()}") for p in made]


def advance(session: Session, scheme: Scheme, proposal_id: int, on: date, role: Role,
            to: ProposalStatus | None = None, viewing_on: date | None = None) -> list[Change]:
    """The next stage (`proposed -> nomination_confirmed -> viewing -> accepted`). Signing is
    `sign`. Asking for the stage it is already in changes nothing."""
    p = get(session, proposal_id)
    current = ProposalStatus(p.status)
    if to is not None and to == current:
        return []
    if current not in LIVE_PROPOSAL:
        raise StateError(f"proposal {p.id} is {p.status}; it can no longer change; nothing was changed")
    following = NEXT_STAGE[current]
    if following == ProposalStatus.signed:
        raise StateError(f"proposal {p.id} is accepted: its next step is signing the tenancy "
                         f"(`reciprocal proposal sign {p.id} --tenancy-start DATE`); nothing was changed")
    if to is not None and to != following:
        raise StateError(f"proposal {p.id} is {p.status}; its next stage is {following.value}, not "
                         f"{to.value} (stages go proposed -> nomination_confirmed -> viewing -> accepted "
                         f"-> signed); nothing was changed")
    _check_not_before(p, on)
    detail = {}
    why = ""
    if following == ProposalStatus.viewing and viewing_on is not None:
        p.viewing_on = viewing_on
        detail["viewing_on"] = viewing_on.isoformat()
        why = f"viewing on {viewing_on.isoformat()}"
    return [enter(session, scheme, p, following, on, role, detail, why)]


def refuse(session: Session, scheme: Scheme, proposal_id: int, on: date, by: RefusedBy, reason: str,
           note: str = "", reasonable: bool | None = None) -> list[Change]:
    """End a live proposal as refused. A household refusal says whether the home was a reasonable
    offer; reaching the scheme's number of reasonable refusals puts the request in review."""
    p = get(session, proposal_id)
    codes = scheme.config.lifecycle.refusal_reasons
    if reason not in codes:
        raise StateError(f"'{reason}' is not one of the scheme's refusal reasons ({', '.join(codes)}); "
                         f"nothing was changed")
    if by == RefusedBy.household and reasonable is None:
        raise StateError("a household refusal needs --reasonable or --not-reasonable (was the home a "
                         "reasonable offer?); nothing was changed")
    if p.status == ProposalStatus.refused:
        return []
    if p.status not in LIVE:
        raise StateError(f"proposal {p.id} is {p.status}; it can no longer be refused; nothing was changed")
    _check_not_before(p, on)
    p.refused_by, p.refusal_reason = by.value, reason
    p.reasonable_offer = reasonable if by == RefusedBy.household else None
    found = note_problem((note or "").strip(), "a refusal's note holds no personal data")
    if found:
        raise InputFileError([Problem("--note", found)], "the note was refused; nothing was changed")
    p.decline_reason = (note or "").strip() or None
    # The free text stays on the proposal (which `request purge` can blank), never in the
    # hash-chained trail, which cannot be edited.
    detail = {"by": by.value, "reason": reason, "reasonable": p.reasonable_offer}
    role = {RefusedBy.household: Role.household, RefusedBy.offering_landlord: Role.offering_landlord,
            RefusedBy.referring_landlord: Role.referring_landlord}[by]
    words = f"refused by the {by.value.replace('_', ' ')}: {reason}" + (f" ({p.decline_reason})" if p.decline_reason else "")
    changes = [enter(session, scheme, p, ProposalStatus.refused, on, role, detail, words)]
    if by == RefusedBy.household and reasonable:
        changes += _review_if_limit_reached(session, scheme, p.request_ref, on)
    return changes


def _review_if_limit_reached(session: Session, scheme: Scheme, request_ref: str, on: date) -> list[Change]:
    limit = scheme.config.lifecycle.reasonable_refusals
    count = len(session.exec(select(ProposalRow.id).where(
        ProposalRow.request_ref == request_ref, ProposalRow.status == ProposalStatus.refused.value,
        ProposalRow.refused_by == RefusedBy.household.value, ProposalRow.reasonable_offer == True)).all())  # noqa: E712
    request = session.exec(select(RequestRow).where(RequestRow.ref == request_ref)).one()
    if count < limit or request.status != RequestStatus.active:
        return []
    before = request.status
    request.status = RequestStatus.review.value
    session.add(request)
    return [Change("request", request.ref, before, request.status,
                   f"{count} reasonable offer(s) refused, the scheme's limit is {limit}: the "
                   f"coordinator reviews it (skipped by rounds until then)")]


def lapse_overdue(session: Session, scheme: Scheme, on: date) -> list[Change]:
    """Every live proposal whose stage was due before `on` lapses; home and household go back to
    the pot and the pair is never proposed again."""
    changes = []
    for p in live(session):
        if p.due_on is not None and p.due_on < on:
            stage, due = p.status, p.due_on
            p.decline_reason = f"no answer at stage {stage} by its due date {due.isoformat()}"
            changes.append(enter(session, scheme, p, ProposalStatus.lapsed, on, Role.engine,
                                 {"stage": stage, "due_on": due.isoformat()},
                                 f"stage {stage} was due {due.isoformat()} with no answer; home and "
                                 f"household are back in the pot"))
    return changes


def cancel_for(session: Session, scheme: Scheme, on: date, why: str, offer_ref: str | None = None,
               request_ref: str | None = None) -> list[Change]:
    """Cancel the live proposal of a home or a household that left the pot (withdrawn, closed, on
    hold, let outside the scheme)."""
    query = select(ProposalRow).where(ProposalRow.status.in_(LIVE))
    query = query.where(ProposalRow.offer_ref == offer_ref) if offer_ref else query.where(
        ProposalRow.request_ref == request_ref)
    changes = []
    for p in session.exec(query).all():
        p.decline_reason = why
        changes.append(enter(session, scheme, p, ProposalStatus.cancelled, on, Role.coordinator,
                             {"why": why}, why))
    return changes


def sign(session: Session, scheme: Scheme, proposal_id: int, tenancy_start: date, on: date) -> list[Change]:
    """The tenancy is signed: the move. Atomic with the caller's transaction; signing a signed
    proposal again changes nothing."""
    p = get(session, proposal_id)
    if p.status == ProposalStatus.signed:
        return []
    if p.status != ProposalStatus.accepted:
        raise StateError(f"proposal {p.id} is {p.status}; only an accepted proposal can be signed "
                         f"(stages go proposed -> nomination_confirmed -> viewing -> accepted -> signed); "
                         f"nothing was changed")
    _check_not_before(p, on)
    offer = session.exec(select(OfferRow).where(OfferRow.ref == p.offer_ref)).one()
    request = session.exec(select(RequestRow).where(RequestRow.ref == p.request_ref)).one()
    if offer.status != OfferStatus.available or request.status != RequestStatus.active:
        raise IntegrityError(f"proposal {p.id}: offer {offer.ref} is {offer.status} and request {request.ref} "
                             f"is {request.status}; refusing to let a home twice or move a household "
                             f"twice; nothing was changed")
    band = scheme.band_of(offer.bedrooms)
    start = ledger_balances(session, list(scheme.providers))
    over = over_debt_limit(start, receiving_effect([(p.from_provider, p.to_provider, band)]), scheme.debt_limit)
    if over:
        account = over[0]
        raise StateError(f"signing proposal {p.id} would take {account} to "
                         f"{start.get(account) - 1:+d}, past its debt limit of {scheme.debt_limit(account)} "
                         f"(rule 9); nothing was changed")
    move = MoveRow(round_id=p.round_id, proposal_id=p.id, request_ref=request.ref, offer_ref=offer.ref,
                   from_provider=request.provider, to_provider=offer.provider, kind=request.kind,
                   bedrooms=offer.bedrooms, band=band, moved_on=tenancy_start)
    session.add(move)
    session.flush()
    record_move(session, move)
    for item, owner in CHECKLIST:
        session.add(ChecklistItemRow(move_id=move.id, item=item,
                                     owner=move.to_provider if owner == "to" else move.from_provider))
    changes = [Change("offer", offer.ref, offer.status, OfferStatus.let.value, f"let to {request.ref}"),
               Change("request", request.ref, request.status, RequestStatus.moved.value,
                      f"moved into {offer.ref}, tenancy from {tenancy_start.isoformat()}")]
    offer.status, offer.closed_on = OfferStatus.let.value, tenancy_start
    request.status, request.closed_on = RequestStatus.moved.value, tenancy_start
    session.add_all([offer, request])
    p.tenancy_start = tenancy_start
    changes.insert(0, enter(session, scheme, p, ProposalStatus.signed, on, Role.coordinator,
                            move_facts(move),
                            f"move {move.id}: ledger written, post-move checklist created"))
    return changes


def _check_not_before(p: ProposalRow, on: date) -> None:
    if p.stage_on is not None and on < p.stage_on:
        raise StateError(f"proposal {p.id} entered {p.status} on {p.stage_on.isoformat()}; a change "
                         f"dated {on.isoformat()} would come before it; nothing was changed")

