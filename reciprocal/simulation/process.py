"""The scheme's weekly process, simulated in memory: the one model every comparison runs.

Each week, in the order the product runs it:
1. live proposals get their answers up to the round's day (`stages.advance`): stages move on,
   refusals by the offering landlord or the household, lapses past a due date, signings (a move:
   the ledger changes, the household and home leave);
2. households waiting change: holds begin and end, reconfirmations fall due (some late: the
   request is stale until reconfirmed), a request that reached the scheme's reasonable refusals
   waits for the coordinator's review;
3. the week's arrivals (`Arrivals.arrive`): referrals approved by their landlord are circulated,
   members answer their circulation lists with homes for households and put other homes into the
   pot, households withdraw and unused homes are let outside the scheme;
4. the policy proposes on the free households and homes (none under a live proposal, none on
   hold, stale or in review), given rule 9's counted balances (the ledger plus the live proposals
   as `fairness.gives_count_from` counts them); every proposal is checked against every hard rule
   (`matching.check.violations`) and rule 9 when proposals are made (`limit_breaches`): a breach
   stops the run (`IntegrityError`), whatever the policy.

Policies (`POLICIES`) differ only in step 4: the engine's weekly round, today's practice (the first
suitable home offered wins), first-come-first-served rounds, and the engine waiting for every
answer before it matches again. The engine under another debt rule is the engine on a scheme with
another `gives_count_from` (`stages.counting_gives_from`). Every draw is keyed by seed and the
household, home or pair it is about, so policies stay paired on one stream.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Optional

from matching.check import violations
from matching.rules import MatchContext
from reciprocal.config import Scheme
from reciprocal.domain import Balances, Offer, ProposalStatus, Request, Risk, limit_breaches, move_effect, \
    past_limit_by
from reciprocal.errors import IntegrityError
from reciprocal.simulation.answers import Answering
from reciprocal.simulation.arrivals import Pot
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.simulation.draws import uniform as _uniform
from reciprocal.simulation.stages import Live, advance, counted_balances, limited_accounts, tenancy_start

POLICIES = ("today", "fcfs", "engine", "engine_wait")
POLICY_LABELS = {"today": "today's practice", "fcfs": "first come, first served",
                 "engine": "engine", "engine_wait": "engine, waiting for every answer"}
Pairs = list[tuple[str, str]]


def _engine(ctx: MatchContext, requests, offers, start: Balances, banded: bool) -> Pairs:
    from matching.engine import solve_round
    result = solve_round(ctx.scheme, ctx.on, requests, offers, start.total, ctx.declined,
                         band_balances=start.by_band if banded else None)
    return [(p["request"], p["offer"]) for p in result.proposals]


def _by_hand(order: Callable) -> Callable:
    def match(ctx: MatchContext, requests, offers, start: Balances, banded: bool) -> Pairs:
        from matching.policies import compatible_offers
        if banded:
            raise ValueError("today's practice and first come, first served keep total debt limits "
                             "only; this scheme limits bands (fairness.band_max_debt)")
        return order(ctx, requests, offers, start.total, compatible_offers(ctx, requests, offers, start.total))
    return match


def matcher(policy: str) -> Callable:
    from matching.policies import first_come_first_served, first_offered
    if policy not in POLICIES:
        raise ValueError(f"unknown policy '{policy}' (known: {', '.join(POLICIES)})")
    return {"today": _by_hand(first_offered), "fcfs": _by_hand(first_come_first_served)}.get(policy, _engine)


@dataclass(frozen=True)
class Move:
    week: int
    request: str
    offer: str
    from_provider: str
    to_provider: str
    high_risk: bool
    weeks: float  # from referral to the tenancy's start
    for_household: bool  # through a home offered for this household


@dataclass
class Run:
    """One policy's year on one stream: what happened, for `figures` and the report's charts."""

    policy: str
    gives_count_from: str
    rounds: int = 0
    proposals: int = 0
    moves: list[Move] = field(default_factory=list)
    refused_by_household: int = 0
    refused_by_landlord: int = 0
    lapsed: dict[str, int] = field(default_factory=dict)  # by stage
    holds: int = 0
    stale: int = 0
    reviews: int = 0
    past_limit: list[int] = field(default_factory=list)  # homes past a limit, per member-week past one
    lowest_ledger_headroom: int = 0
    balances: list[list[int]] = field(default_factory=list)  # [week][member], the ledger after the week
    pot: Optional[Pot] = None
    still_waiting: int = 0
    live_at_end: int = 0
    proposed: list[tuple[date, Pairs]] = field(default_factory=list)  # each round's day and proposals

    def figures(self) -> dict:
        """Plain figures (None where there is nothing to measure), keys as `MEASURES`."""
        from reciprocal.simulation.ranges import median
        pot = self.pot
        weeks = [m.weeks for m in self.moves]
        return {
            "households_moved": len(self.moves),
            "high_risk_moved": sum(m.high_risk for m in self.moves),
            "median_weeks_to_tenancy": median(weeks),
            "median_weeks_high_risk": median([m.weeks for m in self.moves if m.high_risk]),
            "refusals": self.refused_by_household + self.refused_by_landlord,
            "refused_by_household": self.refused_by_household,
            "refused_by_landlord": self.refused_by_landlord,
            "lapses": sum(self.lapsed.values()),
            "homes_unused": pot.unused,
            "worst_homes_past_limit": max(self.past_limit, default=0),
            "member_weeks_past_limit": len(self.past_limit),
            "referrals": pot.referred,
            "circulated": len(pot.circulated),
            "homes_offered": pot.offered,
            "offered_for_households": pot.offered_for_households,
            "moves_for_households": sum(m.for_household for m in self.moves),
            "proposals": self.proposals,
            "rounds": self.rounds,
            "withdrawn": pot.withdrawn,
            "holds": self.holds, "stale": self.stale, "reviews": self.reviews,
            "still_waiting": self.still_waiting,
            "max_abs_balance": max((abs(b) for week in self.balances for b in week), default=0),
            "lowest_ledger_headroom": self.lowest_ledger_headroom,
            # Series for the report's charts (not in the tables):
            "moved_by_week": [sum(1 for m in self.moves if m.week <= w) for w in range(len(self.balances))],
            "waits": weeks,
        }


def run(scheme: Scheme, stream, policy: str, opening: dict[str, int] | None = None) -> Run:
    """`policy` over `stream` (drawn `Arrivals` or a stored year, `reciprocal.simulation.replay`)
    under the scheme's terms, rule 9 under its `gives_count_from`; `opening`: the ledger's
    balances before the first round (all zero if not given)."""
    match = matcher(policy)
    assumptions: Assumptions = stream.assumptions
    seed = stream.seed
    result = Run(policy, scheme.gives_count_from)
    pot = result.pot = Pot({p: (opening or {}).get(p, 0) for p in stream.providers})
    by_band: dict[str, dict[str, int]] = {}  # the ledger's band legs (only when bands are limited)
    accounts = limited_accounts(scheme, stream.providers)
    banded = len(accounts) > len(stream.providers)
    answering = Answering(assumptions)
    never_again: set[tuple[str, str]] = set()
    live: list[Live] = []
    refusals: dict[str, int] = {}  # household refusals per request, since its last review
    reconfirm_due: dict[str, date] = {}
    lifecycle = scheme.config.lifecycle

    def ended(item: Live, outcome: str, day: date) -> None:
        live.remove(item)
        pot.reserved_requests.discard(item.request.ref)
        pot.reserved_offers.discard(item.offer.ref)
        if outcome == "signed":
            sign(item, day)
            return
        never_again.add((item.request.ref, item.offer.ref))
        if outcome == "refuse_landlord":
            result.refused_by_landlord += 1
        elif outcome == "refuse_household":
            result.refused_by_household += 1
            ref = item.request.ref
            refusals[ref] = refusals.get(ref, 0) + 1
            if refusals[ref] >= lifecycle.reasonable_refusals > 0 and ref in pot.waiting:
                refusals[ref] = 0
                result.reviews += 1
                pot.paused[ref] = week + assumptions.review_weeks
        else:
            stage = outcome.split(":", 1)[1]
            result.lapsed[stage] = result.lapsed.get(stage, 0) + 1

    def sign(item: Live, day: date) -> None:
        request = pot.waiting.pop(item.request.ref)
        pot.offers.pop(item.offer.ref)
        band = scheme.band_of(item.offer.bedrooms) if banded else None
        for account, change in move_effect(request.provider, item.offer.provider, band).items():
            if account.band is None:
                pot.balances[account.provider] += change
            else:
                legs = by_band.setdefault(account.provider, {})
                legs[account.band] = legs.get(account.band, 0) + change
        result.lowest_ledger_headroom = min(result.lowest_ledger_headroom,
                                            pot.balances[request.provider] + scheme.max_debt(request.provider))
        start = tenancy_start(seed, assumptions, item, day)
        result.moves.append(Move(week, request.ref, item.offer.ref, request.provider, item.offer.provider,
                                 request.risk == Risk.high, round((start - request.referred_on).days / 7, 2),
                                 item.offer.for_request == request.ref))

    def waiting_changes(on: date) -> None:
        """Holds begin and end, reconfirmations fall due: households paused from the rounds."""
        for ref in [r for r, back in pot.paused.items() if back <= week]:
            del pot.paused[ref]
        for ref, request in pot.waiting.items():
            if ref in pot.reserved_requests or ref in pot.paused:
                continue
            if _uniform(seed, "hold", ref, week) < assumptions.hold_rate:
                result.holds += 1
                pot.paused[ref] = week + _whole(assumptions.hold_length, seed, "hold-length", ref, week)
                continue
            if lifecycle.reconfirm_days is None:
                continue
            due = reconfirm_due.setdefault(ref, _days(request.referred_on, lifecycle.reconfirm_days))
            if due <= on:
                fell = due
                while due <= on:  # one reconfirmation now, however many fell due since it arrived
                    due = _days(due, lifecycle.reconfirm_days)
                reconfirm_due[ref] = due
                if _uniform(seed, "reconfirm", ref, fell.isoformat()) < assumptions.late_reconfirm:
                    result.stale += 1
                    pot.paused[ref] = week + _whole(assumptions.stale_weeks, seed, "stale", ref, week)

    for week in range(stream.weeks):
        on = stream.round_day(week)
        advance(scheme, seed, assumptions, live, on, ended, getattr(stream, "answers", None))
        start = counted_balances(scheme, Balances(dict(pot.balances), by_band), live, banded)
        result.past_limit += [past for a in accounts
                              if (past := past_limit_by(start.get(a), scheme.debt_limit(a))) > 0]
        waiting_changes(on)
        stream.arrive(week, pot, answering)
        if policy != "engine_wait" or not live:
            _round(scheme, result, match, week, on, pot, live, never_again, start, accounts, banded)
        result.balances.append([pot.balances[p] for p in stream.providers])
    result.still_waiting = len(pot.waiting)
    result.live_at_end = len(live)
    return result


def _round(scheme: Scheme, result: Run, match: Callable, week: int, on: date, pot: Pot, live: list[Live],
           never_again: set, start: Balances, accounts: list, banded: bool) -> None:
    """One round on the free households and homes, checked before anything is proposed."""
    requests = pot.circulating()
    offers = [o for ref, o in pot.offers.items() if ref not in pot.reserved_offers]
    if not requests or not offers:
        return
    ctx = MatchContext(scheme, on, frozenset(never_again))
    pairs = match(ctx, requests, offers, start, banded)
    band_balances = start.by_band if banded else None
    broken = violations(ctx, requests, offers, start.total, pairs, band_balances)
    made = [(pot.waiting[r].provider, pot.offers[o].provider,
             scheme.band_of(pot.offers[o].bedrooms) if banded else None) for r, o in pairs]
    broken += [f"fairness_debt_limit: {a} placed past its limit (gives counted from {scheme.gives_count_from})"
               for a in limit_breaches({a: start.get(a) for a in accounts}, made, scheme.debt_limit,
                                       scheme.gives_count_from)]
    if broken:
        raise IntegrityError(f"policy {result.policy} proposed moves that break hard rules in week "
                             f"{week + 1}: " + "; ".join(broken[:5]))
    result.rounds += 1
    result.proposals += len(pairs)
    result.proposed.append((on, pairs))
    for r_ref, o_ref in pairs:
        live.append(Live(pot.waiting[r_ref], pot.offers[o_ref], ProposalStatus.proposed, on, on))
        pot.reserved_requests.add(r_ref)
        pot.reserved_offers.add(o_ref)


def _whole(span: tuple[int, int], *key) -> int:
    lo, hi = span
    return max(1, lo + int(_uniform(*key) * (hi - lo + 1)))


def _days(day: date, days: int) -> date:
    from datetime import timedelta
    return day + timedelta(days=days)
