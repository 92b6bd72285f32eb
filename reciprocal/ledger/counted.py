"""Rule 9's counted balances replayed from the ledger and the proposal trail: the one place that
says where a member stands against its debt limit, since when it has been past it and why, and how
far past it would be if every counted give of its fell through (its exposure). `due`, packs,
`audit fairness`, the board list, a round's unmatched reasons and `audit verify` all read it here.

The counted balance (`reciprocal.domain.counted_effect`; `lifecycle.proposals.counted_balances`
reads today's) is the ledger plus every live proposal as the scheme counts it. Replayed, it is a
sum of steps, each with a day and a place in the order things happened:

- each trail event changes what its proposal counts: nothing before it is made; at a live stage,
  its placement, and its give from `fairness.gives_count_from` on; once signed, the whole move
  (its ledger legs are counted here, on the signing's day, and not again); nothing once it ended
  (refused, lapsed, cancelled). Its day is the event's `on`;
- a correction (any ledger entry that is not a signed move's leg) on the day the ledger dates it
  (`ledger.effective_dates`), in the trail's order at the moment it was written, never before a
  signing whose legs precede it in the ledger nor after one whose legs follow it;
- the legs of a move with no signing in the trail (written before the trail was kept), from the
  start.

`positions` reads the steps by day (balances at the end of each day up to the day asked about);
`batches` reads them in order, for `audit verify`: each batch of proposals made together (one
round's solve, or one re-offer: the events the engine wrote in one go), with the counted balances
just before it. Limits are today's configs, applied to the whole history.

`positions` replays once per state of the ledger and the trail in a process (`_memo_for`): `due`,
a pack for every member and `audit fairness` each asked for it two or three times (a national
scheme's replay reads some 13,000 proposals and their trail: seconds each time). `batches`
replays afresh: `audit verify` reads everything as it is stored now.

The replay reads plain SQL from a `Reader` or a write session alike (anything with `rows`): `due`
loads no ORM (issue 24), and a writer judging rule 9 reads the same rows inside its transaction.
"""
from __future__ import annotations

import bisect
import weakref
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone
from itertools import groupby
from typing import TYPE_CHECKING, Iterator, NamedTuple

from reciprocal.domain import (LIVE_PROPOSAL, Account, Balances, ProposalStatus, counted_effect, debt_headroom,
                               give_counted, move_effect, past_limit_by)
from reciprocal.ledger import MOVE, Entry, balances, effective_dates, entries

if TYPE_CHECKING:
    from reciprocal.config import Scheme

LIVE = frozenset(s.value for s in LIVE_PROPOSAL)
SIGNED = ProposalStatus.signed.value
ENDED_WORDS = {ProposalStatus.refused.value: "refused", ProposalStatus.lapsed.value: "lapsed",
               ProposalStatus.cancelled.value: "cancelled"}


def counted_balances(source, scheme: Scheme) -> Balances:
    """Rule 9's balances today (total and band): the ledger's, plus every live proposal as the
    scheme counts it (`reciprocal.domain.counted_effect`), from a `Reader` or a session. The same
    reading as `lifecycle.proposals.counted_balances`, in plain SQL, for `circulate` (no ORM);
    tests/store/test_reader.py holds the two equal."""
    rows = source.rows("SELECT p.from_provider, p.to_provider, p.status, o.bedrooms FROM proposal p "
                       "LEFT OUTER JOIN offer o ON o.ref = p.offer_ref WHERE p.status IN :live ORDER BY p.id",
                       {"live": sorted(LIVE)})
    effect = counted_effect(((r["from_provider"], r["to_provider"], scheme.band_of(r["bedrooms"] or 0), r["status"])
                             for r in rows), scheme.gives_count_from)
    return balances(source, list(scheme.providers)).after(effect)


def at_limit(balance: int, max_debt: int | None) -> bool:
    """Owes at least one home and has no headroom left under rule 9. A member with max_debt 0
    and an even balance is not counted: it owes nothing, so there is nothing to report."""
    return max_debt is not None and balance < 0 and debt_headroom(balance, max_debt) == 0


@dataclass(frozen=True)
class Cause:
    """What lowered a member's counted balance while it was past its limit: `text` for the member
    itself and the coordinator (it names the proposal or the move); `public` for other members,
    without another member's household details (who refused, which proposal)."""

    kind: str  # give_fell_through | correction | placement | move
    day: date
    text: str
    public: str
    proposal: int | None = None


