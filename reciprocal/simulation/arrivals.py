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
from reciprocal.simulation.answers import AnswerTerms, Answering
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
    """How the arrival stream is drawn. Volumes are scheme-wide, per year; the rest are per week.

    The behavioural figures (declines, withdrawals, how long a home waits, how strongly offers
    respond to the ledger) are assumptions, not measurements: no seed figure gives them. They are
    the same for every policy, and can be changed here.
    """

    requests_per_year: float
    offers_per_year: float
    decline_rate: float = 0.15  # share of proposals a household declines
    withdraw_rate: float = 0.02  # each week, share of waiting requests withdrawn (other routes)
    offer_open_weeks: int = 4  # a home unused this many weeks after it is available is let locally
    # Offer rate multiplier per home of balance: (1 + r) ** -balance, kept within [1/3, 3].
    # A provider owing 2 homes offers 1.56 times as often as an even one; one owed 2, 0.64 times.
    balance_response: float = 0.25
    basis: str = ""  # where the volumes come from, in words


def rates_for(scheme: Scheme, setting: str) -> tuple[Scheme, Rates]:
    """The scheme a setting runs on and its rates.

    - `default`: Cambridgeshire's year per member (17 referrals and 4 offers among 16 members),
      times this scheme's active members: exactly the seed figures on the shipped scheme;
    - `stress`: London's whole-scheme volume (1,401 requests over 7.5 years) with offers as scarce
      as its moves (277: about one per five requests);
    - `generous`: the same request volume with offers as plentiful as the tri-borough's (16 offers
      per 18 requests);
    - `regional`: the generator's synthetic region (80 members over 33 areas), 200 requests a week
      and one offer per two requests, so that fairness figures are not swamped by small counts.
    """
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting '{setting}' (known: {', '.join(SETTINGS)})")
    london_requests = LONDON_REQUESTS / LONDON_YEARS
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
            requests_per_year=london_requests, offers_per_year=LONDON_MOVES / LONDON_YEARS,
            basis=f"London's whole scheme: {LONDON_REQUESTS:,} requests and {LONDON_MOVES} moves over "
                  f"{LONDON_YEARS:g} years, i.e. {london_requests:.0f} requests and "
                  f"{LONDON_MOVES / LONDON_YEARS:.0f} offers a year (one per five requests)")
    if setting == "generous":
        ratio = TRIBOROUGH_OFFERS / TRIBOROUGH_REQUESTS
        return scheme, Rates(
            requests_per_year=london_requests, offers_per_year=london_requests * ratio,
            basis=f"London's request volume ({london_requests:.0f} a year) with offers as plentiful as "
                  f"the tri-borough's ({TRIBOROUGH_OFFERS} offers per "
                  f"{TRIBOROUGH_REQUESTS} requests)")
    spec = SCALES["regional"]
    regional = synthetic_scheme(spec, random.Random(f"reciprocal-sim/regional-scheme/{spec.name}"))
    return regional, Rates(
        requests_per_year=200 * 52, offers_per_year=100 * 52,
        basis=f"a synthetic region ({spec.providers} members over {spec.areas} areas, from "
              f"reciprocal.simulation.generator): 200 requests and 100 offers a week; the scheme in "
              f"mou_configs is not used")


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
    # How members answer circulation (`reciprocal.simulation.answers`); None: every referral is
    # in the pot at once and members never answer (the simulation before circulation).
    answers: Optional[AnswerTerms] = None
    _offers: dict[tuple[int, str, int], tuple[Offer, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {p: k for k, p in enumerate(self.providers)}

    def round_day(self, week: int) -> date:
        return self.start + timedelta(days=7 * week)

    def offer_count(self, week: int, provider: str, balance: int) -> int:
        response = (1 + self.rates.balance_response) ** (-balance)
        response = min(3.0, max(1 / 3, response))
        k = self._index[provider]
        return _poisson(self.offer_draw[week][k], self.offer_rate[provider] * response)

    def approved(self, ref: str) -> bool:
        """Whether a referral's landlord approves it for circulation (always, without `answers`)."""
        return self.answers is None or _uniform(self.seed, "approved", ref) < self.answers.approved_share

    def arrive(self, week: int, waiting: dict, pot: dict, leaves: dict, balances: dict,
               reserved_requests=frozenset(), reserved_offers=frozenset(),
               answering: Optional[Answering] = None, circulated: Optional[set] = None,
               listed: Optional[set] = None) -> tuple[int, int, int]:
        """The week's new requests and offers into `waiting` and `pot`, then the requests withdrawn
        and the homes let locally this week, except those `reserved` by a live proposal. With
        `answers`, only approved referrals arrive (and are circulated: added to `circulated`), the
        week's circulation lists are drawn (the households some member could serve are added to
        `listed`) and, with `answering`, members offer homes for the households on their lists.
        Returns (offers arrived, requests withdrawn, offers left
        unused)."""
        for r in self.requests[week]:
            if self.approved(r.ref):
                waiting[r.ref] = r
                if circulated is not None:
                    circulated.add(r.ref)
        lists = self._circulate(week, waiting, reserved_requests, listed)
        arrived = 0
        for provider in self.providers:
            for k in range(self.offer_count(week, provider, balances[provider])):
                if answering is not None and answering.holds(self.seed, week, provider, k, balances[provider]):
                    continue  # kept for a household on the member's list (below)
                offer, leave = self.offer(week, provider, k)
                pot[offer.ref] = offer
                leaves[offer.ref] = leave
                arrived += 1
        if answering is not None:
            made, expired = answering.answer(self.seed, week, self.round_day(week), lists, pot)
            for offer in made:
                pot[offer.ref] = offer
                leaves[offer.ref] = week + self.rates.offer_open_weeks
            for drawn_week, provider, k in expired:
                offer, leave = self.offer(drawn_week, provider, k)
                pot[offer.ref] = offer
                leaves[offer.ref] = max(leave, week + self.rates.offer_open_weeks)
            arrived += len(made) + len(expired)
        withdrawn = [ref for ref in waiting if self.withdraw_week[ref] <= week and ref not in reserved_requests]
        unused = [ref for ref in pot if leaves[ref] <= week and ref not in reserved_offers]
        for ref in withdrawn:
            del waiting[ref]
        for ref in unused:
            del pot[ref]
        return arrived, len(withdrawn), len(unused)

    def _circulate(self, week: int, waiting: dict, reserved_requests, listed: Optional[set]) -> dict:
        """This week's circulation lists (only with `answers`): member -> `Circulated` items."""
        if self.answers is None:
            return {}
        free = [r for ref, r in waiting.items() if ref not in reserved_requests]
        lists = circulation(self.scheme, self.round_day(week), free) if free else {}
        if listed is not None:
            listed.update(c.request.ref for items in lists.values() for c in items)
        return lists

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
            self._offers[key] = (made, week + wait + self.rates.offer_open_weeks)
        return self._offers[key]


def draw_arrivals(scheme: Scheme, weeks: int, seed: int, rates: Rates, spec: Scale | None = None,
                  start: date = ROUND_DAY, answers: Optional[AnswerTerms] = None) -> Arrivals:
    """The shared stream: requests by week with their withdrawal weeks, offer-count draws, and each
    provider's base offer rate. Deterministic for (scheme, weeks, seed, rates)."""
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
            stay = 1 + int(math.log(1 - rng.random()) / math.log(1 - rates.withdraw_rate)) \
                if 0 < rates.withdraw_rate < 1 else weeks + 1
            withdraw_week[r.ref] = week + stay
        requests.append(this_week)
    offer_draw = [[rng.random() for _ in providers] for _ in range(weeks)]
    return Arrivals(scheme, seed, weeks, start, rates, spec, providers, requests, arrival_week,
                    withdraw_week, offer_draw, offer_rate, answers)
