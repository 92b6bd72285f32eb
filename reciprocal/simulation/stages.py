"""A year of rounds with proposals that take weeks (docs/config.md, Lifecycle terms), in memory.

The same arrival stream as `simulate` (requests, withdrawals, offers that answer to the ledger);
the engine proposes; each proposal then goes through its stages (nomination confirmed, viewing,
accepted, signed) on working days drawn from `StageAssumptions`, or ends refused, or lapses when a
stage passes its due date (the scheme's `lifecycle` terms). Homes and households under a live
proposal are reserved. Rule 9 is simulated as the product runs it: each round is given the ledger's
balances plus `counted_effect` of the live proposals under the scheme's `fairness.gives_count_from`
(each placement from `proposed`, each home given from that stage); a counted give that falls
through can leave a member past its limit (the engine then places none of its tenants until it is
back within, and the run counts how far and for how many member-weeks); a signing is never refused
for it.

Two flows are compared on one stream:
- `weekly`: a round every week on the free pot, whatever is still being viewed (the product now);
- `wait`: the next round only once every proposal has an answer (signed, refused or lapsed): a
  coordinator who waits for every answer before matching again.
"""
from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass, field
from datetime import date

from matching.check import violations
from matching.engine import solve_round
from matching.rules import MatchContext
from reciprocal.config import Scheme
from reciprocal.domain import (GIVES_COUNT_FROM, LIVE_PROPOSAL, NEXT_STAGE, Account, Balances, Offer,
                               ProposalStatus, Request, Risk, counted_effect, limit_breaches, move_effect,
                               past_limit_by)
from reciprocal.errors import IntegrityError
from reciprocal.simulation.arrivals import draw_arrivals, rates_for
from reciprocal.simulation.draws import uniform as _uniform
from reciprocal.simulation.generator import SCALES
from reciprocal.working_days import add_working_days

FLOWS = ("weekly", "wait")


@dataclass(frozen=True)
class StageAssumptions:
    """How long each answer takes, in working days, and how often there is none (then the stage
    lapses at its due date) or a refusal. Assumptions, not measurements: no seed figure gives them
    (direct-offer rules give a household 3 to 5 working days to answer; London averaged two months
    from request to move). Change them here and compare."""

    # stage -> (fewest, most) working days until the answer
    days: dict = field(default_factory=lambda: {"proposed": (1, 3), "nomination_confirmed": (2, 11),
                                                "viewing": (1, 5), "accepted": (5, 22)})
    no_answer: dict = field(default_factory=lambda: {"proposed": 0.05, "nomination_confirmed": 0.03,
                                                     "viewing": 0.03, "accepted": 0.02})
    landlord_refusal: float = 0.05  # the offering landlord does not confirm the nomination
    # The household's refusal after viewing is the stream's decline rate (Rates.decline_rate).


@dataclass
class Live:
    request: Request
    offer: Offer
    stage: ProposalStatus
    since: date


@dataclass
class FlowRun:
    flow: str
    rounds: int = 0
    proposals: int = 0
    moves: list[tuple[bool, float]] = field(default_factory=list)  # (high risk, weeks to tenancy start)
    refused_by_household: int = 0
    refused_by_landlord: int = 0
    lapsed: dict = field(default_factory=lambda: {s.value: 0 for s in LIVE_PROPOSAL})
    gives_count_from: str = "proposed"  # the scheme's rule 9 term the run was made under
    # Homes past a limit (ledger plus counted live proposals, past -max_debt), one entry per
    # member-week (account-week with band limits) spent past it, measured before each round.
    past_limit: list[int] = field(default_factory=list)
    lowest_ledger_headroom: int = 0  # lowest balance + max_debt the ledger itself reached
    max_abs_balance: int = 0
    still_waiting: int = 0
    live_at_end: int = 0
    # Each round's day and its proposals (request, offer), in the order the engine made them.
    proposed: list[tuple[date, list[tuple[str, str]]]] = field(default_factory=list)

    def measures(self) -> dict:
        weeks = [w for _, w in self.moves]
        high = [w for h, w in self.moves if h]
        return {"rounds": self.rounds, "proposals": self.proposals, "households_moved": len(self.moves),
                "high_risk_moved": sum(h for h, _ in self.moves),
                "median_weeks_to_tenancy_start": _median(weeks), "median_weeks_high_risk": _median(high),
                "refused_by_household": self.refused_by_household,
                "refused_by_offering_landlord": self.refused_by_landlord,
                "lapsed": sum(self.lapsed.values()), "lapsed_at_stage": dict(self.lapsed),
                "still_waiting": self.still_waiting, "live_at_end": self.live_at_end,
                "max_abs_balance": self.max_abs_balance,
                "worst_homes_past_limit": max(self.past_limit, default=0),
                "median_homes_past_limit": float(_median(self.past_limit) or 0),
                "member_weeks_past_limit": len(self.past_limit),
                "lowest_ledger_headroom": self.lowest_ledger_headroom}


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _draw(seed: int, assumptions: StageAssumptions, decline_rate: float, live: Live, stage: str,
          ) -> tuple[str, int]:
    """What happens at `stage` of this proposal: ("next" | "refuse_household" | "refuse_landlord" |
    "silent", working days); the same draw under both flows (keyed by seed, pair and stage)."""
    key = (seed, "stage", live.request.ref, live.offer.ref, stage)
    if _uniform(*key, "silent") < assumptions.no_answer[stage]:
        return "silent", 0
    lo, hi = assumptions.days[stage]
    days = lo + int(_uniform(*key, "days") * (hi - lo + 1))
    if stage == "proposed" and _uniform(*key, "landlord") < assumptions.landlord_refusal:
        return "refuse_landlord", days
    if stage == "viewing" and _uniform(*key, "household") < decline_rate:
        return "refuse_household", days
    return "next", days


