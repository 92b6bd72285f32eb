"""A year (or any number of weeks) of weekly match rounds, in memory, under several policies.

For a scheme board deciding whether to adopt the engine: what would a year of weekly rounds have
done on their own scheme, compared with what coordinators do by hand today? `simulate` draws one
arrival stream from the seed and runs every policy on it, week by week:

- `engine`: `matching.engine.solve_round` with the scheme's own objectives and debt limits;
- `fcfs`: first come, first served by hand (`matching.policies.first_come_first_served`);
- `no_ledger`: the same engine maximising moves only (objectives high_risk_moved, households_moved,
  longest_waiting) with no debt limit: what is lost and gained by keeping the ledger;
- `random`: requests served in a random order (`matching.policies.random_order`).

The stream (`Arrivals`) is drawn before any policy runs, so every policy sees the same households,
at the same times, with the same needs, the same withdrawal weeks, and the same accept/decline
answer for the same household and home (a hash of seed, request and offer). Offers are the one
part that responds to the policy, on purpose: providers that owe the scheme offer more often than
providers it owes (the behaviour the ledger exists to create). Each provider's offers in a week are
drawn from one shared uniform number compared with a rate that depends on its balance under that
policy, so the comparison stays paired: a provider with equal balances under two policies offers
exactly the same homes in that week.

Each week: new requests and offers arrive; requests whose withdrawal week has come and offers left
unused for `offer_open_weeks` leave the pot; the policy proposes; every proposal is checked by
`matching.check.violations`, the checker live rounds use (a violation raises `IntegrityError`;
nothing is ever silently skipped); households decline or accept; the accepted proposals are checked
again before they become moves (a decline can take away a home whose giving made room under the
debt limit for the same provider's tenant: such moves are held to the next round); declined homes
are offered again in the same round to households not yet proposed one (as `reciprocal.lifecycle.run.decide`
does); moves update the ledger. The no-ledger policy is checked against its own terms (no debt
limit, by design); every other hard rule is the same for all.

Nothing here touches a database, and nothing is specific to one scheme.
"""
from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from reciprocal.config import Scheme
from reciprocal.domain import Balances, Offer, Request, Risk, hold_backs_for_debt_limit, move_effect
from reciprocal.errors import IntegrityError
from reciprocal.simulation import generator
from reciprocal.simulation.answers import AnswerTerms, Answering
from reciprocal.simulation.draws import uniform as _uniform
from reciprocal.simulation.generator import ROUND_DAY, SCALES, Scale, synthetic_scheme

from matching.check import violations
from matching.circulation import circulation
from matching.engine import solve_round
from matching.policies import compatible_offers, first_come_first_served, random_order
from matching.rules import MatchContext

POLICIES = ("engine", "fcfs", "no_ledger", "random")
POLICY_LABELS = {"engine": "engine", "fcfs": "first come, first served", "no_ledger": "engine, no ledger",
                 "random": "random order"}
NO_LEDGER_OBJECTIVES = ("high_risk_moved", "households_moved", "longest_waiting")
UNLIMITED_DEBT = 1_000_000
SETTINGS = ("default", "stress", "generous", "regional")

# The seed figures the settings are calibrated to.
CAMBS_MEMBERS, CAMBS_REFERRALS_A_YEAR, CAMBS_OFFERS_A_YEAR = 16, 17, 4  # Cambridgeshire, one year
TRIBOROUGH_REQUESTS, TRIBOROUGH_OFFERS = 18, 16  # London tri-borough: only the ratio is used
LONDON_REQUESTS, LONDON_MOVES, LONDON_YEARS = 1_401, 277, 7.5  # London's whole scheme, 2016-2024
SPARSE_REQUESTS = 100  # below this many requests in a run, differences between policies are noise


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


# -- policies as weekly matchers -------------------------------------------------------------------

