"""The round as scripts and the terminal see it (README, Weeks of rounds, worked), built in one place.

`round run --format json` and `round show N --format json` print `RoundView.to_json()`: `round`,
`on`, `status`, `proposals` (each with `id`, `request`, `offer`, `from_provider`, `to_provider`,
`status` (its stage), `decline_reason`, `round_id`, `stage_on`, `due_on`, `refused_by`,
`refusal_reason`, `reasonable_offer`, `viewing_on`, `tenancy_start` and its explanation: `reasons`,
`rules_passed`, `balance_effect`, ...), `unmatched` (each with the household's landlord as
`provider`), `objectives`, `solve_seconds`, `solves`, and
`changes_before` (the lapses and stale requests the round began with), and `for_request` (each
offer made for a household: proposed to it first, or why not). The report stored with a round
(`RoundRow.report`) is a `RoundReport`, written by the first solve and extended by each re-solve;
reading it back tolerates reports written by earlier releases.

Every view is read through `reciprocal.storage.reader` (plain SQL, the plain driver): a read
command loads no ORM (issue 24). A function here takes a `Database` or a `Reader` (both answer
`reader()`); one that writers share with a session (`Owners.read`) takes anything with `rows`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from reciprocal import scope
from reciprocal.domain import LIVE_PROPOSAL, ProposalStatus, RequestStatus
from reciprocal.errors import NotFoundError
from reciprocal.ledger import counted
from reciprocal.storage.catalogue import MAX_ID

# Reading a round never loads the solver (OR-Tools, NumPy), nor the ORM: only a solve's result
# needs the one, and only writers the other.
if TYPE_CHECKING:
    from matching.engine import RoundResult
    from reciprocal.config import Scheme
    from reciprocal.storage import Database, ProposalRow, Reader


@dataclass(frozen=True)
class SolveReport:
    """One solve of a round: the first, or a re-solve after a decline."""

    objectives: list[dict]
    solve_seconds: float
    compatible_pairs: int
    proposals: int

    @classmethod
    def of(cls, result: RoundResult) -> SolveReport:
        return cls(result.objectives, result.solve_seconds, result.compatible_pairs, len(result.proposals))

    def to_json(self) -> dict:
        return {"objectives": self.objectives, "solve_seconds": self.solve_seconds,
                "compatible_pairs": self.compatible_pairs, "proposals": self.proposals}


@dataclass(frozen=True)
class RoundReport:
    """What a round's solves found, stored with the round: the first solve's objectives and time,
    a reason for every request left unmatched (updated by re-solves), and every solve."""

    objectives: list[dict] = field(default_factory=list)
    solve_seconds: float = 0.0
    compatible_pairs: int = 0
    unmatched: list[dict] = field(default_factory=list)
    solves: list[SolveReport] = field(default_factory=list)
    # Every offer made for a household in the pot: proposed to it first, or why not.
    for_request: list[dict] = field(default_factory=list)

    @classmethod
    def first(cls, result: RoundResult) -> RoundReport:
        return cls(result.objectives, result.solve_seconds, result.compatible_pairs, result.unmatched,
                   [SolveReport.of(result)], result.for_request)

    def resolved(self, result: RoundResult) -> RoundReport:
        """After a re-solve for one freed home: the households it proposed that home to leave the
        unmatched list; every other household keeps the reason the round gave it (the re-solve saw
        one home only, so its "no compatible offer" says nothing about the round's offers); the
        solve is appended."""
        answered = {f["offer"] for f in result.for_request}
        proposed = {p["request"] for p in result.proposals}
        unmatched = [u for u in self.unmatched if u["request"] not in proposed]
        return replace(self, unmatched=sorted(unmatched, key=lambda u: u["request"]),
                       solves=[*self.solves, SolveReport.of(result)],
                       for_request=sorted([f for f in self.for_request if f["offer"] not in answered]
                                          + result.for_request, key=lambda f: f["offer"]))

    @classmethod
    def from_json(cls, data: dict | None) -> RoundReport:
        data = data or {}
        solves = [SolveReport(s.get("objectives", []), s.get("solve_seconds", 0.0),
                              s.get("compatible_pairs", 0), s.get("proposals", 0))
                  for s in data.get("solves", [])]
        return cls(data.get("objectives", []), data.get("solve_seconds", 0.0), data.get("compatible_pairs", 0),
                   data.get("unmatched", []), solves, data.get("for_request", []))

    def to_json(self) -> dict:
        return {"objectives": self.objectives, "solve_seconds": self.solve_seconds,
                "compatible_pairs": self.compatible_pairs, "unmatched": self.unmatched,
                "solves": [s.to_json() for s in self.solves], "for_request": self.for_request}


def _iso(day) -> str | None:
    return day.isoformat() if day is not None else None


@dataclass(frozen=True)
class ProposalView:
    id: int
    request: str
    offer: str
    from_provider: str
    to_provider: str
    status: str
    decline_reason: str | None
    explanation: dict
    stage: dict = field(default_factory=dict)  # stage_on, due_on, refusal, viewing, tenancy start

    @classmethod
    def of(cls, row: dict) -> ProposalView:
        """From a proposal's row of `PROPOSAL_COLUMNS`."""
        stage = {"round_id": row["round_id"], "stage_on": _iso(row["stage_on"]), "due_on": _iso(row["due_on"]),
                 "refused_by": row["refused_by"], "refusal_reason": row["refusal_reason"],
                 "reasonable_offer": row["reasonable_offer"], "viewing_on": _iso(row["viewing_on"]),
                 "tenancy_start": _iso(row["tenancy_start"])}
        return cls(row["id"], row["request_ref"], row["offer_ref"], row["from_provider"], row["to_provider"],
                   row["status"], row["decline_reason"], dict(row["explanation"] or {}), stage)

    def to_json(self) -> dict:
        return {"id": self.id, "request": self.request, "offer": self.offer,
                "from_provider": self.from_provider, "to_provider": self.to_provider,
                "status": self.status, "decline_reason": self.decline_reason, **self.stage,
                **self.explanation}


@dataclass(frozen=True)
class RoundView:
    round: int
    on: str
    status: str
    proposals: list[ProposalView]
    report: RoundReport

    changes_before: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"round": self.round, "on": self.on, "status": self.status,
                "proposals": [p.to_json() for p in self.proposals], "unmatched": self.report.unmatched,
                "objectives": self.report.objectives, "solve_seconds": self.report.solve_seconds,
                "solves": [s.to_json() for s in self.report.solves],
                "for_request": self.report.for_request,
                "changes_before": self.changes_before}


