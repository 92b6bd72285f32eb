"""A decisions file: members' answers in a batch, one row per proposal update (docs/config.md, Decisions files).

Columns: `proposal` (its id), `action` (`confirm_nomination`, `viewing`, `accept`, `refuse`,
`sign`), `on` (the day, YYYY-MM-DD), and where the action needs them `viewing_on`, `by`
(`household`, `offering_landlord`, `referring_landlord`: who refused), `reason` (a refusal reason
code of the scheme), `note`, `reasonable` (yes/no, for a household refusal) and `tenancy_start`.

All or nothing, every problem named at once: every row is read and checked first (each bad cell
named with line, column and reason); then, in one transaction, every proposal the file names is
looked up (an unknown one named under `proposal`) and the rows are applied in file order through
the commands' own functions (a refusal re-offers the freed home, as `proposal refuse` does); a row
the proposal's stage does not allow (a viewing for a proposal that was refused, say) is named under
`action`. Any problem refuses the whole file and nothing is written. Importing the same file again
changes nothing: a row whose change the trail already holds (same proposal, same stage, same day)
is skipped and counted.

Before the rows, as at the start of every command that changes state, the live proposals are
judged again under the configs as they are now (`run._rejudged`, on the file's earliest day):
each that now breaks a hard rule is cancelled and printed first, and kept even if the file is
then refused (its error carries them, `_Judged.reported`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlmodel import select

from reciprocal.config import Scheme
from reciprocal.domain import ProposalStatus, RefusedBy, Role
from reciprocal.errors import InputFileError, NotFoundError, Problem, StateError
from reciprocal.intake.readers import note_problem, parse_date_cell, read_table, refuse as refuse_file
from reciprocal.lifecycle import proposals, run
from reciprocal.lifecycle.changes import Change
from reciprocal.storage import Database, ProposalEventRow, ProposalRow

ACTIONS = {
    "confirm_nomination": ProposalStatus.nomination_confirmed,
    "viewing": ProposalStatus.viewing,
    "accept": ProposalStatus.accepted,
    "refuse": ProposalStatus.refused,
    "sign": ProposalStatus.signed,
}
COLUMNS = ("proposal", "action", "on", "viewing_on", "by", "reason", "note", "reasonable", "tenancy_start")
REQUIRED = ("proposal", "action", "on")
# Who answers each stage, as the trail records it.
ROLE = {"confirm_nomination": Role.offering_landlord, "viewing": Role.offering_landlord,
        "accept": Role.household, "sign": Role.coordinator}


@dataclass
class Row:
    line: int
    proposal: int
    action: str
    on: date
    viewing_on: date | None = None
    by: RefusedBy | None = None
    reason: str = ""
    note: str = ""
    reasonable: bool | None = None
    tenancy_start: date | None = None
    bad: bool = False  # a cell of it is wrong: it is not applied, nor are later rows of its proposal


@dataclass
class DecisionsResult:
    applied: int = 0
    already: int = 0
    changes: list[Change] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"applied": self.applied, "already_applied": self.already,
                "changes": [c.to_json() for c in self.changes]}


def _date(text: str) -> date:
    """As every file's dates: ISO or day first, within the days the engine works with."""
    return parse_date_cell(text)


def read_rows(path: Path, scheme: Scheme) -> tuple[list[Row], list[Problem]]:
    """Every row checked for itself: the rows read (`Row.bad` when a cell of it is wrong) and
    the problems of their cells. A bad header is refused here, naming every column."""
    source = path.name
    header, raw = read_table(path)
    names = [h.strip().lower() for h in header]
    problems = [Problem(source, f"unknown column '{h.strip()[:40]}'", 1, h.strip()[:40])
                for h, n in zip(header, names) if n not in COLUMNS]
    problems += [Problem(source, "required column is missing", 1, c) for c in REQUIRED if c not in names]
    if problems:
        refuse_file(source, problems)
    if not raw:
        raise InputFileError([Problem(source, "the file has a header but no rows")])
    rows = []
    codes = scheme.config.lifecycle.refusal_reasons
    for line, cells in raw:
        cell = {n: (cells[k].strip() if k < len(cells) else "") for k, n in enumerate(names)}
        bad: list[Problem] = []

        def check(column: str, fn):
            value = cell.get(column, "")
            if not value:
                return None
            try:
                return fn(value)
            except ValueError as exc:
                bad.append(Problem(source, str(exc), line, column))
                return None

        for column in REQUIRED:
            if not cell.get(column):
                bad.append(Problem(source, "value is required", line, column))
        proposal = check("proposal", lambda v: _whole(v))
        action = check("action", lambda v: _choice(v, ACTIONS))
        on = check("on", _date)
        row = Row(line, proposal or 0, action or "", on or date.min,
                  viewing_on=check("viewing_on", _date), tenancy_start=check("tenancy_start", _date),
                  by=check("by", lambda v: RefusedBy(_choice(v, {b.value: b for b in RefusedBy}))),
                  reason=cell.get("reason", ""), note=check("note", lambda v: _note(v, action)) or "",
                  reasonable=check("reasonable", _yes_no))
        if action == "refuse":
            if row.by is None and not any(p.field == "by" for p in bad):
                bad.append(Problem(source, "a refusal needs who refused (household, offering_landlord, "
                                           "referring_landlord)", line, "by"))
            if row.reason not in codes:
                bad.append(Problem(source, f"'{row.reason[:40]}' is not one of the scheme's refusal reasons "
                                           f"({', '.join(codes)})", line, "reason"))
            if row.by == RefusedBy.household and row.reasonable is None and not any(p.field == "reasonable" for p in bad):
                bad.append(Problem(source, "a household refusal needs reasonable yes or no", line, "reasonable"))
        if action == "sign" and row.tenancy_start is None and not any(p.field == "tenancy_start" for p in bad):
            bad.append(Problem(source, "a signing needs the tenancy start date", line, "tenancy_start"))
        row.bad = bool(bad)
        problems += bad
        rows.append(row)
    return rows, problems