Pairs = list[tuple[str, str]]
Matcher = Callable[[MatchContext, list[Request], list[Offer], dict[str, int], int], Pairs]


def no_ledger_scheme(scheme: Scheme) -> Scheme:
    """The scheme with the ledger switched off: moves-only objectives and no debt limit."""
    kept = [o for o in scheme.config.matching.objectives if o in NO_LEDGER_OBJECTIVES] or \
        list(NO_LEDGER_OBJECTIVES)
    config = scheme.config.model_copy(update={
        "matching": scheme.config.matching.model_copy(update={"objectives": kept}),
        "fairness": scheme.config.fairness.model_copy(update={"max_debt": UNLIMITED_DEBT}),
    })
    providers = {p: c.model_copy(update={"max_debt": None}) for p, c in scheme.providers.items()}
    return dataclasses.replace(scheme, config=config, providers=providers)


def _engine(ctx: MatchContext, requests, offers, balances, step: int) -> Pairs:
    result = solve_round(ctx.scheme, ctx.on, requests, offers, balances, ctx.declined)
    return [(p["request"], p["offer"]) for p in result.proposals]


def _fcfs(ctx: MatchContext, requests, offers, balances, step: int) -> Pairs:
    return first_come_first_served(ctx, requests, offers, balances,
                                   compatible_offers(ctx, requests, offers, balances))


def _random_matcher(seed: int) -> Matcher:
    def match(ctx: MatchContext, requests, offers, balances, step: int) -> Pairs:
        rng = random.Random(f"reciprocal-sim/{seed}/random-order/{ctx.on.isoformat()}/{step}")
        return random_order(ctx, requests, offers, balances, rng,
                            compatible_offers(ctx, requests, offers, balances))
    return match


# -- running one policy ----------------------------------------------------------------------------

@dataclass(frozen=True)
class MoveRecord:
    week: int
    request: str
    offer: str
    from_provider: str
    to_provider: str
    high_risk: bool
    weeks_waited: float  # from referral to the round that moved the household
    for_request: bool = False  # the home was offered for this household


@dataclass
class PolicyRun:
    policy: str
    moves: list[MoveRecord] = field(default_factory=list)
    balances: list[list[int]] = field(default_factory=list)  # [week][provider], after the round
    offers_arrived: int = 0
    offers_unused: int = 0
    requests_withdrawn: int = 0
    declines: int = 0
    held_back: int = 0  # accepted, but held to the next round by the debt limit after a decline
    still_waiting: int = 0
    high_risk_still_waiting: int = 0
    proposals_checked: int = 0
    checks: int = 0  # calls of the hard-rule checker (proposals and committed moves, each solve)
    circulated: set = field(default_factory=set)  # approved referrals, circulated to the members
    listed: set = field(default_factory=set)  # of them, on some member's circulation list
    offers_for_households: int = 0  # homes offered for a circulated household


def run_policy(arrivals: Arrivals, policy: str, progress: Optional[Callable[[str], None]] = None,
               answer: bool = False) -> PolicyRun:
    """One policy over the arrivals; with `answer`, members offer homes for the households on
    their circulation lists (`Arrivals.answers`)."""
    scheme = arrivals.scheme
    if policy == "engine":
        rules_scheme, match = scheme, _engine
    elif policy == "no_ledger":
        rules_scheme, match = no_ledger_scheme(scheme), _engine
    elif policy == "fcfs":
        rules_scheme, match = scheme, _fcfs
    elif policy == "random":
        rules_scheme, match = scheme, _random_matcher(arrivals.seed)
    else:
        raise ValueError(f"unknown policy '{policy}' (known: {', '.join(POLICIES)})")
    run = PolicyRun(policy)
    answering = Answering(arrivals.answers) if answer and arrivals.answers is not None else None
    balances = {p: 0 for p in arrivals.providers}
    waiting: dict[str, Request] = {}
    pot: dict[str, Offer] = {}
    leaves: dict[str, int] = {}  # offer ref -> week it is let locally if still unused
    declined: set[tuple[str, str]] = set()
    for week in range(arrivals.weeks):
        if progress is not None:
            progress(f"{POLICY_LABELS[policy]}: week {week + 1} of {arrivals.weeks}")
        on = arrivals.round_day(week)
        before = {ref for ref, o in pot.items() if o.for_request}
        arrived, withdrawn, unused = arrivals.arrive(week, waiting, pot, leaves, balances,
                                                     answering=answering, circulated=run.circulated,
                                                     listed=run.listed)
        run.offers_for_households += sum(1 for ref, o in pot.items() if o.for_request and ref not in before)
        run.offers_arrived += arrived
        run.requests_withdrawn += withdrawn
        run.offers_unused += unused
        _round(arrivals, run, rules_scheme, match, week, on, waiting, pot, balances, declined)
        run.balances.append([balances[p] for p in arrivals.providers])
    run.still_waiting = len(waiting)
    run.high_risk_still_waiting = sum(r.risk == Risk.high for r in waiting.values())
    return run


