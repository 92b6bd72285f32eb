"""`audit verify`: are the ledger and the proposal trail what the engine wrote?

It recomputes both hash chains and checks the invariants the engine keeps (docs/audits.md):
every move has both legs, every correction reverses both legs of one move, no home is let twice
and no household moved twice, balances sum to zero; every proposal and move column a report
reads agrees with the chained event that wrote it. It names the first record that fails.

A hash chain alone cannot show that its newest records were cut off, or that someone who knows
the (public) hash recipe rewrote it: `verify` prints an anchor naming the head of every chain,
and `--anchor` with one recorded by an earlier audit (in the board's minutes, say) proves that
nothing up to those heads was removed or rewritten.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import TYPE_CHECKING

from reciprocal.config import Scheme
from reciprocal.domain import (LIVE_PROPOSAL, NEXT_STAGE, OfferStatus, ProposalStatus, RequestStatus,
                               limit_breaches)
from reciprocal.errors import InputFileError, Problem
from reciprocal.ledger import CORRECTION, GENESIS, MOVE, counted, entries, hash_of
from reciprocal.hashchain import case_ref, digest, event_hash
from reciprocal.hashchain import plain_value as plain
from reciprocal.storage.catalogue import TABLES

if TYPE_CHECKING:
    from reciprocal.storage import Database, LedgerEntryRow, MoveRow, ProposalRow, Reader

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
    trail_events: int = 0
    trail_head: int | None = None
    trail_head_hash: str = GENESIS
    anchor: str = ""  # the head of every chain, to record and give back to `--anchor`
    notes: list[str] = field(default_factory=list)  # what an anchor given did not cover

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
                "trail_events": self.trail_events, "trail_head": self.trail_head,
                "trail_head_hash": self.trail_head_hash, "anchor": self.anchor, "notes": self.notes,
                "first_failure": asdict(first) if first else None,
                "failures": [asdict(f) for f in sorted(self.failures, key=Failure.sort_key)]}


def _rows(source, sql: str, params: dict | None = None) -> list[SimpleNamespace]:
    """A query's rows as the checks read them: the columns as attributes, with the ORM's own
    types (`storage.catalogue`)."""
    return [SimpleNamespace(**r) for r in source.rows(sql, params)]


# Every column of a proposal but its explanation: no check reads it, and decoding some 13,000 of
# them took seconds at national scale.
_PROPOSAL_CHECKED = ", ".join(f'"{c}"' for c in TABLES["proposal"] if c != "explanation")


def verify_ledger(source, anchor: str | None = None, scheme: Scheme | None = None) -> Verification:
    """The checks, on what `source` (a `Reader`, or a session's `rows`) reads as stored now."""
    rows = entries(source)
    moves = _rows(source, "SELECT * FROM move ORDER BY id")
    failures = _chain_failures(rows) + _leg_failures(rows, moves) + _move_failures(source, rows, moves)
    events = _rows(source, "SELECT * FROM proposal_event ORDER BY id")
    # Every proposal, read once for every check.
    proposals = _rows(source, f"SELECT {_PROPOSAL_CHECKED} FROM proposal ORDER BY id")
    failures += _sum_failures(rows) + _trail_failures(moves, events, proposals)
    failures += _move_fact_failures(source, moves, events)
    if scheme is not None:
        failures += _debt_limit_failures(source, scheme)
    failures += _proposal_column_failures(proposals, events) + _move_round_failures(moves, proposals, rows)
    failures += _case_update_failures(source, events)
    chains = {"ledger": rows, "trail": events}
    notes: list[str] = []
    if anchor is not None:
        anchored = parse_anchor(anchor)
        failures += _anchor_failures(chains, anchored)
        notes = _anchor_notes(anchored, anchor_of(chains))
    head = rows[-1] if rows else None
    trail_head = events[-1] if events else None
    corrections = len({e.move_id for e in rows if e.entry_kind == CORRECTION})
    return Verification(len(rows), len(moves), corrections, head.id if head else None,
                        head.hash if head else GENESIS, failures, len(events),
                        trail_head.id if trail_head else None, trail_head.hash if trail_head else GENESIS,
                        anchor_of(chains), notes)


def verify(db: Database | Reader, anchor: str | None = None, scheme: Scheme | None = None) -> Verification:
    """`audit verify`: recompute the chains and the invariants (read only, through the plain
    driver: the command loads no ORM); with the scheme, also that no proposal was made past its
    member's debt limit (`_debt_limit_failures`)."""
    if anchor is not None:
        parse_anchor(anchor)  # a malformed anchor is refused before anything is read
    with db.reader() as reader:
        return verify_ledger(reader, anchor, scheme)


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


def _move_failures(source, rows: list[LedgerEntryRow], moves: list[MoveRow]) -> list[Failure]:
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
    offers = {r["ref"]: r["status"] for r in source.rows("SELECT ref, status FROM offer")}
    requests = {r["ref"]: r["status"] for r in source.rows("SELECT ref, status FROM request")}
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


def _trail_failures(moves: list[MoveRow], events: list, proposals: list[ProposalRow]) -> list[Failure]:
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
        if event_hash(row) != row.hash:
            out.append(Failure("trail_hash", "its content does not match its hash (changed after it was "
                               "written)", event=row.id, proposal=row.proposal_id))
        prev = row
    by_proposal: dict[int, list] = {}
    for row in events:
        by_proposal.setdefault(row.proposal_id, []).append(row)
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
         "from_provider": "from_provider", "to_provider": "to_provider", "band": "band",
         "round": "round_id", "kind": "kind", "bedrooms": "bedrooms"}