@dataclass(frozen=True)
class Position:
    """One member's standing against rule 9 at the end of a day (or now)."""

    provider: str
    counted_balance: int
    max_debt: int | None  # None: not a member in the configs, so no limit applies
    past_limit_since: date | None  # the first day of its current run past its limit
    at_limit_since: date | None  # the first day of its current run at or past it (the board's)
    causes: tuple[Cause, ...] = ()
    counted_gives: int = 0  # live proposals giving one of its homes that the scheme counts now

    @property
    def past_limit_by(self) -> int:
        return 0 if self.max_debt is None else past_limit_by(self.counted_balance, self.max_debt)

    @property
    def exposure(self) -> int:
        """How far past its limit it would be if every counted live give of its fell through."""
        return 0 if self.max_debt is None else past_limit_by(self.counted_balance - self.counted_gives,
                                                             self.max_debt)

    def why(self, public: bool = False) -> str | None:
        """"past its limit by 1 since 2027-01-12: proposal 41, the home it was giving, refused by
        the household"; None when within its limit. `public`: as another member may read it."""
        if not self.past_limit_by:
            return None
        head = f"past its limit by {self.past_limit_by} since {self.past_limit_since.isoformat()}"
        # What took it past: a give that fell through, or a correction, when there is one; the
        # placements that were within the limit when made are named only when nothing else is.
        chosen = [c for c in self.causes if c.kind in ("give_fell_through", "correction")] or self.causes
        causes = list(dict.fromkeys(c.public if public else c.text for c in chosen))
        return head + (": " + "; ".join(causes) if causes else "")

    def to_json(self, public: bool = False) -> dict:
        return {"counted_balance": self.counted_balance, "past_limit_by": self.past_limit_by,
                "past_limit_since": self.past_limit_since and self.past_limit_since.isoformat(),
                "why_past_limit": self.why(public), "counted_gives": self.counted_gives,
                "exposure": self.exposure}


class TrailEvent(NamedTuple):
    """The columns of a trail event (`ProposalEventRow`) the replay reads: read as plain rows, not
    ORM objects (building one per event, with its JSON, was most of a national replay)."""

    id: int
    proposal_id: int | None
    from_status: str | None
    to_status: str
    on: date
    detail: dict
    created_at: datetime
    case_ref: str | None
    case_values: dict | None


class ProposalFacts(NamedTuple):
    """The columns of a proposal (`ProposalRow`) the replay reads (not its explanation)."""

    id: int
    offer_ref: str
    from_provider: str
    to_provider: str
    refused_by: str | None


@dataclass(frozen=True)
class _Step:
    day: date
    moment: tuple  # its place in the order things happened
    effect: dict[Account, int]
    event: TrailEvent | None = None
    proposal: ProposalFacts | None = None
    entry: Entry | None = None
    band: str | None = None  # a proposal event's: the band its home had at that moment


@dataclass
class _Replay:
    steps: list[_Step]
    band: dict[int, str]  # proposal id -> the band its move counts in


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _counts(p: ProposalFacts, band: str, stage: str | None, gives_count_from: str) -> Counter:
    """What proposal `p` counts at `stage` (None: before it was made)."""
    if stage in LIVE:
        return counted_effect([(p.from_provider, p.to_provider, band, stage)], gives_count_from)
    if stage == SIGNED:
        return move_effect(p.from_provider, p.to_provider, band)
    return Counter()


def _heads(source) -> tuple:
    """The newest record of the trail and of the ledger (id and hash): each chain's head hash
    covers every record before it, and nothing the replay reads changes without a record added
    to one of them (a home's bedrooms change with an update event; a proposal's stage, refusal
    and move with a trail event; a correction is a ledger entry)."""
    trail = source.rows("SELECT id, hash FROM proposal_event ORDER BY id DESC LIMIT 1")
    ledger = source.rows("SELECT id, hash FROM ledger_entry ORDER BY id DESC LIMIT 1")
    return tuple(trail[0].values()) if trail else (), tuple(ledger[0].values()) if ledger else ()


@dataclass
class _Memo:
    """The last replay made, for the database (a session's engine, or a `Reader`) and the scheme it
    was made with, at the heads it was made at; and the positions read from it, by day."""

    engine: weakref.ref
    scheme: weakref.ref
    heads: tuple
    replay: _Replay
    positions: dict


_memo: _Memo | None = None


def _memo_for(source, scheme: Scheme) -> _Memo:
    """The replay for the database `source` reads (a session or a `Reader`) and `scheme`, made
    once per state of the ledger and the trail (see `_heads`) and shared by every reader in the
    process."""
    global _memo
    engine = source.get_bind() if hasattr(source, "get_bind") else source.identity
    heads = _heads(source)
    memo = _memo
    if memo is None or memo.engine() is not engine or memo.scheme() is not scheme or memo.heads != heads:
        memo = _memo = _Memo(weakref.ref(engine), weakref.ref(scheme), heads, _replay(source, scheme), {})
    return memo


class _Move(NamedTuple):
    id: int
    band: str