def _round(arrivals: Arrivals, run: PolicyRun, rules_scheme: Scheme, match: Matcher, week: int,
           on: date, waiting: dict[str, Request], pot: dict[str, Offer], balances: dict[str, int],
           declined: set[tuple[str, str]]) -> None:
    """One weekly round: solve, check, decide; after declines, solve again for households not yet
    proposed a home this round (each request gets at most one proposal per round)."""
    proposed: set[str] = set()
    step = 0
    while True:
        requests = [r for r in waiting.values() if r.ref not in proposed]
        offers = list(pot.values())
        if not requests or not offers:
            return
        ctx = MatchContext(rules_scheme, on, frozenset(declined))
        pairs = match(ctx, requests, offers, balances, step)
        broken = violations(ctx, requests, offers, balances, pairs)
        run.checks += 1
        if broken:
            raise IntegrityError(f"policy {run.policy} proposed moves that break hard rules in week "
                                 f"{week + 1}: "
                                 + "; ".join(broken[:5]))
        run.proposals_checked += len(pairs)
        accepted = []
        any_declined = False
        for r_ref, o_ref in pairs:
            proposed.add(r_ref)
            if _uniform(arrivals.seed, "decline", r_ref, o_ref) < arrivals.rates.decline_rate:
                declined.add((r_ref, o_ref))
                run.declines += 1
                any_declined = True
            else:
                accepted.append((r_ref, o_ref))
        held = _hold_back_over_limit(ctx, waiting, pot, balances, accepted)
        run.held_back += len(held)
        accepted = [pair for pair in accepted if pair not in held]
        # The moves committed must pass the same checker as the proposals (a decline can take away
        # a home whose giving made room for the same provider's tenant; see _hold_back_over_limit).
        broken = violations(ctx, requests, offers, balances, accepted)
        run.checks += 1
        if broken:
            raise IntegrityError(f"policy {run.policy} would commit moves that break hard rules in "
                                 f"week {week + 1}: " + "; ".join(broken[:5]))
        for r_ref, o_ref in accepted:
            request, offer = waiting.pop(r_ref), pot.pop(o_ref)
            for account, change in move_effect(request.provider, offer.provider).items():
                balances[account.provider] += change
            run.moves.append(MoveRecord(week, r_ref, o_ref, request.provider, offer.provider,
                                        request.risk == Risk.high,
                                        round((on - request.referred_on).days / 7, 2),
                                        offer.for_request == request.ref))
        if not any_declined and not held:
            return
        step += 1


