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

The rules judge each request against every member's witness homes at once, on the same NumPy
columns the round uses (`matching.offer_table`, each rule's `mask`): a national scheme (1,500
members, 20,000 requests) is some 70 million pair checks, which one by one took over a quarter of
an hour. Witness homes differ only in bedrooms from one request to the next, so one table is built
per bedroom size asked for.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from matching.offer_table import OfferTable, build_offer_table
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
    spot_member = np.array([number[m] for m, _ in spots], dtype=np.int64)
    spot_area = np.array([a for _, a in spots], dtype=object)
    tables: dict[int, OfferTable] = {}
    hops = scheme.config.matching.reach_hops
    out: dict[str, list[Circulated]] = {member: [] for member in members}
    every = np.arange(len(spots), dtype=np.int64)
    for request in order:
        table = tables.get(request.bedrooms_needed)
        if table is None:
            homes = [witness_home(m, a, request, on) for m, a in spots]
            table = tables[request.bedrooms_needed] = build_offer_table(scheme, on, homes)
        idx = every
        if hops is not None and request.preferred_areas:
            # Only homes within reach can pass the `reach` rule; judge just those.
            near = scheme.within_buffer(request.preferred_areas, hops)
            parts = [table.offers_by_area[table.area_index[a]] for a in near if a in table.area_index]
            idx = np.sort(np.concatenate(parts)) if parts else every[:0]
        ok = np.ones(len(idx), dtype=bool)
        for rule in PAIR_RULES:
            if not ok.any():
                break
            m = rule.mask(ctx, request, table, idx)
            if m is not None:
                ok &= m
        chosen = idx[ok]  # spots are in member order, each member's areas in its order
        if not chosen.size:
            continue
        owners = spot_member[chosen]
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]).tolist()
        names = spot_area[chosen].tolist()
        for a, b in zip(starts, starts[1:] + [len(names)]):
            out[members[owners[a]]].append(Circulated(request, tuple(names[a:b])))
    return out
