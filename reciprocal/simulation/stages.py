"""A year of rounds with proposals that take weeks (docs/config.md, Lifecycle terms), in memory.

The same arrival stream as `simulate` (requests, withdrawals, offers that answer to the ledger);
the engine proposes; each proposal then goes through its stages (nomination confirmed, viewing,
accepted, signed) on working days drawn from `StageAssumptions`, or ends refused, or lapses when a
stage passes its due date (the scheme's `lifecycle` terms). Homes and households under a live
proposal are reserved, and the engine places a member's tenants only within its headroom counting
every live proposal that would place one (rule 9 at every moment).

Two flows are compared on one stream:
- `weekly`: a round every week on the free pot, whatever is still being viewed (the product now);
- `wait`: the next round only once every proposal has an answer (signed, refused or lapsed): a
  coordinator who waits for every answer before matching again.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date

from matching.check import violations
from matching.engine import solve_round
from matching.rules import MatchContext
from reciprocal.config import Scheme
from reciprocal.domain import (LIVE_PROPOSAL, NEXT_STAGE, Balances, Offer, ProposalStatus, Request, Risk,
                               ledger_effect, move_effect, receiving_effect)
from reciprocal.errors import IntegrityError
from reciprocal.simulation.simulate import _uniform, draw_arrivals, rates_for
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
    lowest_headroom: int = 0  # lowest balance + max_debt if every live placement were signed now
    lowest_ledger_headroom: int = 0  # lowest balance + max_debt the ledger itself reached
    max_abs_balance: int = 0
    still_waiting: int = 0
    live_at_end: int = 0

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
                "lowest_headroom": self.lowest_headroom,
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


RESERVE = ("placements", "net")


def run_flow(scheme: Scheme, arrivals, flow: str, assumptions: StageAssumptions,
             reserve: str = "placements") -> FlowRun:
    """`reserve`: how a round counts live proposals against a member's headroom. `placements` (the
    product's rule): every live proposal placing one of its tenants counts, homes it gives count
    once signed. `net` (for comparison only, the earlier rule carried across weeks): its live
    gives count in advance too, so a refusal or lapse on the giving side can leave it past its
    limit; `lowest_headroom` then shows how far."""
    if reserve not in RESERVE:
        raise ValueError(f"unknown reserve '{reserve}' (known: {', '.join(RESERVE)})")
    if flow not in FLOWS:
        raise ValueError(f"unknown flow '{flow}' (known: {', '.join(FLOWS)})")
    run = FlowRun(flow)
    balances = {p: 0 for p in arrivals.providers}
    waiting: dict[str, Request] = {}
    pot: dict[str, Offer] = {}
    leaves: dict[str, int] = {}
    never_again: set[tuple[str, str]] = set()
    live: list[Live] = []
    decline_rate = arrivals.rates.decline_rate

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
        for account, change in move_effect(item.request.provider, item.offer.provider).items():
            balances[account.provider] += change
        run.lowest_ledger_headroom = min(run.lowest_ledger_headroom,
                                         balances[item.request.provider] + scheme.max_debt(item.request.provider))
        run.moves.append((item.request.risk == Risk.high,
                          round((day - item.request.referred_on).days / 7, 2)))

    for week in range(arrivals.weeks):
        on = arrivals.round_day(week)
        advance(on)
        reserved_requests = {item.request.ref for item in live}
        reserved_offers = {item.offer.ref for item in live}
        arrivals.arrive(week, waiting, pot, leaves, balances, reserved_requests, reserved_offers)
        if flow == "weekly" or not live:
            free_requests = [r for r in waiting.values() if r.ref not in reserved_requests]
            free_offers = [o for o in pot.values() if o.ref not in reserved_offers]
            if free_requests and free_offers:
                counted = receiving_effect if reserve == "placements" else ledger_effect
                reserved = Balances(dict(balances)).after(counted(
                    (i.request.provider, i.offer.provider, None) for i in live)).total
                ctx = MatchContext(scheme, on, frozenset(never_again))
                result = solve_round(scheme, on, free_requests, free_offers, reserved, ctx.declined)
                pairs = [(p["request"], p["offer"]) for p in result.proposals]
                broken = violations(ctx, free_requests, free_offers, reserved, pairs)
                if broken:
                    raise IntegrityError(f"flow {flow} proposed moves that break hard rules in week "
                                         f"{week + 1}: " + "; ".join(broken[:5]))
                run.rounds += 1
                run.proposals += len(pairs)
                for r_ref, o_ref in pairs:
                    live.append(Live(waiting[r_ref], pot[o_ref], ProposalStatus.proposed, on))
        # Rule 9 at every moment: even if every live proposal placing a tenant were signed now.
        worst = Balances(dict(balances)).after(receiving_effect(
            (i.request.provider, i.offer.provider, None) for i in live)).total
        run.lowest_headroom = min([run.lowest_headroom] + [worst[p] + scheme.max_debt(p)
                                                           for p in arrivals.providers])
        run.max_abs_balance = max([run.max_abs_balance] + [abs(b) for b in balances.values()])
    run.still_waiting = len(waiting)
    run.live_at_end = len(live)
    return run


def compare_flows(scheme: Scheme, weeks: int = 52, seed: int = 1, setting: str = "stress",
                  assumptions: StageAssumptions | None = None) -> dict:
    """The engine under both flows on one stream; plain figures for a table or JSON."""
    run_scheme, rates = rates_for(scheme, setting)
    spec = SCALES["regional"] if setting == "regional" else SCALES["pilot"]
    arrivals = draw_arrivals(run_scheme, weeks, seed, rates, spec)
    assumptions = assumptions or StageAssumptions()
    runs = {flow: run_flow(run_scheme, arrivals, flow, assumptions) for flow in FLOWS}
    net = run_flow(run_scheme, arrivals, "weekly", assumptions, reserve="net")
    return {"scheme": run_scheme.id, "setting": setting, "seed": seed, "weeks": weeks,
            "requests_arrived": sum(len(w) for w in arrivals.requests),
            "assumptions": {"days": assumptions.days, "no_answer": assumptions.no_answer,
                            "landlord_refusal": assumptions.landlord_refusal,
                            "household_refusal": rates.decline_rate},
            "flows": {flow: run.measures() for flow, run in runs.items()},
            "weekly_with_gives_counted_in_advance": net.measures()}
