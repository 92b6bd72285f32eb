"""A proposal's stages (docs/config.md, Lifecycle terms), in the database: advance, refuse, sign, lapse, cancel.

`proposed -> nomination_confirmed -> viewing -> accepted -> signed`; or it ends `refused`,
`lapsed` or `cancelled`. Each live stage is due a number of working days after it began
(`lifecycle` terms in scheme.yaml; `reciprocal.working_days`). While a proposal is live its home
and its household are reserved; when it ends without signing both go back to the pot and that pair
is never proposed again (rule 10). Signing *is* the move: ledger legs, post-move checklist, offer
let, request moved, all in one transaction, and a second signing changes nothing.

Every function here takes an open write transaction's session, returns the `Change`s it made and
records each change of stage in the trail (`reciprocal.lifecycle.trail`). Rule 9 is judged when
proposals are made, on `counted_balances` (the ledger plus every live proposal as the scheme's
`fairness.gives_count_from` counts it); a signing is never refused for it.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import defer
from sqlmodel import Session, select

from reciprocal.config import Scheme
from reciprocal.domain import (LIVE_PROPOSAL, NEXT_STAGE, OfferStatus, ProposalStatus,
                               RefusedBy, RequestStatus, Role)
from reciprocal.errors import InputFileError, IntegrityError, NotFoundError, Problem, StateError
from reciprocal.ledger import counted
from reciprocal.ledger import record_move
from reciprocal.lifecycle import trail
from reciprocal.lifecycle.changes import Change
from reciprocal.lifecycle.checklist import CHECKLIST
from reciprocal.storage import ChecklistItemRow, MoveRow, OfferRow, ProposalRow, RequestRow, insert_rows, utcnow
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


def live_facts(session: Session) -> list:
    """`live`'s proposals as plain rows of their pair, providers, stage and due date, for readers
    that need no ORM object: building one per proposal, with its explanation, took seconds for a
    national scheme's live proposals."""
    return list(session.exec(select(ProposalRow.id, ProposalRow.request_ref, ProposalRow.offer_ref,
                                    ProposalRow.from_provider, ProposalRow.to_provider, ProposalRow.status,
                                    ProposalRow.due_on)
                             .where(ProposalRow.status.in_(LIVE)).order_by(ProposalRow.id)).all())


def never_again(session: Session) -> frozenset[tuple[str, str]]:
    """Pairs never to propose again (rule 10): refused or lapsed, for that household and home."""
    ended = (ProposalStatus.refused.value, ProposalStatus.lapsed.value)
    rows = session.exec(select(ProposalRow.request_ref, ProposalRow.offer_ref)
                        .where(ProposalRow.status.in_(ended))).all()
    return frozenset((r, o) for r, o in rows)


# Rule 9's balances (total and band): the ledger's, plus every live proposal as the scheme counts
# it (`reciprocal.domain.counted_effect`), read the same way by a round (a session) and by the read
# commands (a `Reader`).
counted_balances = counted.counted_balances


def _change(p: ProposalRow, before: str | None, why: str) -> Change:
    return Change("proposal", str(p.id), before, p.status, why, p.request_ref, p.offer_ref)


def enter(session: Session, scheme: Scheme, p: ProposalRow, stage: ProposalStatus, on: date, role: Role,
          detail: dict | None = None, why: str = "") -> Change:
    """Move `p` into `stage` on `on`, with its due date if the stage is live; record the event."""
    return enter_many(session, scheme, [(p, stage, role, detail, why)], on)[0]


Entry = tuple[ProposalRow, ProposalStatus, Role, "dict | None", str]  # as `enter` takes them


def enter_many(session: Session, scheme: Scheme, entries: list[Entry], on: date) -> list[Change]:
    """`enter` for many proposals, in order, with one flush and one trail write: a national
    scheme's week can lapse thousands, and an event written one at a time took seconds."""
    moved = []
    for p, stage, role, detail, why in entries:
        before = p.status if p.id is not None and p.status else None
        p.status = stage.value
        p.stage_on = on
        p.due_on = add_working_days(on, scheme.days_for(stage)) if stage in LIVE_PROPOSAL else None
        if stage not in LIVE_PROPOSAL:
            p.decided_at = utcnow()
        session.add(p)
        moved.append((p, before, role, detail, why))
    session.flush()
    events, changes = [], []
    for p, before, role, detail, why in moved:
        if p.due_on is not None:  # chained, so `audit verify` holds the row's due date to it
            detail = {**(detail or {}), "due_on": p.due_on.isoformat()}
            why = (why + "; " if why else "") + f"due {p.due_on.isoformat()}"
        events.append((p.id, before, p.status, on, role, detail))
        changes.append(_change(p, before, why))
    trail.record_many(session, events)
    return changes


