"""The arrival stream a simulated year runs on, drawn from the seed before any policy runs.

`rates_for` names the volumes of each setting (calibrated to the seed figures: Cambridgeshire's
year, London's scheme, the tri-borough's ratio, a synthetic region); `draw_arrivals` draws the
requests by week with their withdrawal weeks, the offer-count draws and each member's base offer
rate. Offers are the one part that responds to the policy, on purpose: providers that owe the
scheme offer more often than providers it owes (the behaviour the ledger exists to create). Each
provider's offers in a week are drawn from one shared uniform number compared with a rate that
depends on its balance under that policy, so the comparison stays paired: a provider with equal
balances under two policies offers exactly the same homes in that week.

Nothing here touches a database, and nothing is specific to one scheme.
"""
from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Optional

from reciprocal.config import Scheme
from reciprocal.domain import Offer, Request
from reciprocal.simulation import generator
from reciprocal.simulation.answers import Answering
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.simulation.draws import uniform as _uniform
from reciprocal.simulation.generator import ROUND_DAY, SCALES, Scale, synthetic_scheme

from matching.circulation import circulation

SETTINGS = ("default", "stress", "generous", "regional")

# The seed figures the settings are calibrated to.
CAMBS_MEMBERS, CAMBS_REFERRALS_A_YEAR, CAMBS_OFFERS_A_YEAR = 16, 17, 4  # Cambridgeshire, one year
TRIBOROUGH_REQUESTS, TRIBOROUGH_OFFERS = 18, 16  # London tri-borough: only the ratio is used
LONDON_REQUESTS, LONDON_MOVES, LONDON_YEARS = 1_401, 277, 7.5  # London's whole scheme, 2016-2024



@dataclass(frozen=True)
class Rates:
    """A setting's volumes, scheme-wide, per year, and where they come from. How households and
    members behave is in `reciprocal.simulation.assumptions.Assumptions`."""

    requests_per_year: float
    offers_per_year: float
    basis: str = ""  # where the volumes come from, in words


def rates_for(scheme: Scheme, setting: str, assumptions: Optional[Assumptions] = None) -> tuple[Scheme, Rates]:
    """The scheme a setting runs on and its rates.

    - `default`: Cambridgeshire's year per member (17 referrals and 4 offers among 16 members),
      times this scheme's active members: exactly the seed figures on the shipped scheme;
    - `stress`: London's whole-scheme volume (1,401 requests circulated over 7.5 years: referrals
      drawn at that volume over the assumed share approved) with offers as scarce as its moves
      (277: about one per five requests);
    - `generous`: the same request volume with offers as plentiful as the tri-borough's (16 offers
      per 18 requests);
    - `regional`: the generator's synthetic region (80 members over 33 areas), 200 requests a week
      and one offer per two requests, so that fairness figures are not swamped by small counts.
    """
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting '{setting}' (known: {', '.join(SETTINGS)})")
    approved = (assumptions or Assumptions()).approved_share
    london_requests = LONDON_REQUESTS / LONDON_YEARS
    referred = (f"; requests circulated, so referrals drawn at 1/{approved:.2f} times that volume"
                if approved > 0 else "")
    if setting == "default":
        members = sum(1 for p in scheme.providers.values() if p.status == "active")
        share = members / CAMBS_MEMBERS
        return scheme, Rates(
            requests_per_year=CAMBS_REFERRALS_A_YEAR * share, offers_per_year=CAMBS_OFFERS_A_YEAR * share,
            basis=f"Cambridgeshire's seed year ({CAMBS_REFERRALS_A_YEAR} referrals and "
                  f"{CAMBS_OFFERS_A_YEAR} offers among {CAMBS_MEMBERS} members) scaled to this "
                  f"scheme's {members} active members")
    if setting == "stress":
        return scheme, Rates(
            requests_per_year=london_requests / (approved or 1), offers_per_year=LONDON_MOVES / LONDON_YEARS,
            basis=f"London's whole scheme: {LONDON_REQUESTS:,} requests and {LONDON_MOVES} moves over "
                  f"{LONDON_YEARS:g} years, i.e. {london_requests:.0f} requests and "
                  f"{LONDON_MOVES / LONDON_YEARS:.0f} offers a year (one per five requests){referred}")
    if setting == "generous":
        ratio = TRIBOROUGH_OFFERS / TRIBOROUGH_REQUESTS
        return scheme, Rates(
            requests_per_year=london_requests / (approved or 1), offers_per_year=london_requests * ratio,
            basis=f"London's request volume ({london_requests:.0f} a year) with offers as plentiful as "
                  f"the tri-borough's ({TRIBOROUGH_OFFERS} offers per "
                  f"{TRIBOROUGH_REQUESTS} requests){referred}")
    spec = SCALES["regional"]
    regional = synthetic_scheme(spec, random.Random(f"reciprocal-sim/regional-scheme/{spec.name}"))
    return regional, Rates(
        requests_per_year=200 * 52, offers_per_year=100 * 52,
        basis=f"a synthetic region ({spec.providers} members over {spec.areas} areas, from "
              f"reciprocal.simulation.generator): 200 requests and 100 offers a week; the scheme in "
              f"mou_configs is not used")