def view_of(rnd: dict, proposals: list[dict]) -> RoundView:
    """From a round's row (`id`, `on`, `status`, `report`) and its proposals' rows."""
    return RoundView(rnd["id"], rnd["on"].isoformat(), rnd["status"], [ProposalView.of(p) for p in proposals],
                     RoundReport.from_json(rnd["report"]), list((rnd["report"] or {}).get("changes_before", [])))


# The columns of a proposal every view reads (not `decided_at`, which none shows).
PROPOSAL_COLUMNS = ("id, round_id, request_ref, offer_ref, from_provider, to_provider, status, explanation, "
                    "decline_reason, stage_on, due_on, refused_by, refusal_reason, reasonable_offer, viewing_on, "
                    "tenancy_start")


def _by_id(reader: Reader, sql: str, row_id: int, missing: str) -> dict:
    """The one row of `sql` (which names `:id`), or NotFoundError; an id no row can have (larger
    than the database's integers) names no row."""
    found = reader.rows(sql, {"id": row_id}) if -MAX_ID - 1 <= row_id <= MAX_ID else []
    if not found:
        raise NotFoundError(missing)
    return found[0]


def list_rounds(db: Database | Reader) -> list[dict]:
    """Every round with how its proposals stand."""
    with db.reader() as reader:
        counts = {(r["round_id"], r["status"]): r["n"] for r in reader.rows(
            "SELECT round_id, status, COUNT(*) AS n FROM proposal GROUP BY round_id, status")}
        out = []
        for r in reader.rows('SELECT id, "on", status, report FROM round ORDER BY id'):
            def n(*statuses: ProposalStatus) -> int:
                return sum(counts.get((r["id"], s.value), 0) for s in statuses)
            live = n(*LIVE_PROPOSAL)
            ended = n(ProposalStatus.refused, ProposalStatus.lapsed, ProposalStatus.cancelled)
            signed = n(ProposalStatus.signed)
            out.append({"round": r["id"], "on": r["on"].isoformat(), "status": r["status"],
                        "proposals": live + ended + signed, "live": live, "signed": signed,
                        "ended": ended, "unmatched": len((r["report"] or {}).get("unmatched", []))})
        return out


