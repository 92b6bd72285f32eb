"""What changed for a member since its last pack (issue 21): `due` and the pack show it.

A member's changes are the updates of the facts (`reciprocal.lifecycle.updates`) of its own
households and homes, and of the households and homes in its live proposals, as
`reciprocal.scope.case_change_for` lets it see them: the offering member learns only that the
household's circumstances changed, the referring member only that the home's facts changed.

"Since its last pack": when `pack` writes a member's files it records, in the database's meta,
the pack's day and the trail's last event then (`record`). Every update recorded in the trail
after that event is new to the member, whatever day it is dated (a back-dated update entered
after the pack is not lost). A pack for day D counts from the member's latest pack of a day
before D, so a pack written again the same day is the same pack; `due` on day D counts from its
latest pack up to D. A member with no pack recorded, or a `--since DAY`, counts the updates
dated from that day (default: the pack's week, the 7 days up to and including D, as a pack's
ended proposals).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, NamedTuple

from reciprocal import scope
from reciprocal.lifecycle.changes import Change, shown

# What `due` reads here it reads through a `Reader` or a write session alike (`rows`), with no ORM
# loaded (issue 24); only recording a pack writes with it.
if TYPE_CHECKING:
    from sqlmodel import Session

# The meta key of a member's recorded packs: {day: the trail's last event id when it was written}.
PACKED = "packs_of:"
KEPT = 12  # a quarter of weekly packs; older days are never counted from
WEEK_DAYS = 7


@dataclass(frozen=True)
class Since:
    """Where a member's changes count from: after trail event `after_event` (its last pack), or
    from the day `day` (dated on or after it)."""

    day: date
    after_event: int | None = None

    def words(self) -> str:
        if self.after_event is not None:
            return f"your pack of {self.day.isoformat()}"
        return self.day.isoformat()

    def to_json(self) -> dict:
        return {"pack_of": self.day.isoformat() if self.after_event is not None else None,
                "from_day": None if self.after_event is not None else self.day.isoformat()}


def _packed(source, member: str) -> dict[str, int]:
    rows = source.rows("SELECT value FROM meta WHERE key = :key", {"key": PACKED + member})
    return json.loads(rows[0]["value"]) if rows else {}


def _every_packed(source) -> dict[str, dict[str, int]]:
    """`_packed` of every member that has a pack recorded, read in one go."""
    rows = source.rows("SELECT key, value FROM meta WHERE substr(key, 1, :n) = :prefix",
                       {"n": len(PACKED), "prefix": PACKED})
    return {r["key"][len(PACKED):]: json.loads(r["value"]) for r in rows}


def since_for(source, member: str, on: date, given: date | None = None,
              same_day: bool = False, packed: dict[str, int] | None = None) -> Since:
    """Where `member`'s changes count from on `on` (see the module docstring). `same_day`: a pack
    recorded on `on` counts (`due`), or not (a pack of that day, written again). `packed`: the
    member's recorded packs, when already read."""
    if given is not None:
        return Since(given)
    packed = _packed(source, member) if packed is None else packed
    days = [d for d in packed if d < on.isoformat() or (same_day and d == on.isoformat())]
    if days:
        last = max(days)
        return Since(date.fromisoformat(last), packed[last])
    return Since(on - timedelta(days=WEEK_DAYS - 1))


def record(session: Session, members: list[str], on: date) -> list[Change]:
    """Record `on` as each member's pack day, with the trail's last event (the first writing of
    a day is kept: what a later writing the same day adds is counted again, never lost)."""
    from sqlmodel import select

    from reciprocal.storage import MetaRow, ProposalEventRow
    last = session.exec(select(ProposalEventRow.id).order_by(ProposalEventRow.id.desc()).limit(1)).first() or 0
    changes = []
    for member in members:
        packed = _packed(session, member)
        if on.isoformat() in packed:
            continue
        packed[on.isoformat()] = last
        kept = dict(sorted(packed.items())[-KEPT:])
        session.merge(MetaRow(key=PACKED + member, value=json.dumps(kept, sort_keys=True)))
        changes.append(Change("member", member, None, "packed",
                              f"pack of {on.isoformat()} recorded: its next pack and `due` show what changed since"))
    return changes


@dataclass
class Changed:
    """One member's changes since its last pack, as it may see them, oldest first."""

    since: Since
    changes: list[dict]

    def to_json(self) -> dict:
        return {"since": self.since.to_json(), "changes": self.changes}


class CaseEvent(NamedTuple):
    """The columns of an update's trail event that say what changed."""

    id: int
    on: date
    role: str
    detail: dict
    case_ref: str
    case_values: dict | None


def changes_for(source, members: list[str], on: date, given: date | None = None,
                same_day: bool = False, owners=None) -> dict[str, Changed]:
    """Each member's changes since its last pack (see the module docstring), read from a `Reader`
    or a session (anything with `rows`)."""
    from reciprocal.lifecycle.views import Owners, live_facts
    owners = owners or Owners.read(source)
    packed = _every_packed(source) if given is None else {}
    since = {m: since_for(source, m, on, given, same_day, packed.get(m, {})) for m in members}
    events = [CaseEvent(**e) for e in source.rows(
        'SELECT id, "on", role, detail, case_ref, case_values FROM proposal_event '
        'WHERE proposal_id IS NULL AND "on" <= :on ORDER BY id', {"on": on})]
    # The live proposals of each household and each home, looked up per update (not searched).
    of_request: dict[str, list] = {}
    of_offer: dict[str, list] = {}
    if events:
        for p in live_facts(source):
            of_request.setdefault(p.request_ref, []).append(p)
            of_offer.setdefault(p.offer_ref, []).append(p)
    out: dict[str, Changed] = {m: Changed(since[m], []) for m in members}
    for e in events:
        kind, ref = e.case_ref.split(":", 1)
        owner = (owners.request_owner if kind == "request" else owners.offer_owner).get(ref)
        if kind == "request":
            touched = [(p.to_provider, p) for p in of_request.get(ref, [])]
        else:
            touched = [(p.from_provider, p) for p in of_offer.get(ref, [])]
        full = _full(e, kind, ref, owner)
        for viewer, p in [(owner, None), *touched]:
            if viewer not in out or not _after(e, since[viewer]):
                continue
            seen = scope.case_change_for({**full, "proposal": p.id if p else None,
                                          "request": p.request_ref if p else full["request"],
                                          "offer": p.offer_ref if p else full["offer"]}, viewer)
            if seen is not None:
                out[viewer].changes.append(seen)
    return out


def _after(event: CaseEvent, since: Since) -> bool:
    return event.id > since.after_event if since.after_event is not None else event.on >= since.day


def _full(event: CaseEvent, kind: str, ref: str, owner: str | None) -> dict:
    """The change as the case's own landlord sees it: which fields, before and after (blank once
    purged)."""
    values = event.case_values or {}
    before, after = values.get("before") or {}, values.get("after") or {}
    fields = (event.detail or {}).get("fields", [])
    words = "; ".join(f"{n} {shown(before.get(n))} -> {shown(after.get(n))}" if n in after else n for n in fields)
    return {"what": kind, "ref": ref, "owner": owner, "on": event.on.isoformat(), "by": event.role,
            "fields": fields, "change": words, "event": event.id,
            "request": ref if kind == "request" else None, "offer": ref if kind == "offer" else None}

