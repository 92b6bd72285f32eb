"""Circulation (README, Weeks of rounds, worked): which active requests a member's stock could serve, judged by
the hard rules that do not need a particular home.

A request is listed for a member when a home the member could offer would pass every pair rule:
a home of the member's in one of its areas, with exactly the bedrooms the household needs, step
free and wheelchair accessible, no restrictions, available on the day, let on the tenancy the
member grants. That home is the most a member could offer there, so it fails only the rules that
do not depend on the home: cross-provider, the safety buffer against that area, reach, tenure, the
perpetrator rules, active membership and the risk gate. Judging it with the same `PAIR_RULES`
keeps circulation and matching in one place: any eligible home of the member lists the request
(tests/rules/test_circulation.py holds both directions on random schemes).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from matching.rules import PAIR_RULES, MatchContext
from reciprocal.config import Scheme
from reciprocal.domain import Offer, PropertyType, Request


@dataclass(frozen=True)
class Circulated:
    request: Request
    areas: tuple[str, ...]  # the member's areas where a home would be safe and acceptable


def witness_home(member: str, area: str, request: Request, on: date) -> Offer:
    """The most a member could offer this household in `area`."""
    return Offer(ref=f"~circulation:{member}:{area}", provider=member, area=area,
                 bedrooms=request.bedrooms_needed, property_type=PropertyType.house, available_from=on,
                 step_free=True, wheelchair_accessible=True)


def serving_areas(ctx: MatchContext, member: str, request: Request) -> tuple[str, ...]:
    config = ctx.scheme.providers.get(member)
    if config is None:
        return ()
    return tuple(area for area in config.areas
                 if all(rule.check(ctx, request, witness_home(member, area, request, ctx.on)) for rule in PAIR_RULES))


def circulation(scheme: Scheme, on: date, requests: list[Request]) -> dict[str, list[Circulated]]:
    """For every member, the requests its stock could serve, most urgent first (risk, then the
    longest waiting, then ref)."""
    ctx = MatchContext(scheme, on)
    order = sorted(requests, key=lambda r: (scheme.risk_rank(r.risk), r.referred_on, r.ref))
    out: dict[str, list[Circulated]] = {}
    for member in sorted(scheme.providers):
        listed = []
        for request in order:
            areas = serving_areas(ctx, member, request)
            if areas:
                listed.append(Circulated(request, areas))
        out[member] = listed
    return out
