"""Live proposals judged again under the facts as they are now (SPEC section 6, issue 21).

After a household's or a home's facts are updated (`reciprocal.lifecycle.updates`), and at the
start of every command that changes state and every round (the configs may have changed since the
last), every live proposal touched is judged again by every hard rule (`matching.rules`, the pair
forms). One that now breaks a rule is cancelled there and then, in the same transaction, through
the one cancel path (`proposals.cancel_for`), printed with the rule and why; home and household
are back in the pot (a cancellation is not a refusal: the pair may return when the facts allow).
What is recorded and shown to both members is only what changed (the household's circumstances,
the home's facts, the scheme's terms), never the household's avoided areas.

A member suspended (or past its `left` day) breaks `providers_active`; what that does to its live
proposals is the scheme's term `lifecycle.on_suspension`: `continue` (each is said to continue) or
`cancel`.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from reciprocal import scope
from reciprocal.config import Scheme
from reciprocal.domain import Offer, Request, Role
from reciprocal.lifecycle import proposals
from reciprocal.lifecycle.changes import Change
from reciprocal.storage import MetaRow, OfferRow, ProposalRow, RequestRow, offer_from_row, request_from_row

# The rules load NumPy: imported where a proposal is judged, so that a command under configs
# already judged starts as fast as before (README, start-up).
if TYPE_CHECKING:
    from matching.rules import MatchContext

# What a cancellation records and both members see, by what changed.
HOUSEHOLD = scope.CIRCUMSTANCES_CHANGED
HOME = scope.HOME_CHANGED
SCHEME = "the scheme's terms changed"
SUSPENDED = "providers_active"
# The meta key holding what the live proposals were last judged under (`rejudge_configs`).
JUDGED_UNDER = "live_proposals_judged_under"


def configs_key(scheme: Scheme, on: date) -> str:
    """What the live proposals' verdicts depend on besides their cases' facts and the day: every
    MoU term and member's config, and which members are not active on `on` (a `left` day passes
    with no edit)."""
    inactive = sorted(p for p in scheme.providers if not scheme.is_active(p, on))
    body = json.dumps([scheme.config.model_dump(mode="json"),
                       {k: v.model_dump(mode="json") for k, v in sorted(scheme.providers.items())}, inactive],
                      sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def rejudge_configs(session: Session, scheme: Scheme, on: date) -> tuple[list[Change], str | None]:
    """At the start of a command that changes state: every live proposal judged again, unless
    they were last judged under these very configs (nothing a rule reads has changed but the day,
    which only ever makes a live proposal's rules easier to meet) - then nothing to do. Returns the
    changes and, when it cancelled nothing, the key for the command to `remember` in its own
    transaction (a refused command writes nothing, not even that)."""
    key = configs_key(scheme, on)
    row = session.get(MetaRow, JUDGED_UNDER)
    if row is not None and row.value == key:
        return [], None
    changes = rejudge(session, scheme, on, SCHEME)
    if any(c.from_status != c.to_status for c in changes):
        remember(session, key)
        return changes, None
    return changes, key


def remember(session: Session, key: str | None) -> None:
    """Record the configs the live proposals were judged under (`rejudge_configs`)."""
    if key is not None:
        session.merge(MetaRow(key=JUDGED_UNDER, value=key))


def rejudge(session: Session, scheme: Scheme, on: date, cause: str, live: list[ProposalRow] | None = None,
            now: str = "now") -> list[Change]:
    """Judge `live` (default: every live proposal) again; cancel each that breaks a hard rule.
    `cause` is what is recorded; the printed line names the rule and why, in words."""
    from matching.rules import MatchContext, failed_rules
    live = proposals.live(session) if live is None else [p for p in live if p.status in proposals.LIVE]
    if not live:
        return []
    requests = _rows(session, RequestRow, {p.request_ref for p in live}, request_from_row)
    offers = _rows(session, OfferRow, {p.offer_ref for p in live}, offer_from_row)
    declined = proposals.never_again(session)
    changes: list[Change] = []
    for p in live:
        request, offer = requests.get(p.request_ref), offers.get(p.offer_ref)
        if request is None or offer is None:
            continue  # `audit verify` names a proposal whose case is missing
        # Judged on the later of the command's day and the day its stage began: a command dated
        # earlier must not find a home "not yet available" that was when it was proposed.
        ctx = MatchContext(scheme, max(on, p.stage_on or on), declined)
        broken = failed_rules(ctx, request, offer)
        if not broken:
            continue
        if broken == [SUSPENDED] and scheme.config.lifecycle.on_suspension == "continue":
            changes.append(Change("proposal", str(p.id), p.status, p.status,
                                  f"continues to signing although {_inactive(ctx, request, offer)} "
                                  f"(lifecycle.on_suspension: continue)", p.request_ref, p.offer_ref))
            continue
        rule = broken[0]
        words = "; ".join(f"{why(ctx, name, request, offer, '' if cause == SCHEME else now)} ({name})"
                          for name in broken)
        recorded = cause if rule != SUSPENDED else f"{SCHEME}: {_inactive(ctx, request, offer)}"
        if rule == SUSPENDED:
            words += " (lifecycle.on_suspension: cancel)"
        changes += proposals.cancel_for(session, scheme, on, recorded, offer_ref=p.offer_ref, rule=rule,
                                        shown=f"cancelled: {words}; home and household are back in the pot",
                                        role=Role.engine)
    return changes


def _rows(session: Session, row_type, refs: set[str], convert) -> dict:
    found, wanted = {}, sorted(refs)
    for start in range(0, len(wanted), 500):
        for row in session.exec(select(row_type).where(row_type.ref.in_(wanted[start:start + 500]))).all():
            found[row.ref] = convert(row)
    return found


def _inactive(ctx: "MatchContext", request: Request, offer: Offer) -> str:
    return "; ".join(ctx.scheme.why_inactive(p, ctx.on) for p in dict.fromkeys((request.provider, offer.provider))
                     if not ctx.scheme.is_active(p, ctx.on))


def why(ctx: "MatchContext", rule: str, request: Request, offer: Offer, now: str = "now") -> str:
    """Why the pair breaks `rule`, in words, naming the facts (for the coordinator's eyes)."""
    from matching.rules import RULES_BY_NAME, most_bedrooms, reach_areas
    scheme = ctx.scheme
    now = f" {now}" if now else ""  # "now" after a case's update; nothing after the scheme's terms changed
    if rule == "safety_buffer":
        if offer.area in request.avoid_areas:
            return f"{offer.ref} is in {offer.area}, which {request.ref}{now} avoids"
        near = sorted(a for a in request.avoid_areas if offer.area in scheme.within_buffer((a,)))
        return (f"{offer.ref} is in {offer.area}, within the scheme's safety buffer of {', '.join(near)}, "
                f"which {request.ref}{now} avoids")
    if rule == "size":
        return (f"{offer.ref} has {offer.bedrooms} bedroom(s); {request.ref}{now} needs "
                f"{request.bedrooms_needed} to {most_bedrooms(ctx, request)}")
    if rule == "access":
        needs = "a wheelchair-accessible home" if request.needs_wheelchair else "a step-free home"
        return f"{request.ref}{now} needs {needs}, which {offer.ref} is not"
    if rule == "security_of_tenure":
        return (f"{offer.ref} would grant {ctx.granted_tenancy(request, offer) or 'no known tenancy'}, less "
                f"secure than the {request.current_tenancy} tenancy {request.ref} holds")
    if rule == "offer_restrictions":
        return f"{request.ref} does not meet {offer.ref}'s restrictions ({', '.join(offer.restrictions)})"
    if rule == "providers_active":
        return _inactive(ctx, request, offer)
    if rule == "perpetrator_safety":
        return (f"{request.ref}'s move{now} lacks the survivor's consent or a safety decision, or "
                f"{offer.ref} is in or near the survivor's area")
    if rule == "availability":
        return (f"{offer.ref} is{now} available from {offer.available_from.isoformat()}, past the "
                f"{scheme.config.rounds.offer_horizon_days}-day horizon")
    if rule == "reach":
        near = reach_areas(ctx, request) or ()
        return f"{offer.ref} is in {offer.area}, beyond reach of {request.ref}'s preferred areas ({len(near)} in reach)"
    if rule == "risk_gate":
        return f"{request.ref}'s risk is{now} {request.risk.value}, below the scheme's gate"
    return f"{offer.ref} for {request.ref}: {RULES_BY_NAME[rule].failed}"