def _hold_back_over_limit(ctx: MatchContext, waiting: dict[str, Request], pot: dict[str, Offer],
                          balances: dict[str, int], accepted: list[tuple[str, str]]
                          ) -> set[tuple[str, str]]:
    """Accepted proposals that cannot be committed without breaking rule 9.

    A round may place a provider's tenants beyond its headroom as long as it gives as many homes in
    the same round. If a household declines one of those homes, the provider no longer gives it,
    and committing all the other accepted proposals would take the provider past its debt limit.
    The same rule as a live round's close (`reciprocal.domain.hold_backs_for_debt_limit`): that
    provider's lowest-priority households (risk, then most recently referred) are held back until
    it is within its limit; they stay waiting (not declined) for the next round."""
    scheme = ctx.scheme
    order = {risk: k for k, risk in enumerate(scheme.config.priority.risk_levels)}
    moves = [(waiting[r].provider, pot[o].provider, None,
              (order.get(waiting[r].risk, 0), waiting[r].referred_on, r)) for r, o in accepted]
    held = hold_backs_for_debt_limit(moves, Balances(balances), scheme.debt_limit)
    return {accepted[k] for k in held}


# -- the whole simulation --------------------------------------------------------------------------

@dataclass
class SimulationResult:
    scheme_id: str
    scheme_name: str
    setting: str
    seed: int
    weeks: int
    start: date
    rates: Rates
    providers: list[str]
    max_debt: dict[str, int]  # each provider's debt limit under the scheme's own terms
    scheme_max_debt: int  # the scheme-wide limit (a provider may have its own)
    requests_arrived: int
    high_risk_arrived: int
    runs: dict[str, PolicyRun]
    measures: dict[str, dict]
    notes: list[str]


def simulate(scheme: Scheme, weeks: int = 52, seed: int = 1, setting: str = "default",
             rates: Optional[Rates] = None, policies: Sequence[str] = POLICIES,
             progress: Optional[Callable[[str], None]] = None) -> SimulationResult:
    """Run every policy over the same arrival stream; deterministic for (scheme, weeks, seed,
    setting, rates). `rates` overrides the setting's rates (the scheme still comes from the
    setting: `regional` uses its synthetic region)."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    unknown = [p for p in policies if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown policy {', '.join(unknown)} (known: {', '.join(POLICIES)})")
    run_scheme, setting_rates = rates_for(scheme, setting)
    rates = rates or setting_rates
    spec = SCALES["regional"] if setting == "regional" else SCALES["pilot"]
    arrivals = draw_arrivals(run_scheme, weeks, seed, rates, spec)
    runs = {p: run_policy(arrivals, p, progress) for p in POLICIES if p in policies}
    max_debt = {p: run_scheme.max_debt(p) for p in arrivals.providers}
    all_requests = [r for week in arrivals.requests for r in week]
    result = SimulationResult(
        scheme_id=run_scheme.id, scheme_name=run_scheme.name, setting=setting, seed=seed, weeks=weeks,
        start=arrivals.start, rates=rates, providers=arrivals.providers, max_debt=max_debt,
        scheme_max_debt=run_scheme.config.fairness.max_debt,
        requests_arrived=len(all_requests),
        high_risk_arrived=sum(r.risk == Risk.high for r in all_requests), runs=runs, measures={},
        notes=[])
    result.measures = {p: measures(run, result) for p, run in runs.items()}
    if "no_ledger" in runs:
        free = result.measures["no_ledger"]["households_moved"]
        for m in result.measures.values():
            m["price_of_fairness"] = free - m["households_moved"]
    result.notes = _notes(result)
    return result


def _percentile(values: list[float], q: float) -> Optional[float]:
    return round(float(np.percentile(values, q)), 1) if values else None


def measures(run: PolicyRun, result: SimulationResult) -> dict:
    """The board's figures for one policy (plain numbers; None where there is nothing to measure)."""
    waits = [m.weeks_waited for m in run.moves]
    high = [m.weeks_waited for m in run.moves if m.high_risk]
    limits = [-result.max_debt[p] for p in result.providers]
    beyond_weeks = sum(1 for week in run.balances if any(b < lim for b, lim in zip(week, limits)))
    provider_weeks = sum(1 for week in run.balances for b, lim in zip(week, limits) if b < lim)
    final = run.balances[-1] if run.balances else []
    moved = len(run.moves)
    return {
        "households_moved": moved,
        "high_risk_moved": sum(m.high_risk for m in run.moves),
        "median_weeks_to_move": _percentile(waits, 50),
        "p90_weeks_to_move": _percentile(waits, 90),
        "median_weeks_to_move_high_risk": _percentile(high, 50),
        "p90_weeks_to_move_high_risk": _percentile(high, 90),
        "still_waiting": run.still_waiting,
        "high_risk_still_waiting": run.high_risk_still_waiting,
        "requests_withdrawn": run.requests_withdrawn,
        "offers_arrived": run.offers_arrived,
        "offers_unused": run.offers_unused,
        "declines": run.declines,
        "held_back_by_debt_limit": run.held_back,
        "max_abs_balance": max((abs(b) for week in run.balances for b in week), default=0),
        "weeks_beyond_debt_limit": beyond_weeks,
        "provider_weeks_beyond_debt_limit": provider_weeks,
        # Sum of |balance| at the end over the moves made (the kidney-exchange credit measure).
        "total_relative_deviation": round(sum(abs(b) for b in final) / moved, 4) if moved else None,
        "price_of_fairness": None,
    }


