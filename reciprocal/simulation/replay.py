"""A scheme's own stored year, replayed week by week under each debt rule, writing nothing.

`stored_year` reads, in one reading session that never commits, the requests and offers stored
in the scheme's database with their real dates, and the ledger's balances before `since`:

- a household arrives on the earliest of the day it was stored and the first stored round whose
  pot held it (never before its `referred_on`); one still `referred` (never approved by its
  landlord) or purged never arrives;
- a home arrives on the earliest of the day it was stored and the first stored round whose pot
  held it; it leaves after its `available_until`, or on the day it was withdrawn or let outside
  the scheme;
- a household that closed other than by moving through the scheme (another route, no longer
  needs to move, lost contact, withdrawn) leaves on the day it closed. What the scheme really did
  with a household or a home (its proposals and moves) is not replayed: that is what each policy
  decides again. Holds and reconfirmation are not replayed either.

`replay` then runs every column of `reciprocal.simulation.compare` (today's practice,
first-come-first-served rounds, the engine under each choice of `fairness.gives_count_from`) on
that stream through the one weekly process (`reciprocal.simulation.process.run`), with answer
times, refusals and lapses as the trail has them for every pair the scheme really proposed (the
same working days from each stage's start, the same refusal or lapse), drawn from `Assumptions`
per seed for every other pair, over seeds 1..`seeds`: the arrivals never differ between seeds. Homes members offered for a household are stored with it
(`for_request`), so members' answers to circulation are the real ones (no home is kept back by
assumption). The stored year stands in for the drawn `Arrivals`: it has the same `arrive` and
`round_day`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable, Optional

from sqlmodel import select

from reciprocal.config import Scheme
from reciprocal.domain import NEXT_STAGE, Offer, OfferStatus, ProposalStatus, RefusedBy, Request, RequestStatus
from reciprocal.simulation.arrivals import Pot, Rates
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.storage import (Database, LedgerEntryRow, MoveRow, OfferRow, ProposalEventRow, ProposalRow,
                                RequestRow, RoundRow, offer_from_row, request_from_row)
from reciprocal.working_days import working_days_between

GONE = (OfferStatus.withdrawn.value, OfferStatus.let_outside_scheme.value)
NEXT_STAGE_VALUES = {a.value: b.value for a, b in NEXT_STAGE.items()}


@dataclass
class StoredYear:
    """The stored requests and offers by replay week, with the days they leave the pot."""

    scheme: Scheme
    since: date
    weeks: int
    providers: list[str]
    requests: list[list[Request]]  # by the week they arrive
    offers: list[list[Offer]]
    request_leaves: dict[str, date]  # closed outside the scheme that day
    offer_leaves: dict[str, date]  # no longer available after that day
    opening: dict[str, int]  # the ledger's balances before `since`
    left_out: dict[str, int]  # households and homes not replayed (still referred, purged, ended before), by why
    rates: Rates = field(default_factory=lambda: Rates(0, 0, basis="the scheme's stored year"))
    seed: int = 1  # draws the answer times only: the arrivals are the stored ones
    # Members' answers to circulation are stored (homes offered for a household): none kept back.
    # Holds and reconfirmations are not replayed, and none is drawn.
    assumptions: Assumptions = field(default_factory=lambda: Assumptions(answer_share=0.0, hold_rate=0.0,
                                                                         late_reconfirm=0.0))
    # The trail's real answers: (request, offer, stage) -> (outcome, working days from the stage's
    # start), for every pair the scheme really proposed (`stages.next_step` uses them first).
    answers: dict = field(default_factory=dict)

    def round_day(self, week: int) -> date:
        return self.since + timedelta(days=7 * week)

    def arrive(self, week: int, pot: Pot, answering=None) -> None:
        """The week's stored arrivals into the waiting list (each circulated) and the pot;
        households closed and homes gone by this round leave, unless a live proposal holds them."""
        on = self.round_day(week)
        for r in self.requests[week]:
            pot.referred += 1
            pot.waiting[r.ref] = r
            pot.circulated.add(r.ref)
        for o in self.offers[week]:
            pot.add(o, self.weeks + 1)
        pot.leave([ref for ref in pot.waiting if ref in self.request_leaves and self.request_leaves[ref] <= on],
                  [ref for ref in pot.offers if ref in self.offer_leaves and self.offer_leaves[ref] < on])


def _week(since: date, weeks: int, day: date) -> Optional[int]:
    """The replay week whose round first sees something that arrived on `day` (None: after the last)."""
    week = max(0, -(-(day - since).days // 7))
    return week if week < weeks else None


def _real_answers(proposals: list, events: list) -> dict:
    """Each stored proposal's answers, stage by stage: (request, offer, stage) -> (outcome, working
    days from the stage's start). A stage moved on ("next"), refused (by the household, or by a
    landlord) or lapsed; one cancelled or still live has no answer here (it is drawn)."""
    by_id = {p.id: p for p in proposals}
    started: dict[int, date] = {}
    answers = {}
    for e in events:
        p = by_id.get(e.proposal_id)
        if p is None:
            continue
        if e.from_status is None:
            started[p.id] = e.on
            continue
        if p.id not in started or e.from_status not in NEXT_STAGE_VALUES:
            continue
        days = working_days_between(started[p.id], e.on)
        if e.to_status == NEXT_STAGE_VALUES[e.from_status]:
            outcome = "next"
        elif e.to_status == ProposalStatus.refused.value:
            outcome = "refuse_household" if p.refused_by == RefusedBy.household.value else "refuse_landlord"
        elif e.to_status == ProposalStatus.lapsed.value:
            outcome = "lapse"
        else:
            continue
        answers[(p.request_ref, p.offer_ref, e.from_status)] = (outcome, days)
        started[p.id] = e.on
    return answers


def stored_days(db: Database) -> Optional[tuple[date, date]]:
    """The first and last stored rounds' days (None: no round is stored)."""
    with db.reading() as session:
        days = [r.on for r in session.exec(select(RoundRow))]
    return (min(days), max(days)) if days else None


