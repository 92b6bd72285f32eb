"""Audits of the ledger: `verify` (is it what the engine wrote?), `fairness` (is give and take even?)
and the post-move checklist (what is outstanding?).

`verify` recomputes the hash chain and checks the invariants the engine keeps (SPEC sections 6-7):
every move has both legs, every correction reverses both legs of one move, no home is let twice
and no household moved twice, balances sum to zero. It names the first entry that fails.

A hash chain alone cannot show that the newest entries were cut off together with their moves,
or that someone who knows the (public) hash recipe rewrote the chain: `verify` prints the head
hash, and `--anchor HASH` with a head recorded by an earlier audit (in the board's minutes, say)
proves that nothing up to that point was removed or rewritten.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from sqlmodel import Session, select

from .config import Scheme
from .errors import InputFileError, NotFoundError, Problem
from .ledger import CORRECTION, GENESIS, MOVE, effective_dates, entries, given_received, hash_of
from .rounds import CHECKLIST
from .scope import check_viewer, checklist_item_for, fairness_for
from .storage import (ChecklistItemRow, Database, LedgerEntryRow, MoveRow, OfferRow, RequestRow,
                      RoundRow)

# -- verify ---------------------------------------------------------------------------------------

# Chain checks find where the ledger was changed; invariant checks find what it now breaks.
CHAIN_CHECKS = ("missing", "link", "hash")


@dataclass(frozen=True)
class Failure:
    """One thing `verify` found wrong: the check, the entry (or move) and what failed."""

    check: str
    message: str
    entry: int | None = None
    move: int | None = None

    @property
    def where(self) -> str:
        if self.entry is not None:
            return f"ledger entry {self.entry}"
        if self.move is not None:
            return f"move {self.move}"
        return "ledger"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def sort_key(self) -> tuple:
        position = self.entry if self.entry is not None else math.inf
        return (0 if self.check in CHAIN_CHECKS else 1, position, self.move or 0)


@dataclass
class Verification:
    entries: int
    moves: int
    corrections: int
    head: int | None
    head_hash: str
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def first(self) -> Failure | None:
        return min(self.failures, key=Failure.sort_key) if self.failures else None

    def as_dict(self) -> dict:
        first = self.first
        return {"ok": self.ok, "entries": self.entries, "moves": self.moves,
                "corrections": self.corrections, "head": self.head, "head_hash": self.head_hash,
                "first_failure": asdict(first) if first else None,
                "failures": [asdict(f) for f in sorted(self.failures, key=Failure.sort_key)]}


def verify_ledger(session: Session, anchor: str | None = None) -> Verification:
    rows = entries(session)
    moves = list(session.exec(select(MoveRow).order_by(MoveRow.id)).all())
    failures = _chain_failures(rows) + _leg_failures(rows, moves) + _move_failures(session, rows, moves)
    failures += _sum_failures(rows)
    if anchor is not None:
        failures += _anchor_failures(rows, anchor.strip().lower())
    head = rows[-1] if rows else None
    corrections = len({e.move_id for e in rows if e.entry_kind == CORRECTION})
    return Verification(len(rows), len(moves), corrections, head.id if head else None,
                        head.hash if head else GENESIS, failures)


def verify(db: Database, anchor: str | None = None) -> Verification:
    """`audit verify`: recompute the chain and the invariants (read only)."""
    if anchor is not None and len(anchor.strip()) < 12:
        raise InputFileError([Problem("--anchor", "give at least 12 characters of a head hash")],
                             "the anchor is too short to name one entry; nothing was checked")
    with db.reading() as session:
        return verify_ledger(session, anchor)


def _chain_failures(rows: list[LedgerEntryRow]) -> list[Failure]:
    out = []
    prev = None
    for row in rows:
        expected_id = prev.id + 1 if prev else 1
        expected_prev = prev.hash if prev else GENESIS
        if row.id != expected_id:
            gap = f"{expected_id}" if row.id == expected_id + 1 else f"{expected_id} to {row.id - 1}"
            after = f"follows entry {prev.id}" if prev else "is the first entry"
            out.append(Failure("missing", f"it {after}: entry {gap} is missing (deleted, or the "
                               f"entries were renumbered)", row.id))
        elif row.prev_hash != expected_prev:
            before = f"entry {prev.id}" if prev else "the start of the ledger"
            out.append(Failure("link", f"its prev_hash is not the hash of {before}: entries were "
                               f"reordered, or an earlier entry was rewritten", row.id))
        if hash_of(row) != row.hash:
            out.append(Failure("hash", "its hash does not match its content: the entry was changed "
                               "after it was written", row.id))
        prev = row
    return out


def _leg_failures(rows: list[LedgerEntryRow], moves: list[MoveRow]) -> list[Failure]:
    out = []
    by_move: dict[int | None, list[LedgerEntryRow]] = defaultdict(list)
    for row in rows:
        by_move[row.move_id].append(row)
    known = {m.id for m in moves}
    for move_id, legs in by_move.items():
        if move_id not in known:
            what = "belongs to no move" if move_id is None else f"names move {move_id}, which does not exist"
            out += [Failure("orphan", f"it {what}", e.id, move_id) for e in legs]
    for move in moves:
        legs = by_move.get(move.id, [])
        kept = [e for e in legs if e.entry_kind == MOVE]
        fixes = [e for e in legs if e.entry_kind == CORRECTION]
        odd = [e for e in legs if e.entry_kind not in (MOVE, CORRECTION)]
        out += [Failure("kind", f"unknown entry kind '{e.entry_kind}'", e.id, move.id) for e in odd]
        expected = {(move.to_provider, +1, move.band): "crediting",
                    (move.from_provider, -1, move.band): "debiting"}
        out += _pair_failures(move, kept, expected, "move")
        if fixes:
            reversed_ = {(p, -a, b): f"reversing the leg {side}" for (p, a, b), side in expected.items()}
            out += _pair_failures(move, fixes, reversed_, "correction")
            out += [Failure("correction", "a correction without a reason", e.id, move.id)
                    for e in fixes if not (e.reason or "").strip()]
    return out


def _pair_failures(move: MoveRow, legs: list[LedgerEntryRow], expected: dict, what: str) -> list[Failure]:
    """The two legs of a move (or of its correction) must be exactly the expected two."""
    if not legs:
        return [Failure("legs", f"it has no {what} legs in the ledger", None, move.id)]
    out = []
    matched = set()
    for e in legs:
        key = (e.provider, e.amount, e.band)
        if key in expected and key not in matched:
            matched.add(key)
            continue
        out.append(Failure("legs", f"it is not one of move {move.id}'s {what} legs ({e.provider} "
                           f"{e.amount:+d} in band '{e.band}'; the move is {move.from_provider} -> "
                           f"{move.to_provider}, band '{move.band}')", e.id, move.id))
    for key, side in expected.items():
        if key not in matched:
            present = ", ".join(str(e.id) for e in legs)
            out.append(Failure("legs", f"move {move.id} lacks its {what} leg {side} {key[0]} (it has "
                               f"entr{'y' if len(legs) == 1 else 'ies'} {present})",
                               min(e.id for e in legs), move.id))
    return out


def _move_failures(session: Session, rows: list[LedgerEntryRow], moves: list[MoveRow]) -> list[Failure]:
    """No home let twice, no household moved twice; each move's offer let and request moved."""
    out = []
    first_leg: dict[int, int] = {}
    for e in rows:
        first_leg.setdefault(e.move_id, e.id)
    for column, what in (("offer_ref", "offer {ref} is let twice"),
                         ("request_ref", "household {ref} moved twice")):
        seen: dict[str, MoveRow] = {}
        for move in moves:
            ref = getattr(move, column)
            if ref in seen:
                out.append(Failure("twice", what.format(ref=ref) + f": moves {seen[ref].id} and {move.id}",
                                   first_leg.get(move.id), move.id))
            else:
                seen[ref] = move
    offers = dict(session.exec(select(OfferRow.ref, OfferRow.status)).all())
    requests = dict(session.exec(select(RequestRow.ref, RequestRow.status)).all())
    for move in moves:
        if offers.get(move.offer_ref) != "let":
            out.append(Failure("status", f"its offer {move.offer_ref} is "
                               f"{offers.get(move.offer_ref) or 'missing'}, not let", None, move.id))
        if requests.get(move.request_ref) != "moved":
            out.append(Failure("status", f"its request {move.request_ref} is "
                               f"{requests.get(move.request_ref) or 'missing'}, not moved", None, move.id))
    return out