# -- the pot a week arrives into -------------------------------------------------------------------

@dataclass
class Pot:
    """The households waiting and the homes in the pot, as one run of the process holds them, with
    what arrives and leaves counted. `reserved_*`: under a live proposal (they never leave while
    it lives); `paused`: households on hold, stale or in review (waiting, but in no round)."""

    balances: dict[str, int]  # the ledger's, by member (signed moves)
    waiting: dict[str, Request] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)
    leaves: dict[str, int] = field(default_factory=dict)  # offer ref -> week it is let outside
    reserved_requests: set = field(default_factory=set)
    reserved_offers: set = field(default_factory=set)
    paused: dict[str, int] = field(default_factory=dict)  # request ref -> week it is back
    referred: int = 0
    circulated: set = field(default_factory=set)  # approved referrals, circulated to the members
    listed: set = field(default_factory=set)  # of them, on some member's circulation list
    offered: int = 0  # homes into the pot (or offered for a household)
    offered_for_households: int = 0
    withdrawn: int = 0
    unused: int = 0  # homes nobody took: let outside the scheme unused

    def add(self, offer: Offer, leave: int) -> None:
        self.offers[offer.ref] = offer
        self.leaves[offer.ref] = leave
        self.offered += 1
        self.offered_for_households += offer.for_request is not None

    def circulating(self) -> list[Request]:
        """The households on this week's circulation: waiting, under no live proposal, not paused."""
        return [r for ref, r in self.waiting.items()
                if ref not in self.reserved_requests and ref not in self.paused]

    def leave(self, requests: list[str], offers: list[str]) -> None:
        """Households withdrawn and homes let outside the scheme, unless a live proposal holds them."""
        for ref in requests:
            if ref not in self.reserved_requests:
                del self.waiting[ref]
                self.paused.pop(ref, None)
                self.withdrawn += 1
        for ref in offers:
            if ref not in self.reserved_offers:
                del self.offers[ref]
                self.unused += 1


# -- the arrival stream ----------------------------------------------------------------------------

def _poisson(u: float, rate: float) -> int:
    """The Poisson(`rate`) count at quantile `u` (inverse CDF: monotone in both, which keeps two
    policies' draws paired)."""
    if rate <= 0:
        return 0
    if rate > 400:  # exp(-rate) would underflow; the normal approximation is exact enough here
        from statistics import NormalDist
        return max(0, round(NormalDist(rate, math.sqrt(rate)).inv_cdf(min(max(u, 1e-12), 1 - 1e-12))))
    k, p = 0, math.exp(-rate)
    cdf = p
    while u > cdf and k < 100_000:
        k += 1
        p *= rate / k
        cdf += p
    return k


