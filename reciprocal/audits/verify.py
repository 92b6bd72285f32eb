"""`audit verify`: is the ledger what the engine wrote?

It recomputes the hash chain and checks the invariants the engine keeps (docs/audits.md):
every move has both legs, every correction reverses both legs of one move, no home is let twice
and no household moved twice, balances sum to zero. It names the first entry that fails.

A hash chain alone cannot show that the newest entries were cut off together with their moves,
or that someone who knows the (public) hash recipe rewrote the chain: `verify` prints the head
hash, and `--anchor HASH` with a head recorded by an earlier audit (in the board's minutes, say)
proves that nothing up to that point was removed or rewritten.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from sqlmodel import Session, select

from reciprocal.config import Scheme
from reciprocal.domain import (LIVE_PROPOSAL, NEXT_STAGE, OfferStatus, ProposalStatus, RequestStatus,
                               limit_breaches)
from reciprocal.errors import InputFileError, Problem
from reciprocal.ledger import CORRECTION, GENESIS, MOVE, counted, entries, hash_of
from reciprocal.lifecycle import trail
from reciprocal.storage import Database, LedgerEntryRow, MoveRow, OfferRow, ProposalRow, RequestRow

# -- verify ---------------------------------------------------------------------------------------

# Chain checks find where the ledger was changed; invariant checks find what it now breaks.
CHAIN_CHECKS = ("missing", "link", "hash", "trail_missing", "trail_link", "trail_hash")

# The proposal stages a trail event may go between (docs/config.md, Lifecycle terms). A proposal is made `proposed`;
# a proposal carried over by migration 0003 is made in the stage it had.
ENDINGS = {ProposalStatus.refused.value, ProposalStatus.lapsed.value, ProposalStatus.cancelled.value}
ALLOWED = {stage.value: {NEXT_STAGE[stage].value} | ENDINGS for stage in LIVE_PROPOSAL}


@dataclass(frozen=True)
class Failure:
    """One thing `verify` found wrong: the check, the entry (or move) and what failed."""

    check: str
    message: str
    entry: int | None = None
    move: int | None = None
    event: int | None = None  # a proposal-trail event
    proposal: int | None = None

    @property
    def where(self) -> str:
        if self.entry is not None:
            return f"ledger entry {self.entry}"
        if self.move is not None:
            return f"move {self.move}"
        if self.event is not None:
            return f"proposal trail event {self.event}"
        if self.proposal is not None:
            return f"proposal {self.proposal}"
        return "ledger"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def sort_key(self) -> tuple:
        position = self.entry if self.entry is not None else math.inf
        return (0 if self.check in CHAIN_CHECKS else 1, position, self.move or 0, self.event or 0,
                self.proposal or 0)


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


def verify_ledger(session: Session, anchor: str | None = None, scheme: Scheme | None = None) -> Verification:
    rows = entries(session)
    moves = list(session.exec(select(MoveRow).order_by(MoveRow.id)).all())
    failures = _chain_failures(rows) + _leg_failures(rows, moves) + _move_failures(session, rows, moves)
    events = trail.events(session)
    failures += _sum_failures(rows) + _trail_failures(session, moves, events)
    failures += _move_fact_failures(session, moves, events)
    if scheme is not None:
        failures += _debt_limit_failures(session, scheme)
    if anchor is not None:
        failures += _anchor_failures(rows, anchor.strip().lower())
    head = rows[-1] if rows else None
    corrections = len({e.move_id for e in rows if e.entry_kind == CORRECTION})
    return Verification(len(rows), len(moves), corrections, head.id if head else None,
                        head.hash if head else GENESIS, failures)


def verify(db: Database, anchor: str | None = None, scheme: Scheme | None = None) -> Verification:
    """`audit verify`: recompute the chain and the invariants (read only); with the scheme, also
    that no proposal was made past its member's debt limit (`_debt_limit_failures`)."""
    if anchor is not None and len(anchor.strip()) < 12:
        raise InputFileError([Problem("--anchor", "give at least 12 characters of a head hash")],
                             "the anchor is too short to name one entry; nothing was checked")
    with db.reading() as session:
        return verify_ledger(session, anchor, scheme)


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
        if offers.get(move.offer_ref) != OfferStatus.let:
            out.append(Failure("status", f"its offer {move.offer_ref} is "
                               f"{offers.get(move.offer_ref) or 'missing'}, not let", None, move.id))
        if requests.get(move.request_ref) != RequestStatus.moved:
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


