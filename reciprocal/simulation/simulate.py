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
import random
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Optional, Sequence

import numpy as np

from reciprocal.config import Scheme
from reciprocal.domain import Balances, Offer, Request, Risk, hold_backs_for_debt_limit, move_effect
from reciprocal.errors import IntegrityError
from reciprocal.simulation.arrivals import Arrivals, Rates, draw_arrivals, rates_for
from reciprocal.simulation.answers import Answering
from reciprocal.simulation.draws import uniform as _uniform
from reciprocal.simulation.generator import SCALES

from matching.check import violations
from matching.engine import solve_round
from matching.policies import compatible_offers, first_come_first_served, random_order
from matching.rules import MatchContext

POLICIES = ("engine", "fcfs", "no_ledger", "random")
POLICY_LABELS = {"engine": "engine", "fcfs": "first come, first served", "no_ledger": "engine, no ledger",
                 "random": "random order"}
NO_LEDGER_OBJECTIVES = ("high_risk_moved", "households_moved", "longest_waiting")
UNLIMITED_DEBT = 1_000_000
SPARSE_REQUESTS = 100  # below this many requests in a run, differences between policies are noise


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