def _sum_failures(rows: list[LedgerEntryRow]) -> list[Failure]:
    total = sum(e.amount for e in rows)
    out = []
    if total != 0:
        out.append(Failure("sum", f"balances sum to {total:+d}, not 0"))
    by_band = Counter()
    for e in rows:
        by_band[e.band] += e.amount
    out += [Failure("sum", f"balances in band '{band}' sum to {n:+d}, not 0")
            for band, n in sorted(by_band.items()) if n]
    return out


def _anchor_failures(rows: list[LedgerEntryRow], anchor: str) -> list[Failure]:
    if any(e.hash.startswith(anchor) for e in rows):
        return []
    return [Failure("anchor", f"no entry has the anchored hash {anchor[:16]}...: entries recorded "
                    f"at that audit were removed or rewritten since")]


# -- fairness -------------------------------------------------------------------------------------

def gini_against(givings: dict[str, float], receivings: dict[str, float]) -> float:
    """Gini of givings against receivings: 0 when each provider's share of the homes given equals
    its share of the households received, 1 when the givers and the receivers are disjoint.

    Providers are ordered by given/received; the curve runs through the cumulative shares
    (received on x, given on y); Gini = 1 - 2 x the area under it (like the Lorenz curve, with
    receivings in place of population). Negative counts (a correction of an earlier period's move)
    count as zero."""
    keys = [p for p in set(givings) | set(receivings)
            if max(givings.get(p, 0), 0) or max(receivings.get(p, 0), 0)]
    g = {p: max(givings.get(p, 0), 0) for p in keys}
    r = {p: max(receivings.get(p, 0), 0) for p in keys}
    total_g, total_r = sum(g.values()), sum(r.values())
    if not total_g or not total_r:
        return 0.0 if not (total_g or total_r) else 1.0
    keys.sort(key=lambda p: (g[p] / r[p] if r[p] else math.inf, p))
    area = x = y = 0.0
    for p in keys:
        dx, dy = r[p] / total_r, g[p] / total_g
        area += dx * (y + y + dy) / 2
        x, y = x + dx, y + dy
    return round(max(0.0, 1 - 2 * area), 4)


