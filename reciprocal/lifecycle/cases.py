"""Requests and offers through their states (docs/config.md, Lifecycle terms), each change returned as a `Change`.

A request is `referred` (awaiting its landlord's approval), `active`, `on_hold` (a reason and a
day to look again), `stale` (not reconfirmed within the scheme's `reconfirm_days`; skipped until
`request reconfirm`), `review` (its reasonable refusals reached the scheme's limit), and finally
`moved` (signed) or `closed` with an outcome. An offer is `available` until it is `let`,
`withdrawn` or `let_outside_scheme`. Taking a home or household out of the pot cancels its live
proposal, out loud.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, select

from reciprocal.config import Scheme
from reciprocal.domain import LIVE_PROPOSAL, OfferStatus, RequestOutcome, RequestStatus
from reciprocal.errors import InputFileError, NotFoundError, Problem, StateError
from reciprocal.lifecycle import proposals
from reciprocal.lifecycle.changes import Change
from reciprocal.storage import OfferRow, ProposalRow, RequestRow

# From which states each request command may start.
REQUEST_FROM = {
    "approve": (RequestStatus.referred,),
    "hold": (RequestStatus.active, RequestStatus.stale, RequestStatus.review, RequestStatus.referred),
    "resume": (RequestStatus.on_hold, RequestStatus.review),
    "reconfirm": (RequestStatus.active, RequestStatus.stale),
    "close": (RequestStatus.referred, RequestStatus.active, RequestStatus.on_hold, RequestStatus.stale,
              RequestStatus.review),
}


def find_request(session: Session, ref: str) -> RequestRow | None:
    return session.exec(select(RequestRow).where(RequestRow.ref == ref)).first()


def _request(session: Session, ref: str) -> RequestRow:
    row = find_request(session, ref)
    if row is None:
        raise NotFoundError(f"no request with ref {ref}")
    return row


def _offer(session: Session, ref: str) -> OfferRow:
    row = session.exec(select(OfferRow).where(OfferRow.ref == ref)).first()
    if row is None:
        raise NotFoundError(f"no offer with ref {ref}")
    return row


def _check(row: RequestRow, action: str) -> None:
    allowed = REQUEST_FROM[action]
    if row.status not in allowed:
        raise StateError(f"request {row.ref} is {row.status}; `request {action}` needs it "
                         f"{' or '.join(s.value for s in allowed)}; nothing was changed")


def _set(session: Session, row: RequestRow, status: RequestStatus, why: str) -> Change:
    before = row.status
    row.status = status.value
    session.add(row)
    return Change("request", row.ref, before, row.status, why)


def approve(session: Session, scheme: Scheme, ref: str, on: date) -> list[Change]:
    row = _request(session, ref)
    if row.status == RequestStatus.active:
        return []
    _check(row, "approve")
    row.reconfirmed_on = on
    return [_set(session, row, RequestStatus.active, "approved by its landlord: in the pot and circulated")]


def hold(session: Session, scheme: Scheme, ref: str, on: date, reason: str, until: date) -> list[Change]:
    row = _request(session, ref)
    if not (reason or "").strip():
        raise StateError("a hold needs a reason (--reason); nothing was changed")
    if until < on:
        raise StateError(f"the day to look again ({until.isoformat()}) is before {on.isoformat()}; "
                         f"nothing was changed")
    _check(row, "hold")
    changes = proposals.cancel_for(session, scheme, on, f"request {ref} put on hold", request_ref=ref)
    row.hold_reason, row.look_again_on = reason.strip()[:500], until
    return changes + [_set(session, row, RequestStatus.on_hold,
                           f"on hold: {row.hold_reason}; look again on {until.isoformat()}")]


def resume(session: Session, scheme: Scheme, ref: str, on: date) -> list[Change]:
    row = _request(session, ref)
    if row.status == RequestStatus.active:
        return []
    _check(row, "resume")
    row.hold_reason, row.look_again_on, row.reconfirmed_on = None, None, on
    return [_set(session, row, RequestStatus.active, "back in the pot")]


def reconfirm(session: Session, scheme: Scheme, ref: str, on: date) -> list[Change]:
    row = _request(session, ref)
    _check(row, "reconfirm")
    return _reconfirm_row(session, row, on)


# Where a ref was named, for its problem: (source, line, column); ("--option", None, None) on the command line.
Named = tuple[str, tuple[str, "int | None", "str | None"]]


def reconfirm_many(session: Session, scheme: Scheme, refs: list[Named], on: date) -> list[Change]:
    """Many households reconfirmed at once (each ref with where it was named), all or none:
    every ref that is unknown or cannot be reconfirmed is named, and then nothing changes."""
    wanted = sorted({ref for ref, _ in refs})
    rows: dict[str, RequestRow] = {}
    for start in range(0, len(wanted), 500):
        for row in session.exec(select(RequestRow).where(RequestRow.ref.in_(wanted[start:start + 500]))).all():
            rows[row.ref] = row
    problems = []
    for ref, (source, line, column) in refs:
        row = rows.get(ref)
        if row is None:
            problems.append(Problem(source, f"no request with ref {ref}", line, column))
        elif row.status not in REQUEST_FROM["reconfirm"]:
            problems.append(Problem(source, f"request {ref} is {row.status}; `request reconfirm` needs it "
                                    f"active or stale", line, column))
    if problems:
        raise InputFileError(problems, f"{len(problems)} request(s) cannot be reconfirmed; nothing was changed")
    changes, seen = [], set()
    for ref, _ in refs:
        if ref not in seen:
            seen.add(ref)
            changes += _reconfirm_row(session, rows[ref], on)
    return changes


def _reconfirm_row(session: Session, row: RequestRow, on: date) -> list[Change]:
    row.reconfirmed_on = on
    if row.status == RequestStatus.active:
        session.add(row)
        return [Change("request", row.ref, row.status, row.status, f"reconfirmed on {on.isoformat()}")]
    return [_set(session, row, RequestStatus.active, f"reconfirmed on {on.isoformat()}: back in the pot")]


def close(session: Session, scheme: Scheme, ref: str, on: date, outcome: RequestOutcome) -> list[Change]:
    row = _request(session, ref)
    if row.status == RequestStatus.closed and row.outcome == outcome.value:
        return []
    _check(row, "close")
    changes = proposals.cancel_for(session, scheme, on, f"request {ref} closed ({outcome.value})",
                                   request_ref=ref)
    row.outcome, row.closed_on = outcome.value, on
    return changes + [_set(session, row, RequestStatus.closed, f"closed: {outcome.value}")]


def end_offer(session: Session, scheme: Scheme, ref: str, on: date, status: OfferStatus) -> list[Change]:
    """`offer withdraw` or `offer let-outside`: the home leaves the pot."""
    row = _offer(session, ref)
    if row.status == status:
        return []
    if row.status != OfferStatus.available:
        raise StateError(f"offer {ref} is {row.status}, not available; nothing was changed")
    words = "withdrawn" if status == OfferStatus.withdrawn else "let outside the scheme"
    changes = proposals.cancel_for(session, scheme, on, f"offer {ref} {words}", offer_ref=ref)
    before = row.status
    row.status, row.closed_on = status.value, on
    session.add(row)
    return changes + [Change("offer", ref, before, row.status, words)]


def mark_stale(session: Session, scheme: Scheme, on: date) -> list[Change]:
    """Active requests not reconfirmed within `reconfirm_days` go stale; one with a live proposal
    is being worked on and is left alone. The days are counted from the latest day the scheme gave
    for the household: its referral (`referred_on`), or its approval, resumption or last
    reconfirmation (`reconfirmed_on`, each the `--on` day of its command). Never from the machine's
    clock at import: a household imported today but referred next month is not stale before it."""
    days = scheme.config.lifecycle.reconfirm_days
    if days is None:
        return []
    busy = set(session.exec(select(ProposalRow.request_ref).where(
        ProposalRow.status.in_([s.value for s in LIVE_PROPOSAL]))).all())
    # Judged on three columns; only the requests going stale are loaded whole (a national pot
    # holds 20,000 active requests, and a week few of them go stale).
    active = session.exec(select(RequestRow.ref, RequestRow.reconfirmed_on, RequestRow.referred_on)
                          .where(RequestRow.status == RequestStatus.active.value)
                          .order_by(RequestRow.ref)).all()
    since = {ref: max(referred, reconfirmed or referred) for ref, reconfirmed, referred in active}
    going = [ref for ref, day in since.items() if ref not in busy and day + timedelta(days=days) < on]
    rows = {}
    for start in range(0, len(going), 500):
        for row in session.exec(select(RequestRow).where(RequestRow.ref.in_(going[start:start + 500]))).all():
            rows[row.ref] = row
    return [_set(session, rows[ref], RequestStatus.stale,
                 f"not referred, approved or reconfirmed since {since[ref].isoformat()} ({days} days); skipped by "
                 f"rounds until `request reconfirm {ref}`") for ref in going]