def _move_fact_failures(source, moves: list[MoveRow], events: list) -> list[Failure]:
    """Move rows are not chained themselves; each is held to what is: the signing event of its
    proposal (the home, the household, both landlords, the band, the day), and to the rows it
    names (the proposal's pair, the home's landlord, the household's landlord)."""
    signed: dict[int, object] = {}
    for event in events:
        if event.to_status == ProposalStatus.signed.value:
            signed[event.proposal_id] = event
    proposals = {p.id: p for p in _rows(source, f"SELECT {_PROPOSAL_CHECKED} FROM proposal")}
    offer_owner = {r["ref"]: r["provider"] for r in source.rows("SELECT ref, provider FROM offer")}
    request_owner = {r["ref"]: r["provider"] for r in source.rows("SELECT ref, provider FROM request")}
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


def _debt_limit_failures(source, scheme: Scheme) -> list[Failure]:
    """Rule 9 when proposals are made: replaying the ledger and the trail (`ledger.counted`), no
    batch of proposals (one round's solve, or one re-offer) placed a member's tenant while it was
    past its limit, nor took it past, under the scheme's `fairness.gives_count_from` (today's
    configs). Each proposal that placed a tenant of an account in breach is named."""
    out = []
    for batch in counted.batches(source, scheme):
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


# -- anchors: the head of every hash chain --------------------------------------------------------

# Every hash chain the engine keeps, by the name an anchor gives it, and what its records are
# called. A chain added later is added here: an anchor recorded before then says it does not
# cover it (`_anchor_notes`).
CHAINS = {"ledger": ("ledger entry", "entries"), "trail": ("proposal trail event", "events")}
ANCHOR_HEX = 16  # hex digits of each head's hash an anchor prints (64 bits)
MIN_ANCHOR_HEX = 12  # the fewest it accepts back (48 bits)
HEX = frozenset("0123456789abcdef")


def anchor_of(chains: dict[str, list]) -> str:
    """The anchor to record: `ledger:N:HASH,trail:M:HASH`, each chain's newest record and the
    first hex digits of its hash (position 0 and zeros for an empty chain). A chain's head hash
    covers every record before it, so these pin both chains up to this audit."""
    parts = []
    for name, rows in chains.items():
        head = rows[-1] if rows else None
        parts.append(f"{name}:{head.id if head else 0}:{(head.hash if head else GENESIS)[:ANCHOR_HEX]}")
    return ",".join(parts)