def _weeks(days: list[int]) -> float | None:
    return round(statistics.median(days) / 7, 1) if days else None


def _period(session: Session, since: date | None, until: date | None, today: date) -> tuple[date, date]:
    """An open end of the period is the first (last) day anything happened in this database."""
    days = [d for d in session.exec(select(RoundRow.on)).all()]
    days += [d for d in session.exec(select(MoveRow.moved_on)).all()]
    days += [dt.date() for dt in session.exec(select(OfferRow.created_at)).all()]
    days += [dt.date() for dt in session.exec(select(LedgerEntryRow.created_at)).all()]
    start = since or min(days, default=today)
    end = until or max(days + [today, start])
    return start, end


def fairness_report(session: Session, scheme: Scheme, since: date | None = None,
                    until: date | None = None, today: date | None = None) -> dict:
    """The whole scheme's fairness audit over [since, until] (both inclusive); see docs/audits.md.

    Given and received follow the ledger (net of corrections, dated by `effective_dates`);
    `balance` is the position at the period's end; the debt limit is met when the lowest balance
    in the period (at the end of each day) is at least -max_debt. Moves, times to move and the
    moves between providers count the households that moved in the period."""
    today = today or date.today()
    since, until = _period(session, since, until, today)
    rows = entries(session)
    on = effective_dates(session)
    providers = sorted(set(scheme.providers) | {e.provider for e in rows})
    bands = [b.name for b in scheme.config.fairness.bands]

    given, received = Counter(), Counter()
    opening, closing = Counter(), Counter()
    by_band: dict[str, Counter] = defaultdict(Counter)
    daily: dict[date, Counter] = defaultdict(Counter)
    corrections = set()
    for e in rows:
        day = on[e.id]
        if day > until:
            continue
        closing[e.provider] += e.amount
        by_band[e.provider][e.band] += e.amount
        if day < since:
            opening[e.provider] += e.amount
            continue
        g, r = given_received(e)
        given[e.provider] += g
        received[e.provider] += r
        daily[day][e.provider] += e.amount
        if e.entry_kind == CORRECTION:
            corrections.add(e.move_id)

    days = sorted(daily)
    history = {p: [opening[p]] for p in providers}
    running = Counter(opening)
    lowest = {p: opening[p] for p in providers}
    for day in days:
        running.update(daily[day])
        for p in providers:
            history[p].append(running[p])
            lowest[p] = min(lowest[p], running[p])

    referred = dict(session.exec(select(RequestRow.ref, RequestRow.referred_on)).all())
    moves = [m for m in session.exec(select(MoveRow).order_by(MoveRow.id)).all()
             if since <= m.moved_on <= until]
    waits: dict[str, list[int]] = defaultdict(list)
    pairs = Counter()
    for m in moves:
        if m.request_ref in referred:
            waits[m.from_provider].append((m.moved_on - referred[m.request_ref]).days)
        pairs[(m.from_provider, m.to_provider)] += 1

    offered = session.exec(select(OfferRow.provider, OfferRow.created_at)).all()
    offers_made = Counter(p for p, created in offered if since <= created.date() <= until)
    outstanding = [i for i in _checklist_rows(session, outstanding_only=True)
                   if date.fromisoformat(i["moved_on"]) <= until]
    open_items = Counter(i["owner"] for i in outstanding)

    out_rows = []
    for p in providers:
        config = scheme.providers.get(p)
        max_debt = scheme.max_debt(p) if config else None
        expected = commitment = None
        if config and config.offer_commitment:
            commitment = config.offer_commitment.offers_per_year
            start, end = max(since, config.joined), min(until, config.left or until)
            active = max(0, (end - start).days + 1)
            expected = round(commitment * active / 365, 2)
        out_rows.append({
            "provider": p, "given": given[p], "received": received[p], "net": given[p] - received[p],
            "opening_balance": opening[p], "balance": closing[p],
            "balance_by_band": {b: by_band[p].get(b, 0)
                                for b in bands + sorted(set(by_band[p]) - set(bands))},
            "lowest_balance": lowest[p], "max_debt": max_debt,
            "debt_limit_ok": None if max_debt is None else lowest[p] >= -max_debt,
            "offers_made": offers_made[p], "offers_per_year": commitment, "offers_expected": expected,
            "offer_commitment_ok": None if expected is None else offers_made[p] >= math.floor(expected),
            "households_moved": len(waits[p]), "median_weeks_to_move": _weeks(waits[p]),
            "checklist_outstanding": open_items[p]})

    all_waits = [d for w in waits.values() for d in w]
    measures = {
        "moves": len(moves), "corrections": len(corrections),
        "sum_of_balances": sum(closing.values()),
        "max_abs_balance": max((abs(closing[p]) for p in providers), default=0),
        "gini_givings_vs_receivings": gini_against(dict(given), dict(received)),
        "median_weeks_to_move": _weeks(all_waits),
        "providers_beyond_debt_limit": [r["provider"] for r in out_rows if r["debt_limit_ok"] is False],
        "providers_short_of_offer_commitment": [r["provider"] for r in out_rows
                                                if r["offer_commitment_ok"] is False],
        "checklist_outstanding": len(outstanding)}
    return {
        "scheme": scheme.id, "scheme_name": scheme.name,
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "for_provider": None, "bands": bands, "providers": out_rows, "scheme_measures": measures,
        "moves_between": [{"from_provider": f, "to_provider": t, "moves": n}
                          for (f, t), n in sorted(pairs.items())],
        # Balances at the end of each day with an entry, after the opening one (the day before).
        "balance_history": {"dates": [(since - timedelta(days=1)).isoformat()]
                                     + [d.isoformat() for d in days],
                            "providers": history},
        "checklist_outstanding": outstanding,
        "notes": ["given and received count ledger legs net of corrections; balance is the "
                  "position at the end of the period",
                  "debt limit met: the lowest balance in the period, at the end of each day, is at "
                  "least -max_debt",
                  "offer commitment met: offers made (added to the pot) in the period at least "
                  "offers_per_year x days active / 365, rounded down",
                  "weeks to move: median, from the request's referred_on to the move, for "
                  "households of that provider that moved in the period"]}