def _trail_failures(session: Session, moves: list[MoveRow], events: list) -> list[Failure]:
    """The proposal trail: its hash chain, only allowed changes of stage, each proposal's stage
    the one its trail ends in, no home or household in two live proposals, and every signed
    proposal with exactly one move (whose legs `_leg_failures` checks)."""
    out = []
    prev = None
    for row in events:
        expected_id = prev.id + 1 if prev else 1
        expected_prev = prev.hash if prev else GENESIS
        if row.id != expected_id:
            out.append(Failure("trail_missing", f"events {expected_id} to {row.id - 1} are missing",
                               event=row.id, proposal=row.proposal_id))
        if row.prev_hash != expected_prev:
            out.append(Failure("trail_link", "does not chain onto the event before it", event=row.id,
                               proposal=row.proposal_id))
        if trail.hash_of(row) != row.hash:
            out.append(Failure("trail_hash", "its content does not match its hash (changed after it was "
                               "written)", event=row.id, proposal=row.proposal_id))
        prev = row
    by_proposal: dict[int, list] = {}
    for row in events:
        by_proposal.setdefault(row.proposal_id, []).append(row)
    proposals = list(session.exec(select(ProposalRow).order_by(ProposalRow.id)).all())
    live = {s.value for s in LIVE_PROPOSAL}
    for p in proposals:
        steps = by_proposal.get(p.id, [])
        if not steps:
            out.append(Failure("trail", f"is {p.status} with no trail", proposal=p.id))
            continue
        first = steps[0]
        migrated = (first.detail or {}).get("migrated") is not None
        if first.from_status is not None or (first.to_status != "proposed" and not migrated):
            out.append(Failure("trail", f"was made {first.to_status}, not proposed", event=first.id,
                               proposal=p.id))
        for before, after in zip(steps, steps[1:]):
            if after.from_status != before.to_status:
                out.append(Failure("trail", f"left {after.from_status} but was {before.to_status}",
                                   event=after.id, proposal=p.id))
            elif after.to_status not in ALLOWED.get(after.from_status, set()):
                out.append(Failure("trail", f"went {after.from_status} -> {after.to_status}, which no "
                                   f"command does", event=after.id, proposal=p.id))
        if steps[-1].to_status != p.status:
            out.append(Failure("trail", f"is {p.status} but its trail ends {steps[-1].to_status}",
                               event=steps[-1].id, proposal=p.id))
    for column in ("offer_ref", "request_ref"):
        seen: dict[str, int] = {}
        for p in proposals:
            if p.status in live:
                ref = getattr(p, column)
                if ref in seen:
                    what = "home" if column == "offer_ref" else "household"
                    out.append(Failure("reserved", f"{what} {ref} is in two live proposals ({seen[ref]} and "
                                       f"{p.id})", proposal=p.id))
                seen.setdefault(ref, p.id)
    move_of: dict[int, list[int]] = {}
    for m in moves:
        move_of.setdefault(m.proposal_id, []).append(m.id)
    for p in proposals:
        made = move_of.get(p.id, [])
        if p.status == "signed" and len(made) != 1:
            out.append(Failure("signed", f"is signed with {len(made)} move(s)", proposal=p.id))
        if p.status != "signed" and made:
            out.append(Failure("signed", f"is {p.status} but has move(s) {made}", proposal=p.id))
    return out


# A move's facts as the chained signing event records them (`proposals.move_facts`), by the move
# row's column. Events written before the facts were recorded hold only the day and the move id.
FACTS = {"move": "id", "tenancy_start": "moved_on", "request": "request_ref", "offer": "offer_ref",
         "from_provider": "from_provider", "to_provider": "to_provider", "band": "band"}


