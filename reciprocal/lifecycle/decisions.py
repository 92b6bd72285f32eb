"""A decisions file: members' answers in a batch, one row per proposal update (docs/config.md, Decisions files).

Columns: `proposal` (its id), `action` (`confirm_nomination`, `viewing`, `accept`, `refuse`,
`sign`), `on` (the day, YYYY-MM-DD), and where the action needs them `viewing_on`, `by`
(`household`, `offering_landlord`, `referring_landlord`: who refused), `reason` (a refusal reason
code of the scheme), `note`, `reasonable` (yes/no, for a household refusal) and `tenancy_start`.

All or nothing: every row is read and checked first (each bad cell named with line, column and
reason); then the rows are applied in file order in one transaction, and a row the proposal's
stage does not allow (a viewing for a proposal that was refused, say) refuses the whole file,
every such row listed, nothing written. Importing the same file again changes nothing: a row whose
change the trail already holds (same proposal, same stage, same day) is skipped and counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlmodel import select

from reciprocal.config import Scheme
from reciprocal.domain import ProposalStatus, RefusedBy, Role
from reciprocal.errors import InputFileError, NotFoundError, Problem, StateError
from reciprocal.intake.readers import parse_date_cell, read_table, refuse as refuse_file
from reciprocal.lifecycle import proposals
from reciprocal.lifecycle.changes import Change
from reciprocal.storage import Database, ProposalEventRow

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


def read_rows(path: Path, scheme: Scheme) -> list[Row]:
    """Every row checked for itself; all problems raised at once."""
    source = path.name
    header, raw = read_table(path)
    names = [h.strip().lower() for h in header]
    problems = [Problem(source, f"unknown column '{h.strip()[:40]}'", 1, h.strip()[:40])
                for h, n in zip(header, names) if n not in COLUMNS]
    problems += [Problem(source, "required column is missing", 1, c) for c in REQUIRED if c not in names]
    if problems:
        refuse_file(source, problems)
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
                  reason=cell.get("reason", ""), note=cell.get("note", "")[:500],
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
        if bad:
            problems += bad
        else:
            rows.append(row)
    if problems:
        refuse_file(source, problems)
    if not rows:
        raise InputFileError([Problem(source, "the file has a header but no rows")])
    return rows


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
    rows = read_rows(path, scheme)
    source = path.name
    result = DecisionsResult()
    with db.transaction() as session:
        problems = []
        for row in rows:
            target = ACTIONS[row.action]
            done = session.exec(select(ProposalEventRow.id).where(
                ProposalEventRow.proposal_id == row.proposal, ProposalEventRow.to_status == target.value,
                ProposalEventRow.on == row.on)).first()
            if done is not None:
                result.already += 1
                continue
            try:
                if row.action == "refuse":
                    made = proposals.refuse(session, scheme, row.proposal, row.on, row.by, row.reason, row.note,
                                            row.reasonable)
                elif row.action == "sign":
                    made = proposals.sign(session, scheme, row.proposal, row.tenancy_start, row.on)
                else:
                    made = proposals.advance(session, scheme, row.proposal, row.on, ROLE[row.action], target,
                                             row.viewing_on)
            except (StateError, NotFoundError) as exc:
                problems.append(Problem(source, exc.message, row.line, "action"))
                continue
            result.applied += 1
            result.changes += made
        if problems:
            # Raised inside the transaction: everything this file did is rolled back.
            refuse_file(source, problems)
    return result