def fairness(db: Database, scheme: Scheme, since: date | None = None, until: date | None = None,
             for_provider: str | None = None, today: date | None = None) -> dict:
    """`audit fairness`: the report, scoped to one provider when asked."""
    check_viewer(scheme, for_provider)
    if since and until and since > until:
        raise InputFileError([Problem("--since", f"{since} is after --until {until}")],
                             "the period is empty; nothing to audit")
    with db.reading() as session:
        report = fairness_report(session, scheme, since, until, today)
    return fairness_for(report, for_provider)


FAIRNESS_COLUMNS = ("provider", "given", "received", "net", "balance", "lowest_balance", "max_debt",
                    "debt_limit_ok", "offers_made", "offers_expected", "offer_commitment_ok",
                    "households_moved", "median_weeks_to_move", "checklist_outstanding")


def fairness_table(report: dict) -> tuple[list[str], list[list]]:
    """The per-provider rows as one flat table (bands as `balance <band>` columns), for CSV,
    Markdown and the terminal."""
    bands = report["bands"]
    columns = list(FAIRNESS_COLUMNS[:5]) + [f"balance {b}" for b in bands] + list(FAIRNESS_COLUMNS[5:])
    rows = []
    for r in report["providers"]:
        rows.append([r[c] for c in FAIRNESS_COLUMNS[:5]] + [r["balance_by_band"].get(b, 0) for b in bands]
                    + [r[c] for c in FAIRNESS_COLUMNS[5:]])
    return columns, rows


