"""Benchmark instances: a scheme, a round date, open requests and offers, and ledger balances.

`generate(scale, seed)` builds one round's pot at a named scale, deterministically for a seed (all
randomness comes from one `random.Random(seed)`; the global RNG is never touched):

- `pilot`: the shipped example scheme (`mou_configs/`, 16 members, 6 areas), 60 requests, 30 offers;
- `regional`: a synthetic scheme of 80 members over 33 areas, 1,500 requests, 800 offers, with
  `matching.reach_hops: 1` and mostly one or two preferred areas (about 80,000 compatible pairs);
- `national`: a synthetic scheme of 1,500 members over 300 areas, 20,000 requests, 20,000 offers,
  with `matching.reach_hops: 1` and one or two preferred areas per household, which keeps the
  compatible pairs near two million (2.0-2.1 million for seeds 1-3).

Synthetic schemes put their areas on a 2-D grid with 4-neighbour adjacency (`area-017`); each area
has one local authority, and the other members are housing associations holding stock in 1-4
nearby areas. Tenancy kinds, grants and ledger bands follow the shipped example. The mixes aim at
what managed reciprocals report: bedroom sizes weighted to 1-2 beds, some step-free and a few
wheelchair needs, about half of households at high risk, a few perpetrator requests, avoided areas
drawn from the area graph around the household's home, and providers starting at varied balances
(never below their debt limit, summing to zero). Refs are pseudonymous case codes (`RQ-000123`,
`OF-000045`).

Pure domain: no solver, no command line, nothing from `matching` or `cli`.
"""
from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from datetime import date, timedelta

from reciprocal.config import (EXAMPLE_CONFIG_DIR, AreaConfig, Band, FairnessTerms, MatchingTerms, OfferCommitment,
                               ProviderConfig, RoundTerms, Scheme, SchemeConfig, SchemeInfo,
                               TenancyKind, load_scheme)
from reciprocal.domain import AGE_BANDS, Offer, PropertyType, Request, RequestKind, Risk

ROUND_DAY = date(2026, 11, 23)  # a Monday; every generated round is run on it
JOINED = date(2019, 4, 1)


@dataclass(frozen=True)
class Scale:
    name: str
    providers: int
    areas: int
    requests: int
    offers: int
    reach_hops: int | None = None  # synthetic schemes only
    preferred: tuple[int, ...] = (15, 55, 30)  # weights of 0, 1, 2, ... preferred areas per household
    description: str = ""


SCALES: dict[str, Scale] = {
    "pilot": Scale("pilot", 16, 6, 60, 30,
                   description="the shipped Cambridgeshire & Peterborough example scheme"),
    "regional": Scale("regional", 80, 33, 1_500, 800, reach_hops=1, preferred=(10, 55, 35),
                      description="a synthetic region: 80 members over 33 areas"),
    "national": Scale("national", 1_500, 300, 20_000, 20_000, reach_hops=1, preferred=(0, 75, 25),
                      description="a synthetic national pot: 1,500 members over 300 areas"),
}


@dataclass
class Instance:
    """One round's input: what `matching.engine.solve_round` takes."""

    scheme: Scheme
    on: date
    requests: list[Request]
    offers: list[Offer]
    balances: dict[str, int]
    scale: str = ""
    seed: int = 0

    def summary(self) -> dict:
        """Plain counts describing the instance (JSON-able)."""
        reqs, offs = self.requests, self.offers
        return {
            "scale": self.scale,
            "seed": self.seed,
            "on": self.on.isoformat(),
            "scheme": self.scheme.id,
            "providers": len(self.scheme.providers),
            "areas": len(self.scheme.config.areas),
            "requests": len(reqs),
            "offers": len(offs),
            "high_risk_requests": sum(r.risk == Risk.high for r in reqs),
            "perpetrator_requests": sum(r.kind == RequestKind.perpetrator for r in reqs),
            "step_free_needs": sum(r.needs_step_free for r in reqs),
            "wheelchair_needs": sum(r.needs_wheelchair for r in reqs),
            "providers_at_debt_limit": sum(
                1 for p, b in self.balances.items() if b <= -self.scheme.max_debt(p)),
            "max_abs_balance": max((abs(b) for b in self.balances.values()), default=0),
            "reach_hops": self.scheme.config.matching.reach_hops,
        }


def scale_names() -> tuple[str, ...]:
    return tuple(SCALES)