def stored_year(db: Database, scheme: Scheme, since: date, until: date) -> StoredYear:
    """The stored stream between `since` and `until` (rounds on `since` and every 7 days after,
    up to `until`); read only."""
    if until < since:
        raise ValueError(f"--until {until.isoformat()} is before --since {since.isoformat()}")
    weeks = (until - since).days // 7 + 1
    with db.reading() as session:
        first_in_pot: dict[str, date] = {}
        for rnd in session.exec(select(RoundRow).order_by(RoundRow.on, RoundRow.id)):
            for ref in (rnd.snapshot or {}).get("requests", []) + (rnd.snapshot or {}).get("offers", []):
                first_in_pot.setdefault(ref, rnd.on)
        request_rows = list(session.exec(select(RequestRow).order_by(RequestRow.id)))
        offer_rows = list(session.exec(select(OfferRow).order_by(OfferRow.id)))
        moves = list(session.exec(select(MoveRow)))
        moved_on = {m.id: m.moved_on for m in moves}
        answers = _real_answers(list(session.exec(select(ProposalRow))),
                                list(session.exec(select(ProposalEventRow).order_by(ProposalEventRow.id))))
        entries = list(session.exec(select(LedgerEntryRow)))
    providers = sorted(scheme.providers)
    opening = {p: 0 for p in providers}
    for e in entries:
        day = moved_on.get(e.move_id) if e.move_id is not None else e.created_at.date()
        if day is not None and day < since and e.provider in opening:
            opening[e.provider] += e.amount
    year = StoredYear(scheme, since, weeks, providers, [[] for _ in range(weeks)], [[] for _ in range(weeks)],
                      {}, {}, opening, {"still referred": 0, "purged": 0}, answers=answers)
    # Households and homes whose story ended before `since` (moved, let, closed, gone) are not in
    # the replay's pot: their moves are in the opening balances already.
    request_moved = {m.request_ref: m.moved_on for m in moves}
    offer_moved = {m.offer_ref: m.moved_on for m in moves}
    year.left_out.update({"moved or closed before the replay": 0, "let or gone before the replay": 0})
    for row in request_rows:
        if row.status == RequestStatus.referred.value or row.purged_on is not None:
            year.left_out["still referred" if row.purged_on is None else "purged"] += 1
            continue
        ended = request_moved.get(row.ref) or (row.closed_on if row.status == RequestStatus.closed.value else None)
        if ended is not None and ended < since:
            year.left_out["moved or closed before the replay"] += 1
            continue
        arrived = min(filter(None, (first_in_pot.get(row.ref), row.created_at.date())))
        week = _week(since, weeks, max(arrived, row.referred_on))
        if week is None:
            continue
        year.requests[week].append(dataclasses.replace(request_from_row(row), status=RequestStatus.active))
        if row.status == RequestStatus.closed.value and row.closed_on is not None:
            year.request_leaves[row.ref] = row.closed_on
    for row in offer_rows:
        let, gone = offer_moved.get(row.ref), row.closed_on if row.status in GONE else None
        if ((let is not None and let < since) or (gone is not None and gone <= since)
                or (row.available_until is not None and row.available_until < since)):
            year.left_out["let or gone before the replay"] += 1
            continue
        week = _week(since, weeks, min(filter(None, (first_in_pot.get(row.ref), row.created_at.date()))))
        if week is None:
            continue
        year.offers[week].append(dataclasses.replace(offer_from_row(row), status=OfferStatus.available))
        ends = [d for d in (row.available_until,
                            row.closed_on - timedelta(days=1) if row.status in GONE and row.closed_on else None) if d]
        if ends:
            year.offer_leaves[row.ref] = min(ends)
    return year


def replay(year: StoredYear, seeds: int = 1, progress: Optional[Callable[[str], None]] = None, cols=None):
    """The stored year under every column of `reciprocal.simulation.compare`, seeds 1..`seeds`
    (the answer times differ by seed; the arrivals never do): a `Replay`."""
    from reciprocal.simulation.compare import Comparison, columns

    cols = cols if cols is not None else columns(year.scheme)
    result = Comparison(year.scheme.id, year.scheme.name, "replay", year.weeks, seeds, year.rates,
                        year.assumptions, cols, {c.key: [] for c in cols}, providers=year.providers)
    for seed in range(1, seeds + 1):
        result.run_on(year.scheme, dataclasses.replace(year, seed=seed), seed, year.opening, progress)
    return Replay(result, year.since, year.round_day(year.weeks - 1), year.left_out, year.opening)


@dataclass
class Replay:
    """A replay's comparison and what the stored year was."""

    comparison: object  # `reciprocal.simulation.compare.Comparison`
    since: date
    until: date
    left_out: dict[str, int]
    opening: dict[str, int]

    def to_json(self) -> dict:
        return {**self.comparison.to_json(), "since": self.since.isoformat(), "until": self.until.isoformat(),
                "left_out": self.left_out, "opening_balances": self.opening}
