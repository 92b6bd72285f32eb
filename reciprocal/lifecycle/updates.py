"""A household's or a home's facts updated in place (`request update`, `offer update`, an updates
file), keeping its waiting time and its history (SPEC section 6, issue 21).

One path for every update, whatever brought it in: each changed field is checked as at import
(`reciprocal.intake.readers.check_update`: dates, digits, areas, tenancy kinds, a home's
contradictory access), the row changed, the change recorded in the hash-chained trail (which
fields, before and after, the day and the role; `trail.record_case`), and every live proposal of
the case judged again by every hard rule in the same transaction (`reciprocal.lifecycle.rejudge`):
one that now breaks a rule is cancelled, naming it. A file is all or nothing, every problem named
at once; an update that changes nothing writes nothing, so a file is safe to repeat.

The values before and after are kept beside the chained event, not in it: the event holds their
digest (with a salt kept beside them), so `audit verify` holds them to the chain, and `request
purge` can still blank a closed household's details for good.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlmodel import Session, select

from reciprocal.config import Scheme
from reciprocal.domain import OfferStatus, RequestStatus, Role
from reciprocal.errors import InputFileError, Problem
from reciprocal.intake.readers import UPDATABLE, check_update, personal_data_in, read_updates
from reciprocal.lifecycle import proposals, rejudge, trail
from reciprocal.hashchain import case_ref, digest, plain_value
from reciprocal.lifecycle.changes import Change, shown
from reciprocal.storage import OfferRow, ProposalRow, RequestRow

# The roles that may tell the coordinator of a change (recorded in the trail).
ROLES = {"request": (Role.coordinator, Role.referring_landlord),
         "offer": (Role.coordinator, Role.offering_landlord)}
# A case that has left the pot for good has no facts left to change.
OPEN = {"request": tuple(s.value for s in RequestStatus if s not in (RequestStatus.moved, RequestStatus.closed)),
        "offer": (OfferStatus.available.value,)}
REFERRED_ON = "referred_on"


@dataclass(frozen=True)
class Update:
    """One case's update as asked: its ref, the raw text of each field to change, and where it
    was named (for its problems)."""

    ref: str
    cells: dict[str, str]
    reason: str | None = None  # why `referred_on` changes (required then)
    source: str = "--option"
    line: int | None = None


# Kept in `reciprocal.hashchain` (pure: `audit verify` holds case updates to them without the ORM).
plain = plain_value


def update_cases(session: Session, scheme: Scheme, kind: str, updates: list[Update], on: date,
                 role: Role = Role.coordinator) -> list[Change]:
    """Apply `updates` (of `kind` "request" or "offer") all or none: every problem is named, then
    nothing changes. Returns every change made: each update, then each proposal it cancelled."""
    row_type = RequestRow if kind == "request" else OfferRow
    if role not in ROLES[kind]:
        raise InputFileError([Problem("--by", f"an {kind} update is told by "
                                      f"{' or '.join(r.value for r in ROLES[kind])}, not {role.value}")],
                             "nothing was changed")
    rows = {r.ref: r for r in session.exec(select(row_type).where(
        row_type.ref.in_(sorted({u.ref for u in updates})))).all()}
    problems, planned = [], []
    for u in updates:
        row = rows.get(u.ref)
        if row is None:
            problems.append(Problem(u.source, f"no {kind} with ref {u.ref}", u.line, "ref"))
            continue
        if row.status not in OPEN[kind]:
            problems.append(Problem(u.source, f"{kind} {u.ref} is {row.status}; its facts can no longer change",
                                    u.line, "ref"))
            continue
        found = _reason_problems(u)
        current = {name: getattr(row, name) for name in _fields(row_type)}
        if kind == "offer" and current["wheelchair_accessible"] and not current["step_free"]:
            current["step_free"] = None  # stored from a blank cell: rule 4 takes it as step-free
        merged, bad = check_update(kind, scheme, u.source, u.line, current, u.cells)
        problems += found + bad
        changed = [n for n in UPDATABLE[kind] if n in u.cells and plain(merged[n]) != plain(current[n])]
        if not found and not bad and changed:
            planned.append((u, row, merged, changed))
    if problems:
        raise InputFileError(problems, f"{len(problems)} problem(s) in the {kind} update(s); nothing was changed")
    changes: list[Change] = []
    for u, row, merged, changed in planned:
        changes.append(_apply(session, kind, u, row, merged, changed, on, role))
        live = list(session.exec(select(ProposalRow).where(
            ProposalRow.status.in_(proposals.LIVE),
            (ProposalRow.request_ref if kind == "request" else ProposalRow.offer_ref) == u.ref)).all())
        changes += rejudge.rejudge(session, scheme, on, rejudge.HOUSEHOLD if kind == "request" else rejudge.HOME,
                                   live)
    return changes


def _fields(row_type) -> list[str]:
    return [c.name for c in row_type.__table__.columns]


def _reason_problems(u: Update) -> list[Problem]:
    """Waiting time is kept: `referred_on` changes only with a reason, which holds no personal data."""
    reason = (u.reason or "").strip()
    if REFERRED_ON in u.cells and not reason:
        return [Problem(u.source, "referred_on changes only with a reason (--reason, or a reason column): "
                        "the household's waiting time counts from it", u.line, REFERRED_ON)]
    found = personal_data_in(reason)
    if found:
        return [Problem(u.source, f"looks like {found}; a reason holds no personal data", u.line, "reason")]
    return []


def _apply(session: Session, kind: str, u: Update, row, merged: dict, changed: list[str], on: date,
           role: Role) -> Change:
    before = {n: plain(getattr(row, n)) for n in changed}
    for name in changed:
        value = merged[name]
        if isinstance(value, tuple):
            value = list(value)
        if name == "step_free":
            value = bool(value)
        setattr(row, name, value)
    session.add(row)
    after = {n: plain(getattr(row, n)) for n in changed}
    values = {"salt": secrets.token_hex(16), "before": before, "after": after}
    if REFERRED_ON in changed:
        values["reason"] = u.reason.strip()[:500]
    detail = {"case": kind, "ref": u.ref, "fields": changed, "values": digest(values)}
    event = trail.record_case(session, case_ref(kind, u.ref), on, role.value, detail, values)
    words = "; ".join(f"{n} {shown(before[n])} -> {shown(after[n])}" for n in changed)
    return Change(kind, u.ref, row.status, row.status,
                  f"updated by the {role.value.replace('_', ' ')} on {on.isoformat()} (trail event {event.id}): {words}")


def updates_from_file(path: Path, kind: str) -> list[Update]:
    """The updates an updates file asks for (`request update --file`, `offer update --file`)."""
    out = []
    for line, ref, cells in read_updates(path, kind):
        reason = cells.pop("reason", None)
        out.append(Update(ref, cells, reason, path.name, line))
    return out


def history(session: Session, kind: str, ref: str) -> list[dict]:
    """A case's updates, oldest first: when, by which role, each field before and after (the
    values as kept beside the chain; blank once `request purge` removed them)."""
    out = []
    for e in trail.case_events(session, case_ref(kind, ref)):
        values = e.case_values or {}
        out.append({"seq": e.id, "on": e.on.isoformat(), "role": e.role, "fields": (e.detail or {}).get("fields", []),
                    "before": values.get("before"), "after": values.get("after"), "reason": values.get("reason")})
    return out


def case_view(db, kind: str, ref: str) -> dict:
    """`request show` / `offer show`: the case's facts now, its status, its proposals and its
    history of updates (for the coordinator)."""
    from reciprocal.errors import NotFoundError
    row_type = RequestRow if kind == "request" else OfferRow
    with db.reading() as session:
        row = session.exec(select(row_type).where(row_type.ref == ref)).first()
        if row is None:
            raise NotFoundError(f"no {kind} with ref {ref}")
        facts = {n: plain(getattr(row, n)) for n in _fields(row_type) if n not in ("id", "created_at")}
        column = ProposalRow.request_ref if kind == "request" else ProposalRow.offer_ref
        made = [{"proposal": p.id, "status": p.status, "offer" if kind == "request" else "request":
                 p.offer_ref if kind == "request" else p.request_ref, "stage_on": plain(p.stage_on)}
                for p in session.exec(select(ProposalRow).where(column == ref).order_by(ProposalRow.id)).all()]
        return {"kind": kind, "ref": ref, "facts": facts, "proposals": made, "history": history(session, kind, ref)}