def counting_gives_from(scheme: Scheme, stage: str) -> Scheme:
    """The scheme with rule 9's `fairness.gives_count_from` set to `stage` (a copy)."""
    if stage not in GIVES_COUNT_FROM:
        raise ValueError(f"unknown stage '{stage}' (known: {', '.join(GIVES_COUNT_FROM)})")
    fairness = scheme.config.fairness.model_copy(update={"gives_count_from": stage})
    return dataclasses.replace(scheme, config=scheme.config.model_copy(update={"fairness": fairness}))


def _limited_accounts(scheme: Scheme, providers: list[str]) -> list[Account]:
    bands = ([b.name for b in scheme.config.fairness.bands]
             if scheme.config.fairness.band_max_debt is not None else [])
    return [Account(p) for p in providers] + [Account(p, b) for p in providers for b in bands]


def counted_balances(scheme: Scheme, ledger: Balances, live: list[Live], banded: bool = False) -> Balances:
    """Rule 9's balances, as the product's round is given them: the ledger plus every live
    proposal as the scheme's `gives_count_from` counts it (`reciprocal.domain.counted_effect`)."""
    return ledger.after(counted_effect(
        ((i.request.provider, i.offer.provider, scheme.band_of(i.offer.bedrooms) if banded else None, i.stage)
         for i in live), scheme.gives_count_from))