def _replay(source, scheme: Scheme) -> _Replay:
    rule = scheme.gives_count_from
    props = {p["id"]: ProposalFacts(**p) for p in source.rows(
        f"SELECT {', '.join(ProposalFacts._fields)} FROM proposal")}
    events = [TrailEvent(**e) for e in source.rows(
        "SELECT " + ", ".join(f'"{c}"' for c in TrailEvent._fields) + " FROM proposal_event ORDER BY id")]
    move_of = {m["proposal_id"]: _Move(m["id"], m["band"]) for m in source.rows("SELECT id, proposal_id, band FROM move")}
    bedrooms = {o["ref"]: o["bedrooms"] for o in source.rows("SELECT ref, bedrooms FROM offer")}
    # A home's bedrooms (so its band) may be updated while a proposal for it is live (`offer
    # update`): each proposal counts in the band its home had at each moment. The homes' bedrooms
    # before their first update are read off the updates' kept values (today's where none).
    updates = [e for e in events if e.proposal_id is None and (e.case_ref or "").startswith("offer:")
               and "bedrooms" in ((e.case_values or {}).get("after") or {})]
    update_ids = {e.id for e in updates}
    for e in reversed(updates):
        before = ((e.case_values or {}).get("before") or {}).get("bedrooms")
        if before is not None:
            bedrooms[e.case_ref.split(":", 1)[1]] = before
    band = {pid: scheme.band_of(bedrooms.get(p.offer_ref, 0)) for pid, p in props.items()}
    of_offer: dict[str, list[int]] = {}
    for pid, p in props.items():
        of_offer.setdefault(p.offer_ref, []).append(pid)
    steps: list[_Step] = []
    stage: dict[int, str] = {}
    signing: dict[int, int] = {}  # move id -> its signing event
    for e in events:
        if e.id in update_ids:
            ref = e.case_ref.split(":", 1)[1]
            new_band = scheme.band_of(e.case_values["after"]["bedrooms"])
            effect: Counter = Counter()
            for pid in of_offer.get(ref, []):
                if stage.get(pid) in LIVE and band[pid] != new_band:
                    effect.subtract(_counts(props[pid], band[pid], stage[pid], rule))
                    effect.update(_counts(props[pid], new_band, stage[pid], rule))
                band[pid] = new_band
            if any(effect.values()):
                steps.append(_Step(e.on, (e.id, 0, 0), {a: n for a, n in effect.items() if n}))
            continue
        p = props.get(e.proposal_id)
        if p is None:
            continue
        if e.to_status == SIGNED and p.id in move_of:
            band[p.id] = move_of[p.id].band  # the move's band, as the ledger wrote it
        effect = _counts(p, band[p.id], e.to_status, rule)
        effect.subtract(_counts(p, band[p.id], stage.get(p.id), rule))
        stage[p.id] = e.to_status
        if e.to_status == SIGNED and p.id in move_of:
            signing[move_of[p.id].id] = e.id
        steps.append(_Step(e.on, (e.id, 0, 0), {a: n for a, n in effect.items() if n}, e, p, band=band[p.id]))
    rows = entries(source)
    day_of = effective_dates(source, rows)
    signed_legs = [(r.id, signing[r.move_id]) for r in rows if r.entry_kind == MOVE and r.move_id in signing]
    leg_ids = [leg for leg, _ in signed_legs]
    before = [0]  # the latest signing among the legs up to each one
    for _, event in signed_legs:
        before.append(max(before[-1], event))
    after = [events[-1].id + 1 if events else 1]  # the earliest signing among the legs from each one on
    for _, event in reversed(signed_legs):
        after.append(min(after[-1], event))
    after.reverse()
    times = [_naive(e.created_at) for e in events]
    for r in rows:
        if r.entry_kind == MOVE and r.move_id in signing:
            continue  # counted by its signing
        effect = {Account(r.provider): r.amount, Account(r.provider, r.band): r.amount}
        if r.entry_kind == MOVE:
            moment = (0, 1, r.id)
        else:
            k = bisect.bisect_left(leg_ids, r.id)
            written = bisect.bisect_right(times, _naive(r.created_at))
            at = events[written - 1].id if written else 0
            moment = (max(before[k], min(at, after[k] - 1)), 1, r.id)
        steps.append(_Step(day_of[r.id], moment, effect, entry=r))
    return _Replay(steps, band)


