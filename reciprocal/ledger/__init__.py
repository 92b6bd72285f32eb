"""The fairness ledger: append-only, double-entry, hash-chained.

Each move writes two legs: +1 to the provider that gave the home, -1 to the provider whose tenant
moved, in the move's bedroom band. Entries are never edited; a mistake is corrected by a reversing
entry (`correct`). Each entry's hash covers its sequence number, its content, the time it was
written and the previous entry's hash, so a change made behind the engine's back (an edited amount,
a deleted or reordered entry) breaks the chain; `reciprocal.audits.verify` finds the break.

What the ledger is read for (balances, entries, the days they take effect, `ledger show`'s summary)
is read with plain SQL from a `Reader` or a write session alike (anything with `rows`), so that a
read command loads no ORM (issue 24); only writing an entry uses it.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, NamedTuple

from reciprocal.domain import Balances
from reciprocal.errors import IntegrityError, NotFoundError, StateError
from reciprocal.storage.catalogue import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from reciprocal.storage import Database, LedgerEntryRow, MoveRow

GENESIS = "0" * 64
MOVE = "move"
CORRECTION = "correction"


def stamp(moment: datetime) -> str:
    """The form of a timestamp that is hashed: UTC to the microsecond, without an offset, so that
    the value written and the value read back (SQLite drops the offset) hash alike."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def entry_hash(prev_hash: str, *, seq: int, move_id: int | None, round_id: int | None, provider: str,
               amount: int, band: str, entry_kind: str, reason: str, created_at: datetime) -> str:
    """SHA-256 of the entry's content and its predecessor's hash (canonical JSON)."""
    payload = json.dumps({"seq": seq, "prev": prev_hash, "move": move_id, "round": round_id,
                          "provider": provider, "amount": amount, "band": band, "kind": entry_kind,
                          "reason": reason, "at": stamp(created_at)},
                         sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def hash_of(row: LedgerEntryRow, prev_hash: str | None = None) -> str:
    """The hash a stored entry should have, given its own prev_hash (or the one given)."""
    return entry_hash(row.prev_hash if prev_hash is None else prev_hash, seq=row.id,
                      move_id=row.move_id, round_id=row.round_id, provider=row.provider,
                      amount=row.amount, band=row.band, entry_kind=row.entry_kind,
                      reason=row.reason or "", created_at=row.created_at)


def _last(session: Session) -> LedgerEntryRow | None:
    from sqlmodel import select

    from reciprocal.storage import LedgerEntryRow
    # FOR UPDATE (ignored by SQLite, which already holds the write lock) makes two PostgreSQL
    # writers queue; if they still race, both pick the same sequence number and the primary key
    # refuses the second, so the chain can never fork.
    query = select(LedgerEntryRow).order_by(LedgerEntryRow.id.desc()).limit(1).with_for_update()
    return session.exec(query).first()


def _append(session: Session, *, move_id, round_id, provider, amount, band, entry_kind,
            reason) -> LedgerEntryRow:
    from reciprocal.storage import LedgerEntryRow
    last = _last(session)
    prev = last.hash if last else GENESIS
    # The sequence number is set here, not by the database, because it is part of the hash.
    seq = (last.id if last else 0) + 1
    created_at = utcnow()
    digest = entry_hash(prev, seq=seq, move_id=move_id, round_id=round_id, provider=provider,
                        amount=amount, band=band, entry_kind=entry_kind, reason=reason,
                        created_at=created_at)
    row = LedgerEntryRow(id=seq, move_id=move_id, round_id=round_id, provider=provider,
                         amount=amount, band=band, entry_kind=entry_kind, reason=reason,
                         created_at=created_at, prev_hash=prev, hash=digest)
    session.add(row)
    session.flush()  # stored before the next leg chains onto it
    return row


def record_move(session: Session, move: MoveRow) -> None:
    """Both legs of one move: credit the giving provider, debit the provider whose tenant moved."""
    _append(session, move_id=move.id, round_id=move.round_id, provider=move.to_provider, amount=+1,
            band=move.band, entry_kind=MOVE, reason="")
    _append(session, move_id=move.id, round_id=move.round_id, provider=move.from_provider, amount=-1,
            band=move.band, entry_kind=MOVE, reason="")


def legs_of(session: Session, move_id: int, entry_kind: str = MOVE) -> list[LedgerEntryRow]:
    from sqlmodel import select

    from reciprocal.storage import LedgerEntryRow
    return list(session.exec(select(LedgerEntryRow).where(LedgerEntryRow.move_id == move_id,
                                                          LedgerEntryRow.entry_kind == entry_kind)
                             .order_by(LedgerEntryRow.id)).all())


def correct_move(session: Session, move_id: int, reason: str) -> list[LedgerEntryRow]:
    """Reverse both ledger legs of one move, with a reason; returns the two correcting entries.

    A correction is about the ledger only: it takes the move out of the balances (given,
    received, by band), for instance when the board agrees a move should not count towards
    fairness. The move itself stays recorded, its offer stays `let` and its request `moved`,
    because the household did move; the move still counts in the quarterly report. A move can be
    corrected once: a second correction is refused (and the database refuses it too).
    """
    from reciprocal.storage import MoveRow
    reason = (reason or "").strip()
    if not reason:
        raise StateError("a correction needs a reason (--reason)")
    move = session.get(MoveRow, move_id)
    if move is None:
        raise NotFoundError(f"no move {move_id}")
    done = legs_of(session, move_id, CORRECTION)
    if done:
        ids = " and ".join(str(e.id) for e in done)
        raise StateError(f"move {move_id} was already corrected (ledger entries {ids}: "
                         f"{done[0].reason}); a move can be corrected once; nothing was written")
    legs = legs_of(session, move_id, MOVE)
    if len(legs) != 2 or sum(e.amount for e in legs) != 0:
        raise IntegrityError(f"move {move_id} has {len(legs)} ledger leg(s) that do not balance; "
                             f"run `reciprocal audit verify`; nothing was written")
    return [_append(session, move_id=move_id, round_id=leg.round_id, provider=leg.provider,
                    amount=-leg.amount, band=leg.band, entry_kind=CORRECTION, reason=reason[:500])
            for leg in legs]


def correct(db: Database, move_id: int, reason: str) -> dict:
    """`ledger correct`: reverse one move's legs in one transaction; see `correct_move`."""
    with db.transaction() as session:
        rows = correct_move(session, move_id, reason)
        return {"move": move_id, "reason": rows[0].reason,
                "entries": [{"id": r.id, "provider": r.provider, "amount": r.amount, "band": r.band}
                            for r in rows]}


def balances(source, providers: list[str] | None = None) -> Balances:
    """Every provider's balance, total and by band, from a `Reader` or a session."""
    out = Balances(total={p: 0 for p in providers or []})
    by_band: dict[str, dict[str, int]] = defaultdict(dict)
    for r in source.rows("SELECT provider, band, SUM(amount) AS amount FROM ledger_entry GROUP BY provider, band"):
        out.total[r["provider"]] = out.total.get(r["provider"], 0) + int(r["amount"])
        by_band[r["provider"]][r["band"]] = int(r["amount"])
    out.by_band = dict(by_band)
    return out


class Entry(NamedTuple):
    """A ledger entry as it is read (every column of `LedgerEntryRow`, by the same names)."""

    id: int
    move_id: int | None
    round_id: int | None
    provider: str
    amount: int
    band: str
    entry_kind: str
    reason: str
    created_at: datetime
    prev_hash: str
    hash: str


def given_received(entry: Entry) -> tuple[int, int]:
    """What one entry adds to its provider's (given, received) counts. A move's giving leg adds
    a home given; a correction of it takes one away; likewise for received. So given - received
    is always the sum of the amounts, corrections included."""
    if entry.entry_kind == CORRECTION:
        return -max(-entry.amount, 0), -max(entry.amount, 0)
    return max(entry.amount, 0), max(-entry.amount, 0)


def given_and_received(source) -> dict[str, tuple[int, int]]:
    """Per provider: homes given and tenants housed by others, net of corrections."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for entry in entries(source):
        g, r = given_received(entry)
        out[entry.provider][0] += g
        out[entry.provider][1] += r
    return {p: (g, r) for p, (g, r) in out.items()}


def entries(source) -> list[Entry]:
    """Every entry, in order, from a `Reader` or a session."""
    return [Entry(**r) for r in source.rows(f"SELECT {', '.join(Entry._fields)} FROM ledger_entry ORDER BY id")]


def effective_dates(source, rows: list[Entry] | None = None) -> dict[int, date]:
    """The day each entry takes effect: a move's legs on the day of the move; a correction on the
    day it was written, but never before the move it corrects. `rows`: the entries, when already read."""
    moved_on = {r["id"]: r["moved_on"] for r in source.rows("SELECT id, moved_on FROM move")}
    out = {}
    for e in entries(source) if rows is None else rows:
        day = e.created_at.date()
        move_day = moved_on.get(e.move_id)
        if e.entry_kind == MOVE and move_day is not None:
            day = move_day
        elif move_day is not None:
            day = max(day, move_day)
        out[e.id] = day
    return out


def summary(source, providers: dict) -> dict:
    """Balances per provider (total and by band) with given/received counts and max_debt, from a
    `Reader` or a session.

    `providers` maps provider id to its max_debt."""
    bal = balances(source, list(providers))
    counts = given_and_received(source)
    rows = []
    for provider in sorted(set(providers) | set(bal.total)):
        given, received = counts.get(provider, (0, 0))
        rows.append({"provider": provider, "given": given, "received": received,
                     "balance": bal.total.get(provider, 0), "by_band": bal.by_band.get(provider, {}),
                     "max_debt": providers.get(provider)})
    return {"providers": rows, "sum_of_balances": sum(bal.total.values())}