def _note(value: str, action: str | None) -> str:
    """A refusal's note, checked as every note is. Only a refusal keeps a note: on any other
    answer it would be dropped, so the row is refused instead, naming the cell."""
    found = note_problem(value, "a refusal's note holds no personal data")
    if found:
        raise ValueError(found)
    if action is not None and action != "refuse":
        raise ValueError(f"only a refusal keeps a note; a note on '{action}' would not be stored (leave "
                         f"the cell empty, or keep the note in your own records)")
    return value


def _whole(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise ValueError(f"'{value[:40]}' is not a proposal id (a whole number from 1)")
    return int(value)


def _choice(value: str, options) -> str:
    if value not in options:
        raise ValueError(f"'{value[:40]}' is not one of {', '.join(options)}")
    return value


def _yes_no(value: str) -> bool:
    low = value.lower()
    if low in ("yes", "y", "true", "1"):
        return True
    if low in ("no", "n", "false", "0"):
        return False
    raise ValueError(f"'{value[:40]}' is not yes or no")


def import_decisions(db: Database, scheme: Scheme, path: Path) -> DecisionsResult:
    """Every problem named at once: bad cells, unknown proposals and rows their proposal's stage
    does not allow; nothing written unless there is none. A refusal re-offers the freed home
    exactly as `proposal refuse` does (`run.refuse_and_reoffer`: one path for a refusal)."""
    rows, problems = read_rows(path, scheme)
    source = path.name
    result = DecisionsResult()
    days = [row.on for row in rows if row.on != date.min]
    judged = run._rejudged(db, scheme, min(days)) if days else run._Judged()
    with judged.reported(), db.transaction() as session:
        judged.remember(session)
        result.changes += judged
        ids = sorted({row.proposal for row in rows if row.proposal})
        known = _known(session, ids)
        recorded = _recorded(session, [i for i in ids if i in known])
        blocked: set[int] = set()  # proposals with a bad row: their later rows are not judged yet
        for row in rows:
            if row.proposal and row.proposal not in known:
                problems.append(Problem(source, f"no proposal {row.proposal}", row.line, "proposal"))
                continue
            if row.bad or row.proposal in blocked:
                blocked.add(row.proposal)
                continue
            target = ACTIONS[row.action]
            if (row.proposal, target.value, row.on) in recorded:
                result.already += 1
                continue
            try:
                if row.action == "refuse":
                    made = run.refuse_and_reoffer(session, scheme, row.proposal, row.on, row.by, row.reason,
                                                  row.note, row.reasonable)
                elif row.action == "sign":
                    made = proposals.sign(session, scheme, row.proposal, row.tenancy_start, row.on)
                else:
                    made = proposals.advance(session, scheme, row.proposal, row.on, ROLE[row.action], target,
                                             row.viewing_on)
            except (StateError, NotFoundError) as exc:
                problems.append(Problem(source, exc.message, row.line, "action"))
                continue
            recorded.add((row.proposal, target.value, row.on))
            result.applied += 1
            result.changes += made
        if problems:
            # Raised inside the transaction: everything this file did is rolled back. Within a
            # line, problems come in the columns' order.
            problems.sort(key=lambda p: (p.line or 0, COLUMNS.index(p.field) if p.field in COLUMNS else 0))
            refuse_file(source, problems)
    return result


# Ids asked for in one statement at most (SQLite allows 32,766 parameters).
CHUNK = 10_000


def _known(session, ids: list[int]) -> dict[int, ProposalRow]:
    """The proposals among `ids`, in a few statements however long the file. Held for the
    transaction, so each row's `proposals.get` finds its proposal in the session, not the
    database (100,000 rows took 16 s of CPU one query each)."""
    found: dict[int, ProposalRow] = {}
    for k in range(0, len(ids), CHUNK):
        found.update((p.id, p) for p in session.exec(select(ProposalRow).where(ProposalRow.id.in_(ids[k:k + CHUNK]))))
    return found


def _recorded(session, ids: list[int]) -> set[tuple[int, str, date]]:
    """(proposal, stage, day) of every change the trail holds for `ids`: a row already applied."""
    found: set[tuple[int, str, date]] = set()
    for k in range(0, len(ids), CHUNK):
        found.update(tuple(r) for r in session.exec(
            select(ProposalEventRow.proposal_id, ProposalEventRow.to_status, ProposalEventRow.on)
            .where(ProposalEventRow.proposal_id.in_(ids[k:k + CHUNK]))).all())
    return found