def move_facts(move: MoveRow) -> dict:
    """What the signing's trail event records of its move: the event is hash-chained, so `audit
    verify` can hold the move row (not chained itself) to it: the home, the household, both
    landlords, the band and the day."""
    return {"tenancy_start": move.moved_on.isoformat(), "move": move.id, "request": move.request_ref,
            "offer": move.offer_ref, "from_provider": move.from_provider, "to_provider": move.to_provider,
            "band": move.band, "round": move.round_id, "kind": move.kind, "bedrooms": move.bedrooms}


def made_facts(p: dict) -> dict:
    """What a proposal's making event records: its round, its pair, both landlords and its due
    date, so that `audit verify` can hold those columns of the row (not chained) to it."""
    return {"round": p["round_id"], "request": p["request_ref"], "offer": p["offer_ref"],
            "from_provider": p["from_provider"], "to_provider": p["to_provider"],
            "due_on": p["due_on"].isoformat()}


def proposal_values(round_id: int, proposal: dict) -> dict:
    """A proposal of `matching.engine.solve_round` as `propose` takes it: the pair, its two
    providers and the round; its explanation is every key beyond those."""
    from matching.engine import PROPOSAL_KEYS
    return {"round_id": round_id, "request_ref": proposal["request"], "offer_ref": proposal["offer"],
            "from_provider": proposal["from_provider"], "to_provider": proposal["to_provider"],
            "explanation": {k: v for k, v in proposal.items() if k not in PROPOSAL_KEYS}}


def propose(session: Session, scheme: Scheme, made: list[dict], on: date,
            reoffer_after: ProposalRow | None = None) -> list[Change]:
    """New proposals from a round, or from a re-solve for the home `reoffer_after` freed
    (`proposal_values` each): stage `proposed`, due in working days. Each says when and why it was
    made (`made_on`, `made_by`; a re-offer is filed with the round that first proposed the home,
    so that round's page says it came later). Stored and entered in the trail together, in order,
    as plain rows in bulk: a national round makes thousands, and an ORM object each took seconds.
    The database's partial unique indexes still refuse a second live proposal for a home or a
    household."""
    stage = ProposalStatus.proposed
    due = add_working_days(on, scheme.days_for(stage))
    # Only the columns a new proposal has (the rest are NULL): fewer parameters to send, which on
    # PostgreSQL the driver rewrites one by one in every 1,000-row statement.
    rows = [{**p, "status": stage.value, "stage_on": on, "due_on": due,
             "explanation": {**(p.get("explanation") or {}), "made_on": on.isoformat(),
                             "made_by": _made_by(p["round_id"], on, reoffer_after)}}
            for p in made]
    # A household is in at most one live proposal (a partial unique index), so its ref names its
    # new proposal's id whatever order the database returns them in.
    ids = dict(insert_rows(session, ProposalRow, rows, returning=("request_ref", "id")))
    for row in rows:
        row["id"] = ids[row["request_ref"]]
    # A re-offer's making event also names the proposal whose end freed the home (hash-chained).
    detail = {"reoffer_after": reoffer_after.id} if reoffer_after is not None else {}
    trail.record_many(session, [(p["id"], None, p["status"], on, Role.engine, {**made_facts(p), **detail})
                                for p in rows])
    # made now: the trail's first event comes from no stage
    return [Change("proposal", str(p["id"]), None, p["status"],
                   f"{p['explanation']['made_by']}; due {due.isoformat()}", p["request_ref"], p["offer_ref"])
            for p in rows]


def _made_by(round_id: int, on: date, reoffer_after: ProposalRow | None) -> str:
    if reoffer_after is None:
        return f"proposed by round {round_id}"
    return (f"re-offered on {on.isoformat()}: home {reoffer_after.offer_ref} was freed when proposal "
            f"{reoffer_after.id} was {reoffer_after.status} (filed with round {round_id})")


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
    from reciprocal.intake.readers import note_problem  # the CSV readers' check; they load only here
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
    # Only the overdue ones are read as ORM objects, without their explanations (a national
    # scheme has thousands live, and a week can lapse thousands).
    overdue = session.exec(select(ProposalRow).options(defer(ProposalRow.explanation))
                           .where(ProposalRow.status.in_(LIVE), ProposalRow.due_on < on)
                           .order_by(ProposalRow.id)).all()
    entries = []
    for p in overdue:
        stage, due = p.status, p.due_on
        p.decline_reason = f"no answer at stage {stage} by its due date {due.isoformat()}"
        entries.append((p, ProposalStatus.lapsed, Role.engine, {"stage": stage, "due_on": due.isoformat()},
                        f"stage {stage} was due {due.isoformat()} with no answer; home and "
                        f"household are back in the pot"))
    return enter_many(session, scheme, entries, on)