def _move_fact_failures(session: Session, moves: list[MoveRow], events: list) -> list[Failure]:
    """Move rows are not chained themselves; each is held to what is: the signing event of its
    proposal (the home, the household, both landlords, the band, the day), and to the rows it
    names (the proposal's pair, the home's landlord, the household's landlord)."""
    signed: dict[int, object] = {}
    for event in events:
        if event.to_status == ProposalStatus.signed.value:
            signed[event.proposal_id] = event
    proposals = {p.id: p for p in session.exec(select(ProposalRow)).all()}
    offer_owner = dict(session.exec(select(OfferRow.ref, OfferRow.provider)).all())
    request_owner = dict(session.exec(select(RequestRow.ref, RequestRow.provider)).all())
    out = []
    for move in moves:
        event = signed.get(move.proposal_id)
        detail = (event.detail or {}) if event is not None else {}
        for key, column in FACTS.items():
            if key not in detail:
                continue
            value = getattr(move, column)
            value = value.isoformat() if hasattr(value, "isoformat") else value
            if detail[key] != value:
                out.append(Failure("move", f"its {column} is {value}, but its signing (trail event "
                                   f"{event.id}, chained) recorded {detail[key]}", move=move.id,
                                   event=event.id))
        p = proposals.get(move.proposal_id)
        if p is None:
            out.append(Failure("move", f"names proposal {move.proposal_id}, which does not exist", move=move.id))
        else:
            for column in ("request_ref", "offer_ref", "from_provider", "to_provider"):
                if getattr(p, column) != getattr(move, column):
                    out.append(Failure("move", f"its {column} is {getattr(move, column)}, but proposal "
                                       f"{p.id} is for {getattr(p, column)}", move=move.id))
            if p.tenancy_start is not None and p.tenancy_start != move.moved_on:
                out.append(Failure("move", f"it is dated {move.moved_on.isoformat()}, but proposal {p.id}'s "
                                   f"tenancy started {p.tenancy_start.isoformat()}", move=move.id))
        if offer_owner.get(move.offer_ref, move.to_provider) != move.to_provider:
            out.append(Failure("move", f"its home {move.offer_ref} is {offer_owner[move.offer_ref]}'s, "
                               f"not {move.to_provider}'s", move=move.id))
        if request_owner.get(move.request_ref, move.from_provider) != move.from_provider:
            out.append(Failure("move", f"its household {move.request_ref} is {request_owner[move.request_ref]}'s "
                               f"tenant, not {move.from_provider}'s", move=move.id))
    return out


def _debt_limit_failures(session: Session, scheme: Scheme) -> list[Failure]:
    """Rule 9 when proposals are made: replaying the ledger and the trail (`ledger.counted`), no
    batch of proposals (one round's solve, or one re-offer) placed a member's tenant while it was
    past its limit, nor took it past, under the scheme's `fairness.gives_count_from` (today's
    configs). Each proposal that placed a tenant of an account in breach is named."""
    out = []
    for batch in counted.batches(session, scheme):
        named: set[int] = set()
        for account in limit_breaches(batch.start, batch.made, scheme.debt_limit, scheme.gives_count_from):
            placed = sum(1 for f, _, b in batch.made if f == account.provider and account.band in (None, b))
            given = sum(1 for _, t, b in batch.made if t == account.provider and account.band in (None, b))
            for p, e, (_, _, band) in zip(batch.proposals, batch.events, batch.made):
                if p.from_provider != account.provider or account.band not in (None, band) or p.id in named:
                    continue
                named.add(p.id)
                out.append(Failure("debt_limit", f"was made on {e.on.isoformat()} (trail event {e.id}) "
                                   f"placing a tenant of {account} past its debt limit (rule 9): counted "
                                   f"balance {batch.start.get(account, 0):+d} before its batch, {placed} of its "
                                   f"tenants placed and {given} home(s) it gives in the batch, max_debt "
                                   f"{scheme.debt_limit(account)}, gives counted from {scheme.gives_count_from}",
                                   proposal=p.id))
    return out
