"""The fairness ledger: append-only, double-entry, hash-chained.

Each move writes two legs: +1 to the provider that gave the home, -1 to the provider whose tenant
moved, in the move's bedroom band. Entries are never edited; a mistake is corrected by a reversing
entry. Each entry's hash covers its content and the previous entry's hash, so a change made behind
the engine's back breaks the chain.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict

from sqlmodel import Session, func, select

from .domain import Balances
from .storage import LedgerEntryRow, MoveRow

GENESIS = "0" * 64


def entry_hash(prev_hash: str, *, move_id: int | None, round_id: int | None, provider: str,
               amount: int, band: str, entry_kind: str, reason: str) -> str:
    payload = json.dumps({"prev": prev_hash, "move": move_id, "round": round_id, "provider": provider,
                          "amount": amount, "band": band, "kind": entry_kind, "reason": reason},
                         sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _last_hash(session: Session) -> str:
    row = session.exec(select(LedgerEntryRow).order_by(LedgerEntryRow.id.desc()).limit(1)).first()
    return row.hash if row else GENESIS


def _append(session: Session, *, move_id, round_id, provider, amount, band, entry_kind, reason):
    prev = _last_hash(session)
    digest = entry_hash(prev, move_id=move_id, round_id=round_id, provider=provider, amount=amount,
                        band=band, entry_kind=entry_kind, reason=reason)
    row = LedgerEntryRow(move_id=move_id, round_id=round_id, provider=provider, amount=amount,
                         band=band, entry_kind=entry_kind, reason=reason, prev_hash=prev, hash=digest)
    session.add(row)
    session.flush()  # give the row its sequence number before the next leg chains onto it
    return row


def record_move(session: Session, move: MoveRow) -> None:
    """Both legs of one move: credit the giving provider, debit the provider whose tenant moved."""
    _append(session, move_id=move.id, round_id=move.round_id, provider=move.to_provider, amount=+1,
            band=move.band, entry_kind="move", reason="")
    _append(session, move_id=move.id, round_id=move.round_id, provider=move.from_provider, amount=-1,
            band=move.band, entry_kind="move", reason="")


def balances(session: Session, providers: list[str] | None = None) -> Balances:
    out = Balances(total={p: 0 for p in providers or []})
    by_band: dict[str, dict[str, int]] = defaultdict(dict)
    query = select(LedgerEntryRow.provider, LedgerEntryRow.band, func.sum(LedgerEntryRow.amount)).group_by(
        LedgerEntryRow.provider, LedgerEntryRow.band)
    for provider, band, amount in session.exec(query).all():
        out.total[provider] = out.total.get(provider, 0) + int(amount)
        by_band[provider][band] = int(amount)
    out.by_band = dict(by_band)
    return out


def given_and_received(session: Session) -> dict[str, tuple[int, int]]:
    """Per provider: homes given and tenants housed by others, counting moves."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for move in session.exec(select(MoveRow)).all():
        out[move.to_provider][0] += 1
        out[move.from_provider][1] += 1
    return {p: (g, r) for p, (g, r) in out.items()}


def entries(session: Session) -> list[LedgerEntryRow]:
    return list(session.exec(select(LedgerEntryRow).order_by(LedgerEntryRow.id)).all())


def summary(session: Session, providers: dict) -> dict:
    """Balances per provider (total and by band) with given/received counts and max_debt.

    `providers` maps provider id to its max_debt."""
    bal = balances(session, list(providers))
    counts = given_and_received(session)
    rows = []
    for provider in sorted(set(providers) | set(bal.total)):
        given, received = counts.get(provider, (0, 0))
        rows.append({"provider": provider, "given": given, "received": received,
                     "balance": bal.total.get(provider, 0), "by_band": bal.by_band.get(provider, {}),
                     "max_debt": providers.get(provider)})
    return {"providers": rows, "sum_of_balances": sum(bal.total.values())}
