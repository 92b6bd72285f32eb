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

The rules judge the requests against every member's witness homes with the code path the round
uses (`matching.pairs.eligible_pairs`, each rule's `mask` over NumPy columns): a national scheme
(1,500 members, 20,000 requests) is some 70 million pair checks, which one by one took over a
quarter of an hour. Witness homes differ only in bedrooms from one request to the next, so one
table is built per bedroom size asked for, and judged against the requests asking for that size.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from matching.offer_table import RequestTable, build_offer_table
from matching.pairs import eligible_pairs
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


def circulation(scheme: Scheme, on: date, requests: list[Request],
                members: list[str] | None = None) -> dict[str, list[Circulated]]:
    """For every member (or only `members`), the requests its stock could serve, most urgent
    first (risk, then the longest waiting, then ref)."""
    ctx = MatchContext(scheme, on)
    order = sorted(requests, key=lambda r: (scheme.risk_rank(r.risk), r.referred_on, r.ref))
    members = sorted(scheme.providers if members is None else set(members) & set(scheme.providers))
    spots = [(member, area) for member in members for area in scheme.providers[member].areas]
    number = {m: k for k, m in enumerate(members)}
    spot_member = [number[m] for m, _ in spots]
    by_size: dict[int, list[int]] = {}
    for position, request in enumerate(order):
        by_size.setdefault(request.bedrooms_needed, []).append(position)
    found_r: list[np.ndarray] = []
    found_o: list[np.ndarray] = []
    for size, positions in by_size.items():
        homes = [witness_home(m, a, order[positions[0]], on) for m, a in spots]
        table = build_offer_table(scheme, on, homes)
        pair_request, pair_spot = eligible_pairs(ctx, RequestTable([order[p] for p in positions], table), table)
        found_r.append(np.asarray(positions, dtype=np.int64)[pair_request])
        found_o.append(pair_spot)
    out: dict[str, list[Circulated]] = {member: [] for member in members}
    if not found_r:
        return out
    # In order of urgency, then of spot: spots are in member order, each member's areas in its order.
    key = np.concatenate(found_r) * max(len(spots), 1) + np.concatenate(found_o)
    key.sort()
    current: tuple[int, int] | None = None
    areas: list[str] = []
    for position, k in zip((key // max(len(spots), 1)).tolist(), (key % max(len(spots), 1)).tolist()):
        if current != (position, spot_member[k]):
            if current is not None:
                out[members[current[1]]].append(Circulated(order[current[0]], tuple(areas)))
            current, areas = (position, spot_member[k]), []
        areas.append(spots[k][1])
    if current is not None:
        out[members[current[1]]].append(Circulated(order[current[0]], tuple(areas)))
    return out