# -- the post-move checklist ----------------------------------------------------------------------

ITEMS = tuple(item for item, _ in CHECKLIST)


def _checklist_rows(session: Session, outstanding_only: bool = False) -> list[dict]:
    query = select(ChecklistItemRow, MoveRow).join(MoveRow, MoveRow.id == ChecklistItemRow.move_id)
    if outstanding_only:
        query = query.where(ChecklistItemRow.status == "outstanding")
    out = []
    for item, move in session.exec(query.order_by(ChecklistItemRow.move_id, ChecklistItemRow.id)).all():
        out.append({"move": move.id, "request": move.request_ref, "moved_on": move.moved_on.isoformat(),
                    "item": item.item, "owner": item.owner, "status": item.status,
                    "done_on": item.done_on.isoformat() if item.done_on else None})
    return out


def checklist(db: Database, scheme: Scheme, outstanding_only: bool = False,
              for_provider: str | None = None) -> list[dict]:
    """`move checklist`: every post-move checklist item (or the outstanding ones), scoped."""
    check_viewer(scheme, for_provider)
    with db.reading() as session:
        rows = _checklist_rows(session, outstanding_only)
    return [r for r in rows if checklist_item_for(r, for_provider) is not None]


def tick(db: Database, move_id: int, item: str, on: date) -> dict:
    """`move done`: mark one checklist item of a move done on a day (its owner is kept with it).
    Ticking a done item again changes nothing."""
    with db.transaction() as session:
        if session.get(MoveRow, move_id) is None:
            raise NotFoundError(f"no move {move_id}")
        row = session.exec(select(ChecklistItemRow).where(ChecklistItemRow.move_id == move_id,
                                                          ChecklistItemRow.item == item)).first()
        if row is None:
            raise NotFoundError(f"move {move_id} has no checklist item '{item}'; its items are "
                                f"{', '.join(ITEMS)}")
        already = row.status == "done"
        if not already:
            row.status, row.done_on = "done", on
            session.add(row)
        return {"move": move_id, "item": item, "owner": row.owner, "status": row.status,
                "done_on": row.done_on.isoformat() if row.done_on else None,
                "already_done": already}