def parse_anchor(text: str) -> dict[str, tuple[int | None, str]]:
    """Each anchored chain's (position, hash prefix). A bare hex hash is an anchor from before
    the trail was anchored: a ledger entry, at any position. Every problem is named at once."""
    text = text.strip().lower()
    if ":" not in text:
        if len(text) < MIN_ANCHOR_HEX:
            raise InputFileError([Problem("--anchor", f"give at least {MIN_ANCHOR_HEX} characters of a head hash")],
                                 "the anchor is too short to name one entry; nothing was checked")
        if not set(text) <= HEX:
            raise InputFileError([Problem("--anchor", "the hash is hexadecimal (0-9, a-f)")],
                                 "the anchor is not a hash; nothing was checked")
        return {"ledger": (None, text)}
    anchored: dict[str, tuple[int | None, str]] = {}
    problems = []
    for part in (p.strip() for p in text.split(",")):
        fields = part.split(":")
        if len(fields) != 3 or not (fields[1].isascii() and fields[1].isdigit()) or len(fields[1]) > 10:
            problems.append(Problem("--anchor", f"{part}: write chain:position:hash, as `audit verify` prints it"))
            continue
        name, position, digest = fields
        if name not in CHAINS:
            problems.append(Problem("--anchor", f"{name}: no hash chain is called that ({', '.join(CHAINS)})"))
        elif name in anchored:
            problems.append(Problem("--anchor", f"{name}: named twice"))
        elif len(digest) < MIN_ANCHOR_HEX:
            problems.append(Problem("--anchor", f"{part}: give at least {MIN_ANCHOR_HEX} characters of the head's hash"))
        elif not set(digest) <= HEX:
            problems.append(Problem("--anchor", f"{part}: the hash is hexadecimal (0-9, a-f)"))
        else:
            anchored[name] = (int(position), digest)
    if problems:
        raise InputFileError(problems, "the anchor does not name the heads of the chains; nothing was checked")
    return anchored


def _anchor_failures(chains: dict[str, list], anchored: dict[str, tuple[int | None, str]]) -> list[Failure]:
    """Each anchored head must still be there with the hash recorded: a record removed or
    rewritten (even with every later hash recomputed) up to that head changes or loses it."""
    out = []
    for name, (position, digest) in anchored.items():
        rows = chains[name]
        if position is None:  # an old anchor: some ledger entry has that hash
            if not any(e.hash.startswith(digest) for e in rows):
                out.append(Failure("anchor", f"no entry has the anchored hash {digest[:16]}...: entries "
                                   f"recorded at that audit were removed or rewritten since"))
            continue
        if position == 0:
            continue  # the chain was empty then: nothing to hold
        record, plural = CHAINS[name]
        where = {"entry": position} if name == "ledger" else {"event": position}
        row = next((r for r in rows if r.id == position), None)
        if row is None:
            out.append(Failure("anchor", f"it is missing, but an earlier audit anchored it: {plural} were "
                               f"removed since", **where))
        elif not row.hash.startswith(digest):
            out.append(Failure("anchor", f"its hash is not the one anchored at an earlier audit: it, or "
                               f"{'an entry' if name == 'ledger' else 'an event'} before it, was rewritten "
                               f"since", **where))
    return out


def _anchor_notes(anchored: dict[str, tuple[int | None, str]], now: str) -> list[str]:
    """What the anchor given does not cover, said plainly (it is not a failure: it proves what it
    proved when it was recorded)."""
    if anchored.get("ledger", (0, ""))[0] is None:
        return ["the anchor names only a ledger entry (it was recorded before anchors covered the "
                f"proposal trail): the trail is not covered by it; record this audit's anchor, {now}"]
    missing = [CHAINS[name][0].rsplit(" ", 1)[0] for name in CHAINS if name not in anchored]
    if not missing:
        return []
    return [f"the anchor does not cover the {' or the '.join(missing)}; record this audit's anchor, {now}"]