def run_flow(scheme: Scheme, arrivals, flow: str, assumptions: StageAssumptions,
             opening: dict[str, int] | None = None) -> FlowRun:
    """One flow on the stream, rule 9 under the scheme's `fairness.gives_count_from`. Every round
    is checked against the hard rules (`matching.check.violations`) and against rule 9 when
    proposals are made (`reciprocal.domain.limit_breaches`): a breach stops the run. `arrivals` is
    a drawn `Arrivals` or a scheme's stored year (`reciprocal.simulation.replay`); `opening`: the
    ledger's balances before the first round (all zero if not given)."""
    if flow not in FLOWS:
        raise ValueError(f"unknown flow '{flow}' (known: {', '.join(FLOWS)})")
    rule = scheme.gives_count_from
    run = FlowRun(flow, gives_count_from=rule)
    balances = {p: (opening or {}).get(p, 0) for p in arrivals.providers}
    by_band: dict[str, dict[str, int]] = {}  # the ledger's band legs (only when bands are limited)
    accounts = _limited_accounts(scheme, arrivals.providers)
    banded = len(accounts) > len(arrivals.providers)
    waiting: dict[str, Request] = {}
    pot: dict[str, Offer] = {}
    leaves: dict[str, int] = {}
    never_again: set[tuple[str, str]] = set()
    live: list[Live] = []
    decline_rate = arrivals.rates.decline_rate

    def band(item: Live) -> str | None:
        return scheme.band_of(item.offer.bedrooms) if banded else None

    def counted() -> Balances:
        return counted_balances(scheme, Balances(dict(balances), by_band), live, banded)

    def end(item: Live) -> None:
        live.remove(item)
        never_again.add((item.request.ref, item.offer.ref))

    def advance(on: date) -> None:
        """Every live proposal's answers up to `on`; a stage past its due date with no answer lapses."""
        for item in list(live):
            while item in live:
                stage = item.stage.value
                due = add_working_days(item.since, scheme.days_for(item.stage))
                outcome, days = _draw(arrivals.seed, assumptions, decline_rate, item, stage)
                answered = add_working_days(item.since, days)
                if outcome == "silent" or answered > due:
                    if due < on:  # lapses at the first round after its due date
                        run.lapsed[stage] += 1
                        end(item)
                    break
                if answered > on:
                    break
                if outcome == "refuse_landlord":
                    run.refused_by_landlord += 1
                    end(item)
                elif outcome == "refuse_household":
                    run.refused_by_household += 1
                    end(item)
                elif NEXT_STAGE[item.stage] == ProposalStatus.signed:
                    sign(item, answered)
                else:
                    item.stage, item.since = NEXT_STAGE[item.stage], answered

    def sign(item: Live, day: date) -> None:
        live.remove(item)
        waiting.pop(item.request.ref, None)
        pot.pop(item.offer.ref, None)
        for account, change in move_effect(item.request.provider, item.offer.provider, band(item)).items():
            if account.band is None:
                balances[account.provider] += change
            else:
                legs = by_band.setdefault(account.provider, {})
                legs[account.band] = legs.get(account.band, 0) + change
        run.lowest_ledger_headroom = min(run.lowest_ledger_headroom,
                                         balances[item.request.provider] + scheme.max_debt(item.request.provider))
        run.moves.append((item.request.risk == Risk.high,
                          round((day - item.request.referred_on).days / 7, 2)))

    for week in range(arrivals.weeks):
        on = arrivals.round_day(week)
        advance(on)
        start = counted()
        run.past_limit += [past for a in accounts
                           if (past := past_limit_by(start.get(a), scheme.debt_limit(a))) > 0]
        reserved_requests = {item.request.ref for item in live}
        reserved_offers = {item.offer.ref for item in live}
        arrivals.arrive(week, waiting, pot, leaves, balances, reserved_requests, reserved_offers)
        if flow == "weekly" or not live:
            free_requests = [r for r in waiting.values() if r.ref not in reserved_requests]
            free_offers = [o for o in pot.values() if o.ref not in reserved_offers]
            if free_requests and free_offers:
                ctx = MatchContext(scheme, on, frozenset(never_again))
                result = solve_round(scheme, on, free_requests, free_offers, start.total, ctx.declined,
                                     band_balances=start.by_band if banded else None)
                pairs = [(p["request"], p["offer"]) for p in result.proposals]
                broken = violations(ctx, free_requests, free_offers, start.total, pairs,
                                    start.by_band if banded else None)
                made = [(waiting[r].provider, pot[o].provider, scheme.band_of(pot[o].bedrooms) if banded else None)
                        for r, o in pairs if r in waiting and o in pot]
                broken += [f"fairness_debt_limit: {a} placed past its limit (gives counted from {rule})"
                           for a in limit_breaches({a: start.get(a) for a in accounts}, made,
                                                   scheme.debt_limit, rule)]
                if broken:
                    raise IntegrityError(f"flow {flow} proposed moves that break hard rules in week "
                                         f"{week + 1}: " + "; ".join(broken[:5]))
                run.rounds += 1
                run.proposals += len(pairs)
                run.proposed.append((on, pairs))
                for r_ref, o_ref in pairs:
                    live.append(Live(waiting[r_ref], pot[o_ref], ProposalStatus.proposed, on))
        run.max_abs_balance = max([run.max_abs_balance] + [abs(b) for b in balances.values()])
    run.still_waiting = len(waiting)
    run.live_at_end = len(live)
    return run


def stage_stream(scheme: Scheme, weeks: int, seed: int, setting: str,
                 gives_count_from: str | None = None):
    """The scheme a setting runs on (rule 9's `gives_count_from` set if given), its rates and the
    seed's arrival stream."""
    run_scheme, rates = rates_for(scheme, setting)
    if gives_count_from is not None:
        run_scheme = counting_gives_from(run_scheme, gives_count_from)
    spec = SCALES["regional"] if setting == "regional" else SCALES["pilot"]
    return run_scheme, rates, draw_arrivals(run_scheme, weeks, seed, rates, spec)


def compare_flows(scheme: Scheme, weeks: int = 52, seed: int = 1, setting: str = "stress",
                  assumptions: StageAssumptions | None = None, gives_count_from: str | None = None) -> dict:
    """The engine under both flows on one stream, rule 9 under the scheme's `gives_count_from`
    (or the one given); plain figures for a table or JSON."""
    run_scheme, rates, arrivals = stage_stream(scheme, weeks, seed, setting, gives_count_from)
    assumptions = assumptions or StageAssumptions()
    runs = {flow: run_flow(run_scheme, arrivals, flow, assumptions) for flow in FLOWS}
    return {"scheme": run_scheme.id, "setting": setting, "seed": seed, "weeks": weeks,
            "gives_count_from": run_scheme.gives_count_from,
            "requests_arrived": sum(len(w) for w in arrivals.requests),
            "assumptions": {"days": assumptions.days, "no_answer": assumptions.no_answer,
                            "landlord_refusal": assumptions.landlord_refusal,
                            "household_refusal": rates.decline_rate},
            "flows": {flow: run.measures() for flow, run in runs.items()}}
