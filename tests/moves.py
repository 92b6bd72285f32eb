"""Walking proposals through their stages in tests: the steps a coordinator types, as library calls.

`sign_live(db, scheme, on)` takes every live proposal through nomination, viewing and acceptance
and signs it, the way the old one-week `decide --accept` + `round close` did; tests that are about
something else (audits, purge, scope, migrations) use it to make moves."""
from __future__ import annotations

from datetime import date, timedelta

from reciprocal.domain import NEXT_STAGE, ProposalStatus, RefusedBy, Role
from reciprocal.lifecycle import run, views
from reciprocal.storage import Database

LIVE = ["proposed", "nomination_confirmed", "viewing", "accepted"]


def to_accepted(db: Database, scheme, proposal_id: int, on: date) -> None:
    """Advance one live proposal to `accepted`, one stage a day from `on`."""
    status = views.proposal_view(db, proposal_id)["status"]
    day = on
    while status != ProposalStatus.accepted:
        following = NEXT_STAGE[ProposalStatus(status)]
        run.advance(db, scheme, proposal_id, day, Role.coordinator, following)
        status = following.value


def sign_live(db: Database, scheme, on: date, round_id: int | None = None, skip=(),
              tenancy_start: date | None = None) -> list[int]:
    """Every live proposal (of one round, if given) accepted and signed on `on`, the tenancy
    starting `tenancy_start` (default: a week later); returns the proposals signed. Requests in
    `skip` are left as they are."""
    signed = []
    for p in sorted(views.proposal_list(db, LIVE), key=lambda p: p["id"]):
        if (round_id is not None and p["round_id"] != round_id) or p["request"] in skip:
            continue
        to_accepted(db, scheme, p["id"], on)
        run.sign(db, scheme, p["id"], tenancy_start or on + timedelta(days=7), on)
        signed.append(p["id"])
    return signed


def refuse(db: Database, scheme, proposal_id: int, on: date, why: str = "refused in a test",
           resolve: bool = True):
    """The household refuses (not a reasonable offer, so no review), optionally re-solving."""
    return run.refuse(db, scheme, proposal_id, on, RefusedBy.household, "other", why, False, resolve)