def _cause(step: _Step, provider: str, rule: str, previous: str | None) -> Cause | None:
    """Why `step` lowered `provider`'s counted balance, in words (`previous`: the proposal's stage
    before the step)."""
    p, e, r = step.proposal, step.event, step.entry
    if e is not None and e.to_status in ENDED_WORDS and p.to_provider == provider \
            and previous in LIVE and give_counted(previous, rule):
        detail = e.detail or {}
        if e.to_status == ProposalStatus.refused.value:
            how = f"refused by the {str(detail.get('by') or p.refused_by or 'household').replace('_', ' ')}"
        elif e.to_status == ProposalStatus.lapsed.value:
            how = f"lapsed at stage {detail.get('stage', previous)} with no answer"
        else:
            how = "cancelled (the home or the household left the pot)"
        return Cause("give_fell_through", step.day, f"proposal {p.id}, the home it was giving, {how}",
                     "a home it was giving fell through", p.id)
    if e is not None and e.from_status is None and p.from_provider == provider:
        return Cause("placement", step.day, f"proposal {p.id} placed one of its tenants",
                     "one of its tenants was placed", p.id)
    if r is not None and r.entry_kind != MOVE:
        return Cause("correction", step.day, f"move {r.move_id}, a home it gave, was corrected "
                     f"({r.reason})", "a move of its was corrected")
    if r is not None:
        return Cause("move", step.day, f"move {r.move_id}", "a move of its")
    return None


def positions(source, scheme: Scheme, on: date | None = None) -> dict[str, Position]:
    """Every member's (and any other ledger provider's) position at the end of day `on` (None:
    now, every step counted): its counted balance, since when it has been past (and at) its
    limit and why, its counted live gives and so its exposure."""
    memo = _memo_for(source, scheme)
    if on not in memo.positions:
        memo.positions[on] = _positions(memo.replay, scheme, on)
    return dict(memo.positions[on])


def _positions(replay: _Replay, scheme: Scheme, on: date | None) -> dict[str, Position]:
    rule = scheme.gives_count_from
    chosen = [s for s in replay.steps if on is None or s.day <= on]
    chosen.sort(key=lambda s: (s.day, s.moment))
    balance: Counter = Counter()
    stage: dict[int, str] = {}
    live_gives: dict[int, str] = {}  # proposal id -> its provider giving a home, while counted
    past: dict[str, date] = {}
    at: dict[str, date] = {}
    causes: dict[str, list[Cause]] = {}
    providers = set(scheme.providers)
    for day, group in groupby(chosen, key=lambda s: s.day):
        lowered: dict[str, list[Cause]] = {}
        touched: set[str] = set()
        for step in group:
            balance.update(step.effect)
            touched |= {a.provider for a in step.effect if a.band is None}
            previous = None
            if step.event is not None:
                pid = step.proposal.id
                previous, stage[pid] = stage.get(pid), step.event.to_status
                if stage[pid] in LIVE and give_counted(stage[pid], rule):
                    live_gives[pid] = step.proposal.to_provider
                else:
                    live_gives.pop(pid, None)
            for account, change in step.effect.items():
                if account.band is None and change < 0:
                    cause = _cause(step, account.provider, rule, previous)
                    if cause is not None:
                        lowered.setdefault(account.provider, []).append(cause)
        providers |= touched
        for provider in touched:
            limit = scheme.max_debt(provider) if provider in scheme.providers else None
            counted = balance[Account(provider)]
            if limit is not None and past_limit_by(counted, limit):
                if provider not in past:
                    past[provider], causes[provider] = day, []
                causes[provider] += lowered.get(provider, [])
            else:
                past.pop(provider, None)
                causes.pop(provider, None)
            if at_limit(counted, limit):
                at.setdefault(provider, day)
            else:
                at.pop(provider, None)
    gives = Counter(live_gives.values())
    out = {}
    for p in sorted(providers):
        limit = scheme.max_debt(p) if p in scheme.providers else None
        out[p] = Position(p, balance[Account(p)], limit, past.get(p), at.get(p), tuple(causes.get(p, [])),
                          gives[p])
    return out


@dataclass(frozen=True)
class Batch:
    """Proposals made together (one round's solve, or one re-offer), with the counted balances
    (totals and bands) just before them: what rule 9 was judged on when they were made."""

    start: dict[Account, int]
    events: list[TrailEvent]
    proposals: list[ProposalFacts]
    made: list[tuple[str, str, str]]  # (from_provider, to_provider, band) of each, in order


def batches(source, scheme: Scheme) -> Iterator[Batch]:
    """Every batch of proposals made, in the order they were made (see the module docstring).
    Replayed afresh, not from the memo: `audit verify` reads everything as it is stored now."""
    replay = _replay(source, scheme)
    balance: Counter = Counter()
    current: Batch | None = None
    key = None
    for step in sorted(replay.steps, key=lambda s: s.moment):
        e = step.event
        made = e is not None and e.from_status is None and e.to_status == ProposalStatus.proposed.value
        this = (_naive(e.created_at), (e.detail or {}).get("round")) if made else None
        if current is not None and (not made or this != key):
            yield current
            current = None
        if made and current is None:
            current, key = Batch(dict(balance), [], [], []), this
        if made:
            p = step.proposal
            current.events.append(e)
            current.proposals.append(p)
            current.made.append((p.from_provider, p.to_provider, step.band))
        balance.update(step.effect)
    if current is not None:
        yield current