# -- every column a report reads, held to the chained event that wrote it -------------------------

# The columns a proposal's making event records (`proposals.propose`), by the key it records
# them under; and those its refusal records. Events written before a key was recorded lack it,
# and that column is then not held (a migrated proposal's one event holds none).
MADE = {"round": "round_id", "request": "request_ref", "offer": "offer_ref",
        "from_provider": "from_provider", "to_provider": "to_provider"}
REFUSAL = {"by": "refused_by", "reason": "refusal_reason", "reasonable": "reasonable_offer"}
LIVE_STAGES = frozenset(s.value for s in LIVE_PROPOSAL)


def _shown(value):
    return value.isoformat() if isinstance(value, date) else value


def _proposal_column_failures(proposals: list[ProposalRow], events: list) -> list[Failure]:
    """A proposal row is not chained itself; each column a report, a pack or a round reads is
    held to the event that wrote it: the pair and round to its making, the day its stage began
    and its due date to its latest event, a refusal's party, reason and reasonable flag to the
    refusal (and none at all if it was never refused), the viewing day to the viewing, the
    tenancy start to the signing. (The free-text note is not chained: `request purge` blanks it;
    `explanation` neither: purge rewrites it.)"""
    by_proposal: dict[int, list] = {}
    for event in events:
        by_proposal.setdefault(event.proposal_id, []).append(event)
    out = []
    for p in proposals:
        steps = by_proposal.get(p.id)
        if not steps:
            continue  # `_trail_failures` names it
        first, last = steps[0], steps[-1]
        migrated = "migrated" in (first.detail or {})

        def held(column: str, recorded, because: str) -> None:
            value = _shown(getattr(p, column))
            if value != _shown(recorded):
                out.append(Failure("proposal", f"its {column} is {value}, but {because}", proposal=p.id))

        def recorded_by(what: str, event) -> str:
            return f"its {what} (trail event {event.id}, chained) recorded"

        made = first.detail or {}
        for key, column in MADE.items():
            if key in made:
                held(column, made[key], f"{recorded_by('making', first)} {_shown(made[key])}")
        held("stage_on", last.on, f"{recorded_by('latest event', last)} {_shown(last.on)}")
        detail = last.detail or {}
        if last.to_status in LIVE_STAGES and "due_on" in detail:
            held("due_on", detail["due_on"], f"{recorded_by('latest event', last)} {detail['due_on']}")
        elif last.to_status not in LIVE_STAGES and not migrated:
            held("due_on", None, f"it ended {last.to_status} (trail event {last.id}, chained)")
        if last.to_status == ProposalStatus.refused.value:
            for key, column in REFUSAL.items():
                if key in detail:
                    held(column, detail[key], f"{recorded_by('refusal', last)} {detail[key]}")
        else:
            for column in REFUSAL.values():
                held(column, None, f"it was never refused (its trail ends {last.to_status}, event {last.id})")
        viewings = [e for e in steps if "viewing_on" in (e.detail or {})]
        if viewings:
            held("viewing_on", viewings[-1].detail["viewing_on"],
                 f"{recorded_by('viewing', viewings[-1])} {viewings[-1].detail['viewing_on']}")
        elif not migrated:
            held("viewing_on", None, "no viewing day is in its trail")
        signings = [e for e in steps if e.to_status == ProposalStatus.signed.value]
        if signings and "tenancy_start" in (signings[-1].detail or {}):
            start = signings[-1].detail["tenancy_start"]
            held("tenancy_start", start, f"{recorded_by('signing', signings[-1])} {start}")
        elif not signings:
            held("tenancy_start", None, "it was never signed")
    return out