def generate(scale: str, seed: int) -> Instance:
    """The instance of `scale` for `seed`; the same pair always gives an identical instance."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale '{scale}' (known: {', '.join(SCALES)})")
    spec = SCALES[scale]
    rng = random.Random(f"reciprocal-bench/{scale}/{seed}")
    if scale == "pilot":
        scheme = load_scheme(EXAMPLE_CONFIG_DIR)
    else:
        scheme = synthetic_scheme(spec, rng)
    return _populate(scheme, spec, rng, seed)


# -- synthetic schemes -----------------------------------------------------------------------------

TENANCY_KINDS = {
    "secure": TenancyKind(rank=3, description="council lifetime tenancy"),
    "assured": TenancyKind(rank=3, description="housing association lifetime (assured) tenancy"),
    "flexible": TenancyKind(rank=2, description="council fixed-term tenancy"),
    "fixed_term_assured": TenancyKind(rank=2, description="housing association fixed-term assured tenancy"),
    "introductory": TenancyKind(rank=1, description="council introductory tenancy"),
    "starter": TenancyKind(rank=1, description="housing association starter tenancy"),
}
GRANTS = {
    "local_authority": {"secure": "secure", "assured": "secure", "flexible": "flexible",
                        "fixed_term_assured": "flexible", "introductory": "introductory",
                        "starter": "introductory"},
    "housing_association": {"secure": "assured", "assured": "assured", "flexible": "fixed_term_assured",
                            "fixed_term_assured": "fixed_term_assured", "introductory": "starter",
                            "starter": "starter"},
}
def held_tenancies(scheme: Scheme, provider: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """What a member's tenants hold now, with weights, from the scheme's own terms: the tenancies
    the member grants (the most secure first, three in four tenants), else every tenancy kind of
    the scheme. On the example scheme: 75 secure, 10 flexible, 15 introductory for a council."""
    kinds = scheme.config.tenancy_kinds
    granted = {k for k in scheme.providers[provider].grants.values() if k in kinds} or set(kinds)
    held = tuple(sorted(granted, key=lambda k: (-kinds[k].rank, k)))
    rest = len(held) - 1
    if not rest:
        return held, (1.0,)
    share = sum(range(2, rest + 2))
    return held, (75.0, *(25 * (i + 1) / share for i in range(1, rest + 1)))
BANDS = [Band(name="0-1 bed", min_bedrooms=0, max_bedrooms=1),
         Band(name="2 bed", min_bedrooms=2, max_bedrooms=2),
         Band(name="3+ bed", min_bedrooms=3, max_bedrooms=20)]


def grid_areas(count: int) -> dict[str, AreaConfig]:
    """`count` areas on a grid `ceil(sqrt(count))` wide, filled row by row, 4-neighbour adjacency."""
    width = max(1, math.ceil(math.sqrt(count)))
    ids = [f"area-{k:03d}" for k in range(count)]
    areas = {}
    for k, area in enumerate(ids):
        row, col = divmod(k, width)
        neighbours = []
        for r, c in ((row - 1, col), (row, col - 1), (row, col + 1), (row + 1, col)):
            if r >= 0 and 0 <= c < width and r * width + c < count:
                neighbours.append(ids[r * width + c])
        areas[area] = AreaConfig(name=f"Area {k:03d} (synthetic)", neighbours=neighbours)
    return areas


def synthetic_scheme(spec: Scale, rng: random.Random) -> Scheme:
    areas = grid_areas(spec.areas)
    config = SchemeConfig(
        scheme=SchemeInfo(id=f"synthetic-{spec.name}", name=f"Synthetic {spec.name} scheme"),
        areas=areas,
        tenancy_kinds=TENANCY_KINDS,
        fairness=FairnessTerms(max_debt=2, bands=BANDS),
        matching=MatchingTerms(safety_buffer_hops=1, max_bedrooms_over_need=1,
                               time_limit_seconds=60, reach_hops=spec.reach_hops),
        rounds=RoundTerms(offer_horizon_days=28),
    )
    area_ids = list(areas)
    adjacency = {a: list(cfg.neighbours) for a, cfg in areas.items()}
    providers: dict[str, ProviderConfig] = {}
    # Local authorities: one per area when there are enough members, else one per few areas.
    la_count = spec.areas if spec.providers >= 2 * spec.areas else max(1, spec.providers // 2)
    per_la = math.ceil(spec.areas / la_count)
    for k in range(la_count):
        held = area_ids[k * per_la:(k + 1) * per_la] or [area_ids[-1]]
        pid = f"la-{k:03d}"
        providers[pid] = ProviderConfig(
            id=pid, name=f"Council {k:03d} (synthetic)", kind="local_authority", areas=held,
            grants=GRANTS["local_authority"], accepts_perpetrator_moves=rng.random() < 0.9,
            offer_commitment=OfferCommitment(offers_per_year=rng.randint(2, 6)),
            status="active", joined=JOINED)
    for k in range(spec.providers - la_count):
        start = rng.choice(area_ids)
        held = _nearby(adjacency, start, rng.choices((1, 2, 3, 4), (40, 30, 20, 10))[0], rng)
        pid = f"ha-{k:04d}"
        own_debt = rng.choices((None, 1, 3), (85, 8, 7))[0]
        providers[pid] = ProviderConfig(
            id=pid, name=f"Housing Association {k:04d} (synthetic)", kind="housing_association",
            areas=held, grants=GRANTS["housing_association"],
            accepts_perpetrator_moves=rng.random() < 0.4, max_debt=own_debt,
            offer_commitment=OfferCommitment(offers_per_year=rng.randint(1, 4)),
            status="active", joined=JOINED)
    return Scheme(config, providers, source=f"generated:{spec.name}")


def _nearby(adjacency: dict[str, list[str]], start: str, count: int, rng: random.Random) -> list[str]:
    """`count` connected areas grown at random from `start` (fewer if the graph is smaller)."""
    held = [start]
    frontier = list(adjacency[start])
    while len(held) < count and frontier:
        nxt = frontier.pop(rng.randrange(len(frontier)))
        if nxt in held:
            continue
        held.append(nxt)
        frontier.extend(n for n in adjacency[nxt] if n not in held)
    return sorted(held)


def _distances(adjacency: dict[str, list[str]], start: str, cutoff: int) -> dict[str, int]:
    seen = {start: 0}
    queue = deque([start])
    while queue:
        area = queue.popleft()
        if seen[area] >= cutoff:
            continue
        for n in adjacency[area]:
            if n not in seen:
                seen[n] = seen[area] + 1
                queue.append(n)
    return seen


# -- the pot -------------------------------------------------------------------------------------

OFFER_BEDROOMS = ((0, 1, 2, 3, 4, 5), (3, 32, 37, 22, 5, 1))
NEED_BEDROOMS = ((1, 2, 3, 4, 5), (36, 37, 21, 5, 1))
RISK_MIX = ((Risk.high, Risk.medium, Risk.standard), (50, 30, 20))
AGE_MIX = (AGE_BANDS, (14, 30, 26, 16, 9, 5))
PERPETRATOR_SHARE = 0.03


def _populate(scheme: Scheme, spec: Scale, rng: random.Random, seed: int) -> Instance:
    on = ROUND_DAY
    adjacency = {a: list(cfg.neighbours) for a, cfg in scheme.config.areas.items()}
    area_ids = list(adjacency)
    hops = scheme.config.matching.safety_buffer_hops
    provider_ids = sorted(scheme.providers)
    # How much each member puts into the pot and asks of it: councils hold more stock; each
    # member's giving and asking vary independently, so some give more than they take.
    size = {p: (3.0 if scheme.providers[p].kind == "local_authority" else 1.0) * rng.lognormvariate(0, 0.5)
            for p in provider_ids}
    offer_weight = [size[p] * rng.lognormvariate(0, 0.4) for p in provider_ids]
    request_weight = [size[p] * rng.lognormvariate(0, 0.4) for p in provider_ids]

    offers = [_offer(k + 1, provider, scheme, on, rng)
              for k, provider in enumerate(rng.choices(provider_ids, offer_weight, k=spec.offers))]
    requests = [_request(k + 1, provider, scheme, spec, on, rng, adjacency, area_ids, hops)
                for k, provider in enumerate(rng.choices(provider_ids, request_weight, k=spec.requests))]
    balances = _balances(scheme, provider_ids, rng)
    return Instance(scheme, on, requests, offers, balances, scale=spec.name, seed=seed)


def _offer(number: int, provider: str, scheme: Scheme, on: date, rng: random.Random) -> Offer:
    p = scheme.providers[provider]
    bedrooms = rng.choices(*OFFER_BEDROOMS)[0]
    if bedrooms == 0:
        kind = PropertyType.studio
    elif bedrooms == 1:
        kind = rng.choices((PropertyType.flat, PropertyType.bungalow, PropertyType.maisonette), (78, 17, 5))[0]
    elif bedrooms == 2:
        kind = rng.choices((PropertyType.flat, PropertyType.house, PropertyType.maisonette,
                            PropertyType.bungalow), (45, 40, 10, 5))[0]
    else:
        kind = rng.choices((PropertyType.house, PropertyType.maisonette), (90, 10))[0]
    if kind in (PropertyType.flat, PropertyType.studio, PropertyType.maisonette):
        floor = rng.choices((0, 1, 2, 3, 4, 5, 6), (30, 25, 18, 12, 7, 5, 3))[0]
        step_free = floor == 0 and rng.random() < 0.7 or rng.random() < 0.2  # ground floor or a lift
    else:
        floor = 0
        step_free = kind == PropertyType.bungalow or rng.random() < 0.2
    wheelchair = step_free and rng.random() < 0.2
    restrictions: list[str] = []
    if kind == PropertyType.bungalow and bedrooms <= 1 and rng.random() < 0.6:
        restrictions.append(rng.choices(("age_55_plus", "age_65_plus"), (80, 20))[0])
    if rng.random() < 0.08:
        restrictions.append("no_perpetrator")
    tenancy = None
    if rng.random() < 0.05:  # now and then a home states its tenancy: the member's most secure
        tenancy = held_tenancies(scheme, provider)[0][0]
    return Offer(
        ref=f"OF-{number:06d}", provider=provider, area=rng.choice(p.areas), bedrooms=bedrooms,
        property_type=kind, available_from=on + timedelta(days=rng.randint(-14, 49)), floor=floor,
        step_free=step_free, wheelchair_accessible=wheelchair, tenancy_offered=tenancy,
        weekly_rent=round(rng.uniform(70, 95) + 16 * bedrooms, 2), restrictions=tuple(restrictions))


def _request(number: int, provider: str, scheme: Scheme, spec: Scale, on: date, rng: random.Random,
             adjacency: dict[str, list[str]], area_ids: list[str], hops: int) -> Request:
    p = scheme.providers[provider]
    home = rng.choice(p.areas)
    held, weights = held_tenancies(scheme, provider)
    need = rng.choices(*NEED_BEDROOMS)[0]
    most = rng.choices((None, need, need + 2), (85, 10, 5))[0]
    wheelchair = rng.random() < 0.04
    step_free = wheelchair or rng.random() < 0.13
    risk = rng.choices(*RISK_MIX)[0]
    age = rng.choices(*AGE_MIX)[0]
    if step_free and rng.random() < 0.4:  # access needs come more often with age
        age = rng.choice(AGE_BANDS[3:])
    referred = on - timedelta(days=min(540, int(rng.expovariate(1 / 70))))
    perpetrator = rng.random() < PERPETRATOR_SHARE
    near_home = _distances(adjacency, home, 4)
    if perpetrator:
        # The perpetrator moves; the survivor stays at home, whose buffer the move must avoid.
        avoid: list[str] = []
        unsafe = _buffer(adjacency, [home], hops)
        survivor = dict(survivor_area=home, survivor_consent=rng.random() < 0.9,
                        safety_decision_on=(on - timedelta(days=rng.randint(3, 90))
                                            if rng.random() < 0.9 else None))
        kind = RequestKind.perpetrator
    else:
        # A survivor flees home; sometimes also an area where the abuser's family or work is.
        avoid = [home]
        if rng.random() < 0.3:
            ring = [a for a, d in near_home.items() if 1 <= d <= 3]
            if ring:
                avoid.append(rng.choice(ring))
        if rng.random() < 0.08:
            avoid.append(rng.choice(area_ids))
        avoid = sorted(set(avoid))
        unsafe = _buffer(adjacency, avoid, hops)
        survivor = {}
        kind = RequestKind.survivor
    wanted = rng.choices(range(len(spec.preferred)), spec.preferred)[0]
    preferred: list[str] = []
    if wanted:
        # Households mostly look within reach of home (family, school, work), away from danger.
        close = sorted(a for a, d in near_home.items() if d >= 1 and a not in unsafe)
        pool = close if len(close) >= wanted else sorted(a for a in area_ids if a not in unsafe)
        preferred = sorted(rng.sample(pool, min(wanted, len(pool))))
    return Request(
        ref=f"RQ-{number:06d}", provider=provider, kind=kind,
        current_tenancy=rng.choices(held, weights)[0], bedrooms_needed=need, referred_on=referred,
        risk=risk, max_bedrooms=most, needs_step_free=step_free, needs_wheelchair=wheelchair,
        avoid_areas=tuple(avoid), preferred_areas=tuple(preferred), age=age, **survivor)


def _buffer(adjacency: dict[str, list[str]], areas: list[str], hops: int) -> set[str]:
    out: set[str] = set()
    for area in areas:
        out.update(_distances(adjacency, area, hops))
    return out


def _balances(scheme: Scheme, provider_ids: list[str], rng: random.Random) -> dict[str, int]:
    """Varied starting balances, each within its member's debt limit, summing to zero."""
    floor = {p: -scheme.max_debt(p) for p in provider_ids}
    ceiling = {p: 4 for p in provider_ids}
    balances = {p: max(floor[p], rng.choices((-2, -1, 0, 1, 2, 3), (12, 20, 34, 18, 10, 6))[0])
                for p in provider_ids}
    total = sum(balances.values())
    while total != 0:
        step = -1 if total > 0 else 1
        movable = [p for p in provider_ids
                   if (balances[p] > floor[p] if step < 0 else balances[p] < ceiling[p])]
        if not movable:  # cannot happen while some member has room; kept as a guard
            raise RuntimeError("cannot balance the ledger within the debt limits")
        p = rng.choice(movable)
        balances[p] += step
        total += step
    return balances
