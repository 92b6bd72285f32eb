"""`reciprocal circulate`: each member's list of the active requests its stock could serve
(README, Weeks of rounds, worked), most urgent first, with the member's balance; members that owe the scheme come
first; requests no member could serve are named for the coordinator.

A member sees only what section 10 allows: the household's code, its landlord's member id, the
bedrooms and access a home would need, its risk, how long it has waited, and which of the
member's own areas would be safe and acceptable; never the areas the household avoids or prefers,
nor the survivor's area. Requests under a live proposal are being worked on and are not listed.
A household whose landlord has no debt headroom (rule 9) is listed, and marked so: a home
offered for it would go into the pot.
"""
from __future__ import annotations

from datetime import date

from typing import TYPE_CHECKING

from matching.circulation import Circulated, circulation
from reciprocal.domain import RequestStatus, debt_headroom
from reciprocal.intake.listing import list_requests
from reciprocal.ledger import balances as ledger_balances
from reciprocal.ledger.counted import counted_balances
from reciprocal.lifecycle.views import live_facts
from reciprocal.scope import check_viewer

# Read through the `Reader` (no ORM: issue 24); the rules are judged on NumPy arrays.
if TYPE_CHECKING:
    from reciprocal.config import Scheme
    from reciprocal.storage import Database, Reader


def _shown(item: Circulated, on: date, no_headroom: set[str], known: dict[str, tuple[dict, dict]]) -> dict:
    """`item` as a member sees it. `known`: each household's facts, made once for the tens of
    lists a household is in (only the safe areas differ from one member's list to another's)."""
    r = item.request
    facts = known.get(r.ref)
    if facts is None:
        tail = {"landlord_at_debt_limit": r.provider in no_headroom}
        if r.provider in no_headroom:
            tail["note"] = (f"its landlord {r.provider} is at its debt limit: a home offered for it now "
                            f"goes into the pot unless {r.provider} gives a home first")
        facts = known[r.ref] = (
            {"request": r.ref, "landlord": r.provider, "kind": r.kind.value, "risk": r.risk.value,
             "bedrooms_needed": r.bedrooms_needed, "needs_step_free": r.needs_step_free,
             "needs_wheelchair": r.needs_wheelchair, "weeks_waiting": r.waiting_days(on) // 7}, tail)
    head, tail = facts
    return {**head, "safe_areas": list(item.areas), **tail}


def _no_headroom(reader: Reader, scheme: Scheme) -> set[str]:
    """Members with no room to have another tenant placed (rule 9), counting live proposals as a
    round does: a home offered for one of their households could not be proposed to it."""
    counted = counted_balances(reader, scheme)
    return {m for m in scheme.providers if debt_headroom(counted.of(m), scheme.max_debt(m)) == 0}


def balance_words(balance: int) -> str:
    """A member's balance as it is told to the member (README, Weeks of rounds, worked)."""
    if balance < 0:
        return f"you owe the scheme {-balance} home(s)"
    return f"the scheme owes you {balance} home(s)" if balance > 0 else "you are even"


def circulate(db: Database | Reader, scheme: Scheme, on: date, for_provider: str | None = None,
              members: list[str] | None = None) -> dict:
    """Every member's list (or only `members`' lists), or one member's as it may see it."""
    check_viewer(scheme, for_provider)
    with db.reader() as reader:
        requests = list_requests(reader, RequestStatus.active.value, order="id")  # as a round reads them
        busy = {p.request_ref for p in live_facts(reader)}
        balance = ledger_balances(reader, list(scheme.providers)).total
        no_headroom = _no_headroom(reader, scheme)
    free = [r for r in requests if r.ref not in busy]
    wanted = [for_provider] if for_provider is not None else members
    listing = circulation(scheme, on, free, wanted)
    served = {i.request.ref for items in listing.values() for i in items} if wanted is None else set()
    members = []
    known: dict[str, tuple[dict, dict]] = {}
    for member, items in listing.items():
        owed = balance.get(member, 0)
        members.append({"member": member, "name": scheme.providers[member].name, "balance": owed,
                        "owes": max(0, -owed), "max_debt": scheme.max_debt(member),
                        "requests": [_shown(i, on, no_headroom, known) for i in items]})
    members.sort(key=lambda m: (m["balance"], m["member"]))  # those that owe the scheme first
    if for_provider is not None:
        return {"on": on.isoformat(), "member": next(m for m in members if m["member"] == for_provider)}
    if wanted is not None:
        return {"on": on.isoformat(), "members": members}
    return {"on": on.isoformat(), "members": members,
            "no_member_can_serve": sorted(r.ref for r in free if r.ref not in served)}