def _case_update_failures(source, events: list) -> list[Failure]:
    """Every case's current row held to its trail (issue 21): each update of a household's or a
    home's facts (an event of no proposal) names its case in the chain; the values before and
    after kept beside it match the digest the chain recorded; and each field an update changed is,
    in the row now, the value its latest update recorded. A purged household's values are gone
    from both (`request purge`) and are not held."""
    # Only the cases an update names are read (not every household and home of the scheme).
    named: dict[str, set] = {"request": set(), "offer": set()}
    for e in events:
        detail = (e.detail or {}) if e.proposal_id is None else {}
        if detail.get("case") in named and detail.get("ref") is not None:
            named[detail["case"]].add(detail["ref"])
    rows = {"request": _by_ref(source, "request", named["request"]),
            "offer": _by_ref(source, "offer", named["offer"])}
    latest: dict[tuple[str, str], dict[str, tuple]] = {}
    out = []
    for e in events:
        if e.proposal_id is not None:
            continue
        detail = e.detail or {}
        kind, ref = detail.get("case"), detail.get("ref")
        if kind not in rows or e.case_ref != case_ref(kind, ref):
            out.append(Failure("case", f"its case_ref is {e.case_ref}, but its chained record names "
                               f"{kind}:{ref}", event=e.id))
            continue
        row = rows[kind].get(ref)
        purged = kind == "request" and row is not None and row.purged_on is not None
        if row is None:
            out.append(Failure("case", f"it updates {kind} {ref}, which is missing", event=e.id))
        elif e.case_values is None:
            if not purged:
                out.append(Failure("case", f"the values of its update of {kind} {ref} are missing, but "
                                   f"{ref} was never purged", event=e.id))
        elif digest(e.case_values) != detail.get("values"):
            out.append(Failure("case", f"the values before and after of its update of {kind} {ref} are not "
                               f"those its chained record holds the digest of: changed since", event=e.id))
        elif not purged:
            after = e.case_values.get("after") or {}
            for name in detail.get("fields", []):
                latest.setdefault((kind, ref), {})[name] = (after.get(name), e.id)
    for (kind, ref), fields in latest.items():
        row = rows[kind][ref]
        for name, (value, event) in fields.items():
            now = plain(getattr(row, name, None))
            if now != value:
                out.append(Failure("case", f"{kind} {ref}: its {name} is {now}, but its latest update "
                                   f"(trail event {event}, chained) recorded {value}", event=event))
    return out


def _by_ref(source, table: str, refs: set) -> dict:
    """The rows of `table` (request or offer) with these refs, by ref."""
    refs = sorted(refs, key=str)
    return {r.ref: r for start in range(0, len(refs), 500)
            for r in _rows(source, f"SELECT * FROM {table} WHERE ref IN :refs", {"refs": refs[start:start + 500]})}


def _move_round_failures(moves: list[MoveRow], proposals: list[ProposalRow],
                         rows: list[LedgerEntryRow]) -> list[Failure]:
    """A move's round, which `round show` and the fairness audit read, is its proposal's round
    and the round its ledger legs record (chained)."""
    of_proposal = {p.id: p.round_id for p in proposals}
    legs: dict[int, list[LedgerEntryRow]] = defaultdict(list)
    for e in rows:
        if e.entry_kind == MOVE:
            legs[e.move_id].append(e)
    out = []
    for move in moves:
        made_by = of_proposal.get(move.proposal_id)
        if made_by is not None and made_by != move.round_id:
            out.append(Failure("move", f"its round_id is {move.round_id}, but proposal {move.proposal_id} "
                               f"is of round {made_by}", move=move.id))
        recorded = {e.round_id for e in legs.get(move.id, [])}
        if recorded and recorded != {move.round_id}:
            ids = ", ".join(str(e.id) for e in legs[move.id])
            out.append(Failure("move", f"its round_id is {move.round_id}, but its ledger legs (entries "
                               f"{ids}, chained) record {', '.join(str(r) for r in sorted(recorded, key=str))}",
                               move=move.id))
    return out