def proposal_view(db: Database | Reader, proposal_id: int) -> dict:
    """One proposal with its trail (every change of stage: when, by which role, from which stage)."""
    with db.reader() as reader:
        row = _by_id(reader, f"SELECT {PROPOSAL_COLUMNS} FROM proposal WHERE id = :id", proposal_id,
                     f"no proposal {proposal_id}")
        events = [{"seq": e["id"], "from": e["from_status"], "to": e["to_status"], "on": e["on"].isoformat(),
                   "role": e["role"], "detail": e["detail"]}
                  for e in reader.rows('SELECT id, from_status, to_status, "on", role, detail FROM proposal_event '
                                       'WHERE proposal_id = :id ORDER BY id', {"id": proposal_id})]
        return {**ProposalView.of(row).to_json(), "trail": events}


def proposal_list(db: Database | Reader, stages: list[str] | None = None, member: str | None = None,
                  due_by=None, overdue_on=None) -> list[dict]:
    """Proposals, newest first, filtered by stage, by member (offering the home or referring the
    household), due on or before a day, or overdue on a day."""
    where = (["status IN :stages"] if stages else []) + (["(from_provider = :member OR to_provider = :member)"]
                                                         if member else [])
    with db.reader() as reader:
        rows = reader.rows(f"SELECT {PROPOSAL_COLUMNS} FROM proposal"
                           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC",
                           {"stages": list(stages or ()), "member": member})
    if due_by is not None:
        rows = [r for r in rows if r["due_on"] is not None and r["due_on"] <= due_by]
    if overdue_on is not None:
        rows = [r for r in rows if r["due_on"] is not None and r["due_on"] < overdue_on]
    return [ProposalView.of(r).to_json() for r in rows]


class LiveFacts(NamedTuple):
    """A live proposal's pair, providers, stage and due date: what `due` and the changes since a
    pack read of it (not its explanation: building that for a national scheme's live proposals
    took seconds)."""

    id: int
    request_ref: str
    offer_ref: str
    from_provider: str
    to_provider: str
    status: str
    due_on: date | None


def live_facts(source) -> list[LiveFacts]:
    """Every live proposal's facts, oldest first, from a `Reader` or a session (anything with `rows`)."""
    return [LiveFacts(**r) for r in source.rows(
        "SELECT id, request_ref, offer_ref, from_provider, to_provider, status, due_on FROM proposal "
        "WHERE status IN :live ORDER BY id", {"live": [s.value for s in LIVE_PROPOSAL]})]


# Who must act at each live stage, and what they must do.
ACTION = {
    "proposed": ("to_provider", "confirm or refuse the nomination"),
    "nomination_confirmed": ("to_provider", "arrange the viewing"),
    "viewing": ("from_provider", "the household's answer after viewing"),
    "accepted": ("to_provider", "sign the tenancy"),
}


def due_list(db: Database, on, until) -> list[dict]:
    """Everything due or overdue by `until`, by the member who must act: live proposals by their
    stage's due date, and requests on hold whose day to look again has come."""
    rows = []
    with db.reader() as reader:
        for p in live_facts(reader):
            if p.due_on is None or p.due_on > until:
                continue
            side, action = ACTION[p.status]
            rows.append({"member": getattr(p, side), "what": "proposal", "ref": str(p.id),
                         "request": p.request_ref, "offer": p.offer_ref, "status": p.status,
                         "due_on": p.due_on.isoformat(), "overdue": p.due_on < on, "action": action,
                         "from_provider": p.from_provider, "to_provider": p.to_provider})
        for r in reader.rows("SELECT ref, provider, status, look_again_on FROM request WHERE status = :held "
                             "AND look_again_on <= :until", {"held": RequestStatus.on_hold.value,
                                                             "until": until}):
            rows.append({"member": r["provider"], "what": "request", "ref": r["ref"], "request": r["ref"],
                         "offer": None, "status": r["status"], "due_on": r["look_again_on"].isoformat(),
                         "overdue": r["look_again_on"] < on,
                         "action": "look again at the hold (request resume or close)"})
        return sorted(rows, key=lambda r: (r["member"], r["due_on"], r["what"], r["ref"]))