def _notes(result: SimulationResult) -> list[str]:
    notes = [f"Rates: {result.rates.basis}.",
             "Every policy saw the same requests, withdrawals and accept/decline draws; offers "
             "respond to each policy's own ledger (providers that owe offer more often), so the "
             "offers that arrive can differ between policies."]
    moved = [m["households_moved"] for m in result.measures.values()]
    offers = [m["offers_arrived"] for m in result.measures.values()]
    if result.requests_arrived < SPARSE_REQUESTS or min(moved, default=0) < 30:
        notes.append(f"Small counts: {result.requests_arrived} requests and at most {max(offers, default=0)} "
                     f"offers arrived in {result.weeks} weeks, and the most any policy moved was "
                     f"{max(moved, default=0)}. Differences of a few moves, or of one home in a "
                     f"balance, are within chance; compare several seeds, or --setting stress, "
                     f"generous or regional, before reading anything into them.")
    if "no_ledger" in result.runs:
        notes.append("The no-ledger policy has no debt limit by design; every other hard rule is "
                     "checked for it as for the others.")
    if result.requests_arrived and max(offers, default=0) and \
            not any(run.proposals_checked for run in result.runs.values()):
        notes.insert(0, f"WARNING: no policy could propose a single home in {result.weeks} weeks: "
                        f"{result.requests_arrived} requests and up to {max(offers)} offers arrived, "
                        f"but no request was compatible with any offer. Check the scheme's terms "
                        f"(tenancy kinds and grants, areas and the safety buffer, the risk gate, "
                        f"members' status) before reading the figures.")
    return notes


# -- output ----------------------------------------------------------------------------------------

ROWS = (  # (measure key, label, format)
    ("households_moved", "households moved", "int"),
    ("high_risk_moved", "high-risk households moved", "int"),
    ("median_weeks_to_move", "median weeks from request to move", "weeks"),
    ("p90_weeks_to_move", "90th percentile weeks to move", "weeks"),
    ("median_weeks_to_move_high_risk", "median weeks to move, high risk", "weeks"),
    ("p90_weeks_to_move_high_risk", "90th percentile weeks, high risk", "weeks"),
    ("still_waiting", "requests still waiting at the end", "int"),
    ("requests_withdrawn", "requests withdrawn", "int"),
    ("offers_arrived", "offers arrived", "int"),
    ("declines", "proposals declined", "int"),
    ("held_back_by_debt_limit", "accepted, held back by the debt limit", "int"),
    ("max_abs_balance", "max absolute provider balance", "int"),
    ("weeks_beyond_debt_limit", "weeks any provider beyond its debt limit", "int"),
    ("total_relative_deviation", "total relative deviation", "percent"),
    ("price_of_fairness", "price of fairness (moves lost vs no ledger)", "int"),
)