def cancel_for(session: Session, scheme: Scheme, on: date, why: str, offer_ref: str | None = None,
               request_ref: str | None = None, rule: str | None = None, shown: str | None = None,
               role: Role = Role.coordinator) -> list[Change]:
    """Cancel the live proposal of a home or a household that left the pot (withdrawn, closed, on
    hold, let outside the scheme), or that now breaks hard rule `rule` (`reciprocal.lifecycle.
    rejudge`): `why` is recorded (trail and proposal, seen by both members), `shown` printed to
    whoever made the change (default `why`)."""
    query = select(ProposalRow).where(ProposalRow.status.in_(LIVE))
    query = query.where(ProposalRow.offer_ref == offer_ref) if offer_ref else query.where(
        ProposalRow.request_ref == request_ref)
    changes = []
    for p in session.exec(query).all():
        p.decline_reason = why
        detail = {"why": why, **({"rule": rule} if rule else {})}
        changes.append(enter(session, scheme, p, ProposalStatus.cancelled, on, role, detail, shown or why))
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
    _check_still_in_pot(p, offer, request)
    _check_tenancy_start(p, request, tenancy_start, on)
    # Rule 9 is judged when a proposal is made, never at signing: a survivor's move is not held
    # hostage to another case (a give of this member's that fell through since).
    band = scheme.band_of(offer.bedrooms)
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


def _check_still_in_pot(p: ProposalRow, offer: OfferRow, request: RequestRow) -> None:
    """A live proposal's home is available and its household active (every change that takes
    either out of the pot cancels the proposal); say plainly which is not, and what to do."""
    if offer.status == OfferStatus.let or request.status == RequestStatus.moved:
        raise IntegrityError(f"proposal {p.id}: offer {offer.ref} is {offer.status} and request {request.ref} "
                             f"is {request.status}; refusing to let a home twice or move a household "
                             f"twice; nothing was changed")
    if request.status == RequestStatus.stale:
        raise StateError(f"proposal {p.id}: request {request.ref} is stale (not reconfirmed in time); "
                         f"`reciprocal request reconfirm {request.ref}`, then sign again; nothing was changed")
    if offer.status != OfferStatus.available or request.status != RequestStatus.active:
        raise StateError(f"proposal {p.id}: offer {offer.ref} is {offer.status} and request {request.ref} "
                         f"is {request.status}; only an available home and an active household can "
                         f"sign; nothing was changed")


# How far a tenancy start may be from the day it is signed, either way: a signing recorded a few
# weeks late, or a start agreed a few weeks ahead, is ordinary; a year out is a typing slip.
TENANCY_START_WITHIN_DAYS = 90


def _check_tenancy_start(p: ProposalRow, request: RequestRow, tenancy_start: date, on: date) -> None:
    """A tenancy starts on or after the household's referral, within TENANCY_START_WITHIN_DAYS of
    the signing day; else it is a slip, and the move's date (in the ledger for good) would be wrong."""
    if tenancy_start < request.referred_on:
        raise StateError(f"proposal {p.id}: --tenancy-start {tenancy_start.isoformat()} is before request "
                         f"{request.ref} was referred ({request.referred_on.isoformat()}); nothing was changed")
    if abs((tenancy_start - on).days) > TENANCY_START_WITHIN_DAYS:
        raise StateError(f"proposal {p.id}: --tenancy-start {tenancy_start.isoformat()} is "
                         f"{abs((tenancy_start - on).days)} days from the signing day {on.isoformat()}; a "
                         f"tenancy starts within {TENANCY_START_WITHIN_DAYS} days of it; nothing was changed")


def _check_not_before(p: ProposalRow, on: date) -> None:
    if p.stage_on is not None and on < p.stage_on:
        raise StateError(f"proposal {p.id} entered {p.status} on {p.stage_on.isoformat()}; a change "
                         f"dated {on.isoformat()} would come before it; nothing was changed")