def due_for(db: Database, scheme: Scheme, on, until, for_provider: str | None = None,
            since: date | None = None) -> list[dict]:
    """`due_list`, or what one member must do as it may see it (`scope.due_item_for`), with what
    changed for it since its last pack (`changed_items`)."""
    scope.check_viewer(scheme, for_provider)
    rows = sorted(due_list(db, on, until) + past_limit_items(db, scheme, on)
                  + changed_items(db, scheme, on, for_provider, since),
                  key=lambda r: (r["member"], r["due_on"], r["what"], r["ref"]))
    return [r for r in (scope.due_item_for(r, for_provider) for r in rows) if r is not None]


def past_limit_items(db: Database, scheme: Scheme, on) -> list[dict]:
    """A member past its debt limit on `on` (a counted give of its fell through): none of its
    tenants is placed until it is back within, so it is told, with since when and why."""
    with db.reader() as reader:
        where = counted.positions(reader, scheme, on)
    return [{"member": p, "what": "debt_limit", "ref": p, "request": None, "offer": None,
             "status": "past_limit", "due_on": w.past_limit_since.isoformat(), "overdue": False,
             "action": f"{w.why()}; none of your tenants is placed until you are back within: a home you "
                       f"give counts from {scheme.gives_count_from}",
             **w.to_json()}
            for p, w in where.items() if w.past_limit_by]


def changed_items(db: Database, scheme: Scheme, on, for_provider: str | None = None,
                  since: date | None = None) -> list[dict]:
    """Each member's households and homes updated since its last pack up to `on` (or since the
    day `since`), as it may see them (`reciprocal.lifecycle.since_pack`): to take into account."""
    from reciprocal.lifecycle import since_pack
    members = [for_provider] if for_provider else sorted(scheme.providers)
    with db.reader() as reader:
        changed = since_pack.changes_for(reader, members, on, since, same_day=True)
    return [{"member": m, "what": "update", "ref": c["ref"], "request": c["request"], "offer": c["offer"],
             "status": "updated", "due_on": c["on"], "overdue": False,
             "action": f"{c['what']} updated since {got.since.words()}: {c['change']}",
             "proposal": c["proposal"]}
            for m, got in changed.items() for c in got.changes]


def with_action(proposal: dict) -> dict:
    """A proposal with who must act next (`must_act`, a member id) and what (`action`); both
    None once it has ended."""
    side, action = ACTION.get(proposal["status"], (None, None))
    return {**proposal, "must_act": proposal[side] if side else None, "action": action}


@dataclass(frozen=True)
class Owners:
    """Whose each request and offer is, and each request's household areas: what `reciprocal.scope`
    needs to scope a round or a proposal."""

    request_owner: dict[str, str]
    offer_owner: dict[str, str]
    household_areas: dict[str, tuple[str, ...]]

    @classmethod
    def read(cls, source) -> Owners:
        """From a `Reader` or a write session (anything with `rows`)."""
        # Plain rows of the columns read (an ORM object per household took a second at national scale).
        requests = source.rows("SELECT ref, provider, avoid_areas, preferred_areas, survivor_area FROM request")
        areas = {r["ref"]: tuple(r["avoid_areas"] or ()) + tuple(r["preferred_areas"] or ())
                 + ((r["survivor_area"],) if r["survivor_area"] else ()) for r in requests}
        return cls({r["ref"]: r["provider"] for r in requests},
                   {r["ref"]: r["provider"] for r in source.rows("SELECT ref, provider FROM offer")}, areas)