def _cell(value, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "percent":
        return f"{100 * value:.1f}%"
    if kind == "weeks":
        return f"{value:.1f}"
    return str(value)


def table_rows(result: SimulationResult) -> tuple[list[str], list[list[str]]]:
    """Column headers (measure, then one per policy) and rows, as text."""
    policies = list(result.measures)
    header = ["measure"] + [POLICY_LABELS[p] for p in policies]
    rows = [[label] + [_cell(result.measures[p][key], kind) for p in policies] for key, label, kind in ROWS]
    return header, rows


def headline(result: SimulationResult) -> str:
    return (f"{result.scheme_name} ({result.scheme_id}), setting {result.setting}, seed {result.seed}: "
            f"{result.weeks} weekly rounds from {result.start.isoformat()}, {result.requests_arrived} "
            f"requests arrived ({result.high_risk_arrived} high risk)")


def render_table(result: SimulationResult, width: Optional[int] = None) -> str:
    """The comparison as a Markdown table (readable in a terminal, pasteable into docs), with the
    headline above and the notes below. Given a `width` the Markdown does not fit (a terminal of
    80 columns), the same figures as an aligned plain table with short policy names and a key,
    every line within `width`, so that the terminal never breaks a row into fragments."""
    header, rows = table_rows(result)
    markdown = _markdown(header, rows)
    if width is None or max(len(line) for line in markdown) <= width:
        text = [headline(result), ""] + markdown + [""] + [f"- {n}" for n in result.notes]
        return "\n".join(text) + "\n"
    short = [SHORT_LABELS.get(h, h) for h in header]
    key = "; ".join(f"{SHORT_LABELS[h]}: {SHORT_KEY.get(h, h)}" for h in header[1:] if h in SHORT_LABELS)
    text = _wrap(headline(result), width) + [""] + aligned_table(short, rows, width) + [""]
    if key:
        text += _wrap(key + ".", width)
    for n in result.notes:
        text += _wrap(n, width, "- ", "  ")
    return "\n".join(text) + "\n"


# Policy names short enough for an 80-column terminal, with the full ones given in a key.
SHORT_LABELS = {"first come, first served": "FCFS", "engine, no ledger": "no ledger",
                "random order": "random"}
SHORT_KEY = {"engine, no ledger": "the engine with no debt limit"}


def _markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[k]) for r in [header] + rows) for k in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if k == 0 else c.rjust(w)
                                 for k, (c, w) in enumerate(zip(cells, widths))) + " |"

    rule = "|" + "|".join(("-" * (w + 2)) if k == 0 else ("-" * (w + 1) + ":")
                          for k, w in enumerate(widths)) + "|"
    return [line(header), rule] + [line(r) for r in rows]


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    import textwrap
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [""]


def aligned_table(header: list[str], rows: list[list[str]], width: int) -> list[str]:
    """A plain table within `width`: figures right-aligned, two spaces apart; the first column
    (the measure) takes what is left and wraps onto further lines when it must."""
    figures = [max(len(r[k]) for r in [header] + rows) for k in range(1, len(header))]
    label = max(12, min(max(len(r[0]) for r in [header] + rows), width - sum(w + 2 for w in figures)))

    def lines(cells: list[str]) -> list[str]:
        parts = _wrap(cells[0], label)
        first = parts[0].ljust(label) + "".join("  " + c.rjust(w) for c, w in zip(cells[1:], figures))
        return [first.rstrip()] + [p for p in parts[1:]]

    rule = "-" * min(width, label + sum(w + 2 for w in figures))
    return lines(header) + [rule] + [line for r in rows for line in lines(r)]