@dataclass
class Arrivals:
    """Everything drawn from the seed before any policy runs."""

    scheme: Scheme
    seed: int
    weeks: int
    start: date
    rates: Rates
    spec: Scale
    providers: list[str]  # sorted ids
    requests: list[list[Request]]  # by arrival week
    arrival_week: dict[str, int]
    withdraw_week: dict[str, int]  # a request still waiting then is withdrawn
    offer_draw: list[list[float]]  # [week][provider]: the shared uniform for offer counts
    offer_rate: dict[str, float]  # per provider, offers a week at a balance of zero
    assumptions: Assumptions = field(default_factory=Assumptions)
    _offers: dict[tuple[int, str, int], tuple[Offer, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {p: k for k, p in enumerate(self.providers)}

    def round_day(self, week: int) -> date:
        return self.start + timedelta(days=7 * week)

    def offer_count(self, week: int, provider: str, balance: int) -> int:
        k = self._index[provider]
        return _poisson(self.offer_draw[week][k],
                        self.offer_rate[provider] * self.assumptions.offer_multiplier(balance))

    def approved(self, ref: str) -> bool:
        """Whether a referral's landlord approves it for circulation (the same draw for every policy)."""
        return _uniform(self.seed, "approved", ref) < self.assumptions.approved_share

    def arrive(self, week: int, pot: "Pot", answering: Answering) -> None:
        """The week's approved referrals into the waiting list (each circulated), the members'
        circulation lists and homes (some kept back for households on their lists, the rest into
        the pot, kept homes whose time ran out into the pot as drawn), then the households
        withdrawn and the homes let outside the scheme this week, except those a live proposal
        holds. Counts go to `pot`."""
        for r in self.requests[week]:
            pot.referred += 1
            if self.approved(r.ref):
                pot.waiting[r.ref] = r
                pot.circulated.add(r.ref)
        free = pot.circulating()
        lists = circulation(self.scheme, self.round_day(week), free) if free else {}
        pot.listed.update(c.request.ref for items in lists.values() for c in items)
        for provider in self.providers:
            balance = pot.balances[provider]
            for k in range(self.offer_count(week, provider, balance)):
                if answering.holds(self.seed, week, provider, k, balance):
                    continue  # kept for a household on the member's list (below)
                pot.add(*self.offer(week, provider, k))
        made, expired = answering.answer(self.seed, week, self.round_day(week), lists, pot.offers)
        for offer in made:
            pot.add(offer, week + self.assumptions.offer_open_weeks)
        for drawn_week, provider, k in expired:
            offer, leave = self.offer(drawn_week, provider, k)
            pot.add(offer, max(leave, week + self.assumptions.offer_open_weeks))
        pot.leave([ref for ref in pot.waiting if self.withdraw_week[ref] <= week],
                  [ref for ref in pot.offers if pot.leaves[ref] <= week])

    def offer(self, week: int, provider: str, k: int) -> tuple[Offer, int]:
        """The `k`-th home `provider` would offer in `week`, and the week it leaves the pot unused.
        Drawn from its own seed, so it is the same home whichever policy asks first."""
        key = (week, provider, k)
        if key not in self._offers:
            rng = random.Random(f"reciprocal-sim/{self.seed}/offer/{week}/{provider}/{k}")
            on = self.round_day(week)
            # The generator's offer mix (a private helper for now: see docs/simulation.md).
            made = generator._offer(0, provider, self.scheme, on, rng)
            made = dataclasses.replace(made, ref=f"OF-{week + 1:03d}-{self._index[provider]:03d}-{k}")
            horizon = self.scheme.config.rounds.offer_horizon_days
            # Weeks until the home can be matched (within the round's horizon), then its open weeks.
            wait = max(0, math.ceil(((made.available_from - on).days - horizon) / 7))
            self._offers[key] = (made, week + wait + self.assumptions.offer_open_weeks)
        return self._offers[key]


def draw_arrivals(scheme: Scheme, weeks: int, seed: int, rates: Rates, spec: Scale | None = None,
                  start: date = ROUND_DAY, assumptions: Optional[Assumptions] = None) -> Arrivals:
    """The shared stream: requests by week with their withdrawal weeks, offer-count draws, and each
    provider's base offer rate. Deterministic for (scheme, weeks, seed, rates)."""
    assumptions = assumptions or Assumptions()
    withdraw_rate = assumptions.withdraw_rate
    rng = random.Random(f"reciprocal-sim/{seed}/stream")
    spec = spec or SCALES["pilot"]
    providers = sorted(scheme.providers)
    active = [p for p in providers if scheme.is_active(p, start)]
    # Who asks and who gives: both follow a member's size, read from its MoU offer commitment
    # (councils, which hold more stock, count three times a housing association where a member
    # has none). Independent noise on each side makes some members ask more than they give, which
    # is what the ledger has to absorb.
    size = {}
    for p in active:
        commitment = scheme.providers[p].offer_commitment
        if commitment is not None and commitment.offers_per_year > 0:
            size[p] = float(commitment.offers_per_year)
        else:
            size[p] = 3.0 if scheme.providers[p].kind == "local_authority" else 1.0
    request_weight = [size[p] * rng.lognormvariate(0, 0.4) for p in active]
    offer_weight = [size[p] * rng.lognormvariate(0, 0.4) for p in active]
    total = sum(offer_weight) or 1.0
    offer_rate = {p: 0.0 for p in providers}
    for p, w in zip(active, offer_weight):
        offer_rate[p] = rates.offers_per_year / 52 * w / total

    adjacency = {a: list(c.neighbours) for a, c in scheme.config.areas.items()}
    area_ids = list(adjacency)
    hops = scheme.config.matching.safety_buffer_hops
    made = random.Random(f"reciprocal-sim/{seed}/requests")
    requests: list[list[Request]] = []
    arrival_week: dict[str, int] = {}
    withdraw_week: dict[str, int] = {}
    number = 0
    for week in range(weeks):
        on = start + timedelta(days=7 * week)
        count = _poisson(rng.random(), rates.requests_per_year / 52) if active else 0
        this_week = []
        for provider in rng.choices(active, request_weight, k=count) if count else []:
            number += 1
            # The generator's household mix (a private helper for now: see docs/simulation.md).
            r = generator._request(number, provider, scheme, spec, on, made, adjacency, area_ids, hops)
            # Referred during the week before this round; waiting is counted from then.
            r = dataclasses.replace(r, ref=f"RQ-{week + 1:03d}-{number:05d}",
                                    referred_on=on - timedelta(days=made.randint(1, 7)))
            this_week.append(r)
            arrival_week[r.ref] = week
            u = rng.random()  # drawn whatever the rate, so other draws stay paired
            stay = (1 if withdraw_rate >= 1 else weeks + 1 if withdraw_rate <= 0
                    else 1 + int(math.log(1 - u) / math.log(1 - withdraw_rate)))
            withdraw_week[r.ref] = week + stay
        requests.append(this_week)
    offer_draw = [[rng.random() for _ in providers] for _ in range(weeks)]
    return Arrivals(scheme, seed, weeks, start, rates, spec, providers, requests, arrival_week,
                    withdraw_week, offer_draw, offer_rate, assumptions)