def member_proposals(db: Database, member: str, ended_since, every: list[dict] | None = None,
                     owners: Owners | None = None) -> list[dict]:
    """The proposals where `member` offers the home or referred the household, as it may see them,
    with who must act next: every live one, and those that ended on or after `ended_since`. Packs
    for many members pass every proposal and the owners, read once."""
    mine = (proposal_list(db, member=member) if every is None else
            [p for p in every if member in (p["from_provider"], p["to_provider"])])
    rows = [p for p in mine
            if p["status"] in ACTION or (p["stage_on"] is not None and p["stage_on"] >= ended_since.isoformat())]
    if owners is None:
        with db.reader() as reader:
            owners = Owners.read(reader)
    return [scope.proposal_for(with_action(p), member, owners.household_areas.get(p["request"], ()))
            for p in rows]


# What a member must do about its own request in each state that waits on it.
REQUEST_ACTION = {
    RequestStatus.stale.value: "reconfirm that the household still needs to move (request reconfirm), "
                               "or close it",
    RequestStatus.on_hold.value: "look again at the hold on its day (request resume or close)",
    RequestStatus.review.value: "review its refusals with the coordinator (request resume or close)",
}


def member_requests(db: Database, member: str) -> list[dict]:
    """A member's own requests that wait on it: stale, on hold or in review, with what to do."""
    return members_requests(db, [member])[member]


def members_requests(db: Database, members: list[str]) -> dict[str, list[dict]]:
    """`member_requests` of each of `members`, read in one go (packs for every member)."""
    one = " AND provider = :member" if len(members) == 1 else ""
    out: dict[str, list[dict]] = {m: [] for m in members}
    with db.reader() as reader:
        waiting = reader.rows("SELECT ref, provider, status, referred_on, reconfirmed_on, hold_reason, look_again_on "
                              f"FROM request WHERE status IN :waiting{one} ORDER BY ref",
                              {"waiting": list(REQUEST_ACTION), "member": members[0] if one else None})
    for r in waiting:
        if r["provider"] in out:
            out[r["provider"]].append({"request": r["ref"], "status": r["status"], "referred_on": _iso(r["referred_on"]),
                                       "reconfirmed_on": _iso(r["reconfirmed_on"]), "hold_reason": r["hold_reason"],
                                       "look_again_on": _iso(r["look_again_on"]), "action": REQUEST_ACTION[r["status"]]})
    return out


def round_view(db: Database, round_id: int, scheme: Scheme | None = None,
               for_provider: str | None = None, explained: int | None = None) -> dict:
    """The round as scripts see it (README, Weeks of rounds, worked), as a JSON-ready dict; as one member may see
    it (`scope.round_for`) when asked (the scheme names the members). `explained`: only the first
    that many proposals carry their explanation (a page that shows no more: decoding 12,909 of
    them was half of reading a national round)."""
    if for_provider is not None:
        scope.check_viewer(scheme, for_provider)
    with db.reader() as reader:
        rnd = _by_id(reader, 'SELECT id, "on", status, report FROM round WHERE id = :id', round_id, f"no round {round_id}")
        columns = PROPOSAL_COLUMNS if explained is None else PROPOSAL_COLUMNS.replace(
            "explanation", "NULL AS explanation")
        rows = reader.rows(f"SELECT {columns} FROM proposal WHERE round_id = :id ORDER BY id", {"id": round_id})
        if explained is not None and explained > 0:
            first = reader.rows("SELECT id, explanation FROM proposal WHERE round_id = :id ORDER BY id LIMIT :n",
                                {"id": round_id, "n": explained})
            explanation = {r["id"]: r["explanation"] for r in first}  # by id, not by position
            for row in rows:
                if row["id"] in explanation:
                    row["explanation"] = explanation[row["id"]]
        view = view_of(rnd, rows).to_json()
        # Whose each unmatched household is, so that a summary can count them by member.
        owner = {r["ref"]: r["provider"] for r in reader.rows("SELECT ref, provider FROM request")}
        view["unmatched"] = [{**u, "provider": owner.get(u["request"])} for u in view["unmatched"]]
        if for_provider is None:
            return view
        owners = Owners.read(reader)
        return scope.round_for(view, for_provider, owners.request_owner, owners.offer_owner, owners.household_areas)