def to_json(result: SimulationResult, series: bool = True) -> dict:
    """Everything as plain JSON-able data; `series` adds balances per week and each move's wait."""
    data = {
        "scheme": {"id": result.scheme_id, "name": result.scheme_name},
        "setting": result.setting, "seed": result.seed, "weeks": result.weeks,
        "start": result.start.isoformat(),
        "rates": dataclasses.asdict(result.rates),
        "requests_arrived": result.requests_arrived, "high_risk_arrived": result.high_risk_arrived,
        "policies": {p: {"label": POLICY_LABELS[p], **m} for p, m in result.measures.items()},
        "notes": result.notes,
    }
    if series:
        data["providers"] = result.providers
        data["max_debt"] = result.max_debt
        data["scheme_max_debt"] = result.scheme_max_debt
        for p, run in result.runs.items():
            data["policies"][p]["balances_by_week"] = run.balances
            data["policies"][p]["weeks_waited"] = [m.weeks_waited for m in run.moves]
    return data


# The HTML page's plain words for measures whose terminal label is technical (the technical name
# follows in small print).
HTML_LABELS = {
    "p90_weeks_to_move": ("weeks within which 9 in 10 households moved", "90th percentile"),
    "p90_weeks_to_move_high_risk": ("weeks within which 9 in 10 high-risk households moved",
                                    "90th percentile, high risk"),
    "max_abs_balance": ("the most homes any member owed or was owed", "max absolute provider balance"),
    "total_relative_deviation": ("homes still owed at the end, per household moved",
                                 "total relative deviation: sum of |balance| at the end / moves"),
    "price_of_fairness": ("moves the ledger cost, against the engine with no ledger", "price of fairness"),
}


def write_html(result: SimulationResult, path: Path | str) -> Path:
    """`html_report` written to `path` (the command writes it through `audits.exports.write_private`)."""
    path = Path(path)
    path.write_text(html_report(result), encoding="utf-8")
    return path


def html_report(result: SimulationResult) -> str:
    """One self-contained HTML file (inline SVG, no scripts): the table, balances over the weeks
    per policy, and the waiting-time distribution per policy. Time axes are the rounds' dates over
    the period the page states; with more than twelve members, each balance chart draws those that
    matter (`charts.members_that_matter`) and counts the rest; an empty chart says so."""
    from html import escape

    from reciprocal import charts
    policies = list(result.runs)
    last_round = result.start + timedelta(days=7 * (result.weeks - 1))
    period = f"{result.start.isoformat()} to {last_round.isoformat()}"
    header = ["measure"] + [POLICY_LABELS[p] for p in result.measures]
    body = [f"<h1>Simulation: {escape(result.scheme_name)}</h1>",
            f'<p class="note">{escape(headline(result))}; the last round on {last_round.isoformat()}.</p>',
            "<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for key, label, kind in ROWS:
        plain, tech = HTML_LABELS.get(key, (label, ""))
        cells = [_cell(result.measures[p][key], kind) for p in result.measures]
        body.append(f"<tr><td>{escape(plain)}" + (f' <span class="tech">({escape(tech)})</span>' if tech else "")
                    + "</td>" + "".join(f"<td>{'none' if c == '-' else escape(c)}</td>" for c in cells) + "</tr>")
    body.append("</tbody></table>")
    body += [f'<p class="note">{escape(n)}</p>' for n in result.notes]

    days = [7 * k for k in range(result.weeks)]  # each round's day, counted from the first
    dates = charts.date_axis(result.start, days[-1])
    x_range = (0, max(days[-1], 1))
    everything = [b for run in result.runs.values() for week in run.balances for b in week]
    limit = result.scheme_max_debt
    lo = min(everything + [-limit]) if everything else -limit
    hi = max(everything + [1]) if everything else 1
    own = sorted({d for d in result.max_debt.values() if d != limit})
    label = f"debt limit -{limit}" + (f" (own limits: {', '.join(f'-{d}' for d in own)})" if own else "")
    limit_line = [charts.ReferenceLine(-limit, label)]
    body.append(f"<h2>Each member's balance after each round, {escape(period)}</h2>")
    body.append('<p class="note">Homes given minus households housed by others; the dashed line is the '
                "debt limit.</p>")
    body.append('<div class="grid">')
    for p in policies:
        run = result.runs[p]
        by_member = {provider: [week[k] for week in run.balances] for k, provider in enumerate(result.providers)}
        chosen = charts.members_that_matter(by_member, result.max_debt, keep=12)
        series = [charts.Series(name, by_member[name], width=1.2) for name in chosen.shown]
        legend = len(series) <= 8
        chart = charts.line_chart(series, x_values=days, title=POLICY_LABELS[p], y_label="balance (homes)",
                                  y_range=(lo, hi), step=True, reference_lines=limit_line,
                                  legend_limit=8 if legend else 0, width=290,
                                  height=230 + (14 * math.ceil(len(series) / 3) if legend else 0),
                                  x_tick_label=dates, x_range=x_range, empty="no round was run")
        caption = ""
        if chosen.others:
            caption = (f"Drawn: {len(chosen.shown)} of {len(by_member)} members (any past its debt limit, "
                       f"then the largest balances); the other {chosen.others} stayed within "
                       f"&plusmn;{chosen.others_within}.")
        if not legend:
            caption += " Point at a line for its member's name."
        body.append(f'<figure style="margin:0">{chart}<figcaption class="note" style="max-width:290px">'
                    f"{caption}</figcaption></figure>")
    body.append("</div>")
    body.append(f"<h2>The most homes any member owed or was owed, round by round, {escape(period)}</h2>")
    worst = [charts.Series(POLICY_LABELS[p], [max((abs(b) for b in week), default=0)
                                              for week in result.runs[p].balances], width=2)
             for p in policies]
    body.append(charts.line_chart(worst, x_values=days, y_label="homes", step=True, width=600, height=280,
                                  x_tick_label=dates, x_range=x_range, empty="no round was run"))

    body.append("<h2>Weeks from request to move</h2>")
    waits = {p: [m.weeks_waited for m in result.runs[p].moves] for p in policies}
    pooled = [w for ws in waits.values() for w in ws]
    top = max(pooled, default=1.0)
    edges = [float(x) for x in charts.nice_ticks(0, max(4.0, top), 16)]
    if edges[-1] < top:
        edges.append(edges[-1] + (edges[1] - edges[0]))
    counts_max = 0
    for ws in waits.values():
        for k in range(len(edges) - 1):
            counts_max = max(counts_max, sum(1 for w in ws if edges[k] <= w < edges[k + 1]
                                             or (k == len(edges) - 2 and w == edges[-1])))
    body.append('<div class="grid">')
    for k, p in enumerate(policies):
        ws = waits[p]
        note = f"n = {len(ws)}" + (f", median {np.median(ws):.1f}" if ws else "")
        body.append(charts.histogram(ws, bins=edges, title=POLICY_LABELS[p], x_label="weeks from request to move",
                                     y_label="households", y_max=counts_max,
                                     color=charts.PALETTE[k % len(charts.PALETTE)], width=290, height=200,
                                     note=note, empty="no household moved"))
    body.append("</div>")
    body.append(charts.box_plot({POLICY_LABELS[p]: waits[p] for p in policies},
                                title="All households moved", y_label="weeks to move", width=600, height=260,
                                empty="no household moved under any policy"))
    high = {POLICY_LABELS[p]: [m.weeks_waited for m in result.runs[p].moves if m.high_risk] for p in policies}
    body.append(charts.box_plot(high, title="High-risk households moved", y_label="weeks to move",
                                width=600, height=260, empty="no high-risk household moved under any policy"))
    return charts.html_page(f"Simulation: {result.scheme_name}", "\n".join(body))
