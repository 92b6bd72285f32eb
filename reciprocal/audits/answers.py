"""Members' returned workbooks, imported in one go (`reciprocal answers import FILE...`).

Each file is a member's answers workbook (`reciprocal.audits.workbook`), bound by its front sheet
(and its name, where it kept it) to the member and the pack day it was written for, or one of its
CSV twins (`<member>-<day>-proposals|households|waiting.csv`), bound by its first line; a twin's
rows take the very path of the workbook's sheet's rows, with the same checks and messages. Every
file is read and every row checked before anything is applied; a problem names the file, the
sheet (a workbook's), the row and the column:

- a row acting outside the member's role (an action its role may not take at that stage, or a
  stage where the other member acts), on a proposal that is not the member's, on a stage that has
  moved on since the pack, on a household it does not hold; a forged member cell; the same
  proposal or household answered twice; a formula; a number or date in other digits than 0-9; a
  cell with control characters;
- what any import refuses (a reason code the scheme does not have, an offer breaking a rule...).

Each file is all or nothing, in one transaction: its rows are applied through the very functions
the commands call (`reciprocal.lifecycle.run`: advance, refuse (with the freed home re-offered),
sign, request_change; offers through `reciprocal.intake.pot.add_records`), so a workbook's answer
is the command's, with its trail event and its printed changes. A row whose answer the trail
already holds (the same file imported again, or answered by command since) is reported, not
applied twice. Files with problems are refused whole; the others are applied. Before any row is
checked, the live proposals are judged again under the configs as they are now, as at the start of
every command that changes state (`run._rejudged`): what that cancels is kept and reported first.
"""
from __future__ import annotations

import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlmodel import select

from reciprocal.audits.workbook import (FRONT, FRONT_CELLS, HOUSEHOLDS, LIVE_STAGES, OFFER_ANSWER, OUTCOMES,
                                        PROPOSALS, REQUEST_ANSWERS, STAGE_ACTIONS, TWINS, VERSION, WAITING,
                                        check_code)
from reciprocal.config import Scheme
from reciprocal.domain import ProposalStatus, RequestOutcome, RequestStatus, Role
from reciprocal.errors import InputFileError, Problem, ReciprocalError
from reciprocal.intake import readers
from reciprocal.lifecycle import run, views
from reciprocal.lifecycle.changes import Change
from reciprocal.storage import Database, OfferRow, ProposalEventRow, ProposalRow, RequestRow

NAME = re.compile(r"(?P<member>[a-z0-9_]+)-(?P<day>\d{4}-\d{2}-\d{2})"
                  r"(\.answers\.xlsx|\.xlsx|-(?P<twin>proposals|households|waiting)\.csv)")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Who answers each stage's advance, as the trail records it (refusals record who refused).
ADVANCE_ROLE = {"nomination_confirmed": Role.offering_landlord, "viewing": Role.offering_landlord,
                "accepted": Role.household}


@dataclass
class Row:
    """One answer, checked, with where it came from."""

    sheet: str
    line: int
    key: str  # the proposal id, the request's ref or the offer's ref
    apply: object  # a function of the database that applies it and returns its changes
    already: str | None = None  # why it needs nothing: the trail holds it


@dataclass
class FileResult:
    file: str
    member: str
    day: str
    changes: list[Change] = field(default_factory=list)
    applied: int = 0
    already: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"file": self.file, "member": self.member, "day": self.day,
                "status": "refused" if self.problems else "imported", "applied": self.applied,
                "already_applied": self.already, "changes": [c.to_json() for c in self.changes],
                "problems": [str(p) for p in self.problems]}


@dataclass
class AnswersResult:
    files: list[FileResult]
    rejudged: list[Change] = field(default_factory=list)  # made at the start, kept whatever the files

    @property
    def refused(self) -> list[FileResult]:
        return [f for f in self.files if f.problems]

    def to_json(self) -> dict:
        return {"files": [f.to_json() for f in self.files],
                "rejudged": [c.to_json() for c in self.rejudged],
                "changes": [c.to_json() for c in self.rejudged] + [c.to_json() for f in self.files for c in f.changes]}


class _Within:
    """The database, with every transaction the commands' functions open joined to one outer
    transaction (the file's): they run unchanged, and the file stays all or nothing."""

    def __init__(self, db: Database, session):
        self._db, self._session = db, session

    @contextmanager
    def transaction(self):
        yield self._session

    reading = transaction

    def __getattr__(self, name):
        return getattr(self._db, name)


# -- reading ---------------------------------------------------------------------------------------

def _where(path: Path, sheet: str) -> str:
    return f"{path.name}, sheet '{sheet}'"


class _Sheet:
    """A sheet's rows as {column: value}, every cell checked for what no answer may hold: the one
    path of every row, whether it came from a workbook's sheet or from its CSV twin."""

    def __init__(self, source: str, header: list, lines, problems: list[Problem]):
        """`lines`: (row number, [(value, whether the cell is a formula)]) after the header."""
        self.source, self.rows = source, []
        header = [str(c).strip() if c is not None else "" for c in header]
        for number, cells in lines:
            row = {}
            for column, (value, formula) in zip(header, cells):
                if not column:
                    continue
                if formula:
                    problems.append(Problem(self.source, "the cell is a formula; type the answer itself",
                                            number, column))
                    continue
                if isinstance(value, str):
                    if CONTROL.search(value):
                        problems.append(Problem(self.source, "the cell holds control characters", number, column))
                        continue
                    value = value.strip() or None
                row[column] = value
            if any(v is not None for v in row.values()):
                self.rows.append((number, row))

    @classmethod
    def of_book(cls, path: Path, book, name: str, problems: list[Problem]) -> "_Sheet":
        if name not in book.sheetnames:
            problems.append(Problem(path.name, f"the sheet '{name}' is missing; return the workbook as it was sent"))
            return cls(_where(path, name), [], [], problems)
        values = list(book[name].iter_rows(max_col=readers.XLSX_COLUMNS))
        lines = [(number, [(c.value, c.data_type == "f") for c in cells])
                 for number, cells in enumerate(values[1:], start=2)]
        return cls(_where(path, name), [c.value for c in values[0]] if values else [], lines, problems)

    @classmethod
    def of_csv(cls, path: Path, header: list[str], lines: list[tuple[int, list[str]]],
               problems: list[Problem]) -> "_Sheet":
        # A CSV cell is text: one starting with = is what a spreadsheet would take for a formula.
        return cls(path.name, header, [(number, [(c, c.lstrip().startswith("=")) for c in cells])
                                       for number, cells in lines], problems)


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _whole(value, what: str) -> int:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"'{value}' is not {what}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise ValueError(f"'{text[:40]}' is not {what} (digits 0-9 only)")
    return int(text)


def _day(value) -> date | None:
    """A date cell: a real date, or a date typed as text (ISO or day first), digits 0-9 only."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text.isascii():
        raise ValueError(f"'{text[:40]}' is not a date (digits 0-9 only)")
    return readers.parse_date_cell(text)


def _bind(path: Path, cell: dict, at, scheme: Scheme, problems: list[Problem],
          bound_by: str = "front sheet") -> tuple[str, date] | None:
    """The member and day the file was written for, from its front sheet's cells (a CSV twin: its
    first line), held to its check code (and to its file name where it kept it). `at(key)` is
    where a key's cell is: (source, line)."""
    def fail(key: str, message: str) -> None:
        source, line = at(key)
        problems.append(Problem(source, message, line, key))

    if cell.get("version") != VERSION:
        fail("version", f"the workbook's version is '{_text(cell.get('version'))[:40]}', not '{VERSION}'")
        return None
    if cell.get("scheme") != scheme.id:
        fail("scheme", f"the workbook is for scheme '{_text(cell.get('scheme'))[:40]}', not '{scheme.id}'")
        return None
    try:
        day = _day(cell.get("day"))
    except ValueError as exc:
        fail("day", str(exc))
        return None
    member = _text(cell.get("member"))
    written_for = [m for m in scheme.providers if day and check_code(scheme.id, m, day.isoformat()) == cell.get("check")]
    if not written_for:
        fail("check", "the check code does not match the member and day: the front sheet was changed; return "
                      "the workbook as it was sent")
        return None
    if member != written_for[0]:
        fail("member", f"the member cell says '{member[:40]}', but the workbook was written for "
                       f"{written_for[0]}; nothing in it is applied")
        return None
    named = NAME.fullmatch(path.name)
    if named and (named["member"], named["day"]) != (member, day.isoformat()):
        problems.append(Problem(path.name, f"the file is named for {named['member']} on {named['day']}, but its "
                                           f"{bound_by} is {member}'s of {day.isoformat()}"))
        return None
    return member, day


# -- checking each sheet's rows --------------------------------------------------------------------

class _Faults(list):
    """One row's problems."""

    def __init__(self, source: str, line: int):
        super().__init__()
        self.source, self.line = source, line

    def fail(self, column: str, message: str) -> None:
        self.append(Problem(self.source, message, self.line, column))


def _answered(sheet: _Sheet, column: str):
    """Each row that gives an answer (its `column` filled: a blank row answers nothing), with the
    list its problems go into."""
    for line, cell in sheet.rows:
        if _text(cell.get(column)):
            yield line, cell, _Faults(sheet.source, line)

def _proposal_rows(session, scheme: Scheme, sheet: _Sheet, member: str, day: date,
                   problems: list[Problem]) -> list[Row]:
    out, seen = [], {}
    codes = scheme.config.lifecycle.refusal_reasons
    for line, cell, bad in _answered(sheet, "action"):
        fail, action = bad.fail, _text(cell.get("action"))
        try:
            pid = _whole(cell.get("proposal"), "a proposal id")
        except ValueError as exc:
            fail("proposal", str(exc))
            problems += bad
            continue
        if pid in seen:
            fail("proposal", f"proposal {pid} is answered again (first on row {seen[pid]})")
        seen.setdefault(pid, line)
        p = session.get(ProposalRow, pid)
        if p is None or member not in (p.from_provider, p.to_provider):
            fail("proposal", f"proposal {pid} is not one of {member}'s proposals")
            problems += bad
            continue
        if _text(cell.get("request")) != p.request_ref:
            fail("request", f"proposal {pid} is for another household than '{_text(cell.get('request'))[:40]}'")
        stage = _text(cell.get("stage"))
        if stage not in LIVE_STAGES:
            fail("stage", f"'{stage[:40]}' is not the stage the pack gave (one of {', '.join(LIVE_STAGES)})")
            problems += bad
            continue
        side, _ = views.ACTION[stage]
        if getattr(p, side) != member:
            fail("action", f"at stage {stage} the {'offering' if side == 'to_provider' else 'referring'} member "
                           f"answers, not {member}")
        allowed = STAGE_ACTIONS[stage]
        if action not in allowed:
            fail("action", f"'{action[:40]}' is not an action {member} may take at stage {stage} "
                           f"({', '.join(allowed)})")
            problems += bad
            continue
        target, by = allowed[action]
        values = {}
        for column in ("answered_on", "viewing_on", "tenancy_start"):
            try:
                values[column] = _day(cell.get(column))
            except ValueError as exc:
                fail(column, str(exc))
        on = values.get("answered_on") or day
        reason, note = _text(cell.get("reason")), _text(cell.get("note"))[:500]
        reasonable = None
        if target == "refused":
            if reason not in codes:
                fail("reason", f"'{reason[:40]}' is not one of the scheme's refusal reasons ({', '.join(codes)})")
            answer = _text(cell.get("reasonable")).lower()
            if answer in ("yes", "no"):
                reasonable = answer == "yes"
            elif by.value == "household":
                fail("reasonable", "a household refusal needs reasonable yes or no")
        if target == "viewing" and values.get("viewing_on") is None and "viewing_on" not in {b.field for b in bad}:
            fail("viewing_on", "a viewing needs its date")
        if target == "signed" and values.get("tenancy_start") is None and "tenancy_start" not in {b.field for b in bad}:
            fail("tenancy_start", "a signing needs the tenancy start date")
        if bad:
            problems += bad
            continue
        held = session.exec(select(ProposalEventRow.on).where(ProposalEventRow.proposal_id == pid,
                                                              ProposalEventRow.to_status == target)).first()
        if held is not None:
            out.append(Row(PROPOSALS, line, str(pid), None,
                           f"proposal {pid}: {target} on {held.isoformat()} is already in the trail"))
            continue
        if p.status != stage:
            fail("stage", f"proposal {pid} has moved on since the pack: it is {p.status} now, not {stage}")
            problems += bad
            continue
        out.append(Row(PROPOSALS, line, str(pid), _proposal_apply(scheme, pid, target, by, on, values, reason, note,
                                                                 reasonable)))
    return out


def _proposal_apply(scheme, pid, target, by, on, values, reason, note, reasonable):
    if target == "refused":
        return lambda db: run.refuse(db, scheme, pid, on, by, reason, note, reasonable).changes
    if target == "signed":
        return lambda db: run.sign(db, scheme, pid, values["tenancy_start"], on).changes
    return lambda db: run.advance(db, scheme, pid, on, ADVANCE_ROLE[target], ProposalStatus(target),
                                  values["viewing_on"]).changes


def _waiting_rows(session, scheme: Scheme, sheet: _Sheet, member: str, day: date,
                  problems: list[Problem]) -> list[Row]:
    out, seen = [], {}
    for line, cell, bad in _answered(sheet, "answer"):
        fail, answer = bad.fail, _text(cell.get("answer"))
        ref = _text(cell.get("request"))
        if ref in seen:
            fail("request", f"{ref[:40]} is answered again (first on row {seen[ref]})")
        seen.setdefault(ref, line)
        r = session.exec(select(RequestRow).where(RequestRow.ref == ref)).first()
        if r is None or r.provider != member:
            fail("request", f"'{ref[:40]}' is not a household {member} holds")
            problems += bad
            continue
        status = _text(cell.get("status"))
        if status not in REQUEST_ANSWERS or answer not in REQUEST_ANSWERS[status]:
            fail("answer", f"'{answer[:40]}' is not an answer for a request {status[:20]} "
                           f"({', '.join(REQUEST_ANSWERS.get(status, ()))})")
            problems += bad
            continue
        outcome = _text(cell.get("outcome"))
        if answer == "close" and outcome not in OUTCOMES:
            fail("outcome", f"closing needs an outcome ({', '.join(OUTCOMES)})")
        try:
            on = _day(cell.get("answered_on")) or day
        except ValueError as exc:
            fail("answered_on", str(exc))
        if bad:
            problems += bad
            continue
        done = {"close": RequestStatus.closed.value}.get(answer, RequestStatus.active.value)
        if r.status == done and (answer == "close" or (r.reconfirmed_on is not None and r.reconfirmed_on >= on)):
            out.append(Row(WAITING, line, ref, None, f"request {ref}: {r.status} already"))
            continue
        if r.status != status:
            fail("status", f"{ref} has moved on since the pack: it is {r.status} now, not {status}")
            problems += bad
            continue
        kwargs = {"outcome": RequestOutcome(outcome)} if answer == "close" else {}
        out.append(Row(WAITING, line, ref,
                       lambda db, a=answer, ref=ref, on=on, kw=kwargs: run.request_change(db, scheme, a, ref, on,
                                                                                          **kw).changes))
    return out


def _offer_rows(session, scheme: Scheme, sheet: _Sheet, member: str, day: date,
                problems: list[Problem]) -> list[Row]:
    from reciprocal.intake import pot
    filled = [(line, cell) for line, cell in sheet.rows
              if any(cell.get(c) is not None for c in OFFER_ANSWER if c != "for_request")]
    if not filled:
        return []
    header = ["provider", *OFFER_ANSWER]
    raw = []
    for line, cell in filled:
        if _text(cell.get("for_request")) != _text(cell.get("request")):
            problems.append(Problem(sheet.source, f"the home is offered for "
                                    f"'{_text(cell.get('for_request'))[:40]}', not for this row's household "
                                    f"{_text(cell.get('request'))[:40]}", line, "for_request"))
        texts = [member]
        for column in OFFER_ANSWER:
            value = cell.get(column)
            if isinstance(value, (datetime, date)):
                value = _day(value).isoformat()
            elif isinstance(value, float) and value.is_integer():
                value = int(value)
            text = _text(value)
            if column != "notes" and not text.isascii():
                problems.append(Problem(sheet.source, f"'{text[:40]}' has characters other than plain letters "
                                                      f"and digits 0-9", line, column))
            texts.append(text)
        raw.append((line, texts))
    parsed, found = readers._parse_rows(sheet.source, header, raw, readers.OFFER_COLUMNS)
    problems += found
    out, seen = [], {}
    for line, record in parsed:
        checks = readers._scheme_checks_offer(scheme, sheet.source, line, record)
        if record["ref"] in seen:
            checks.append(Problem(sheet.source, f"home {record['ref']} is offered again (first on row "
                                                f"{seen[record['ref']]})", line, "ref"))
        seen.setdefault(record["ref"], line)
        if checks:
            problems += checks
            continue
        offer = readers._build_offer(record)
        stored = session.exec(select(OfferRow.provider).where(OfferRow.ref == offer.ref)).first()
        if stored is not None and stored != member:
            problems.append(Problem(sheet.source, f"home {offer.ref} is another member's", line, "ref"))
            continue
        out.append(Row(HOUSEHOLDS, line, offer.ref,
                       lambda db, o=offer, line=line: _add_offer(pot, db, scheme, o, sheet.source, line, day)))
    return out


def _add_offer(pot, db, scheme: Scheme, offer, source: str, line: int, day: date) -> list[Change]:
    try:
        result = pot.add_records(db, [offer], source, scheme, today=day)
    except InputFileError as exc:  # the row's line, for each problem the intake found
        raise InputFileError([Problem(source, p.message, line, p.field) for p in exc.problems]) from None
    if not result.added:
        return []
    why = f"offered for {offer.for_request}" if offer.for_request else "offered"
    return [Change("offer", offer.ref, None, "available", why)]


# -- importing -------------------------------------------------------------------------------------

def _open(path: Path, problems: list[Problem]):
    from openpyxl import load_workbook  # only an import of workbooks needs it
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
        if expanded > readers.MAX_XLSX_EXPANDED_BYTES:
            problems.append(Problem(path.name, f"the workbook expands to {expanded:,} bytes; the limit is "
                                               f"{readers.MAX_XLSX_EXPANDED_BYTES:,}"))
            return None
        return load_workbook(path, data_only=False)
    except FileNotFoundError:
        problems.append(Problem(path.name, "no such file"))
    except Exception:  # openpyxl raises many kinds for a broken zip
        problems.append(Problem(path.name, "not a readable XLSX workbook"))
    return None


@dataclass
class _Read:
    """One file read and bound, before the database is touched: its member, day and sheets."""

    path: Path
    problems: list[Problem]
    member: str = ""
    day: date | None = None
    sheets: dict[str, _Sheet] = field(default_factory=dict)


def _read_book(path: Path, scheme: Scheme) -> _Read:
    read = _Read(path, [])
    book = _open(path, read.problems)
    if book is None:
        return read
    if FRONT not in book.sheetnames:
        read.problems.append(Problem(path.name, "not an answers workbook: it has no front sheet"))
        return read
    front = book[FRONT]
    cell = {key: front[f"B{row}"].value for key, row in FRONT_CELLS.items()}
    bound = _bind(path, cell, lambda key: (_where(path, FRONT), FRONT_CELLS[key]), scheme, read.problems)
    if bound is not None:
        read.member, read.day = bound
        read.sheets = {name: _Sheet.of_book(path, book, name, read.problems) for name in (PROPOSALS, HOUSEHOLDS, WAITING)}
    return read


def _read_twin(path: Path, scheme: Scheme) -> _Read:
    """A CSV twin (`reciprocal.audits.workbook.twins_bytes`): its first line binds it, the second is
    the header; its rows take the workbook's path from there."""
    read = _Read(path, [])
    try:
        binding, lines = readers.read_table(path)
    except InputFileError as exc:
        read.problems += exc.problems
        return read
    cell = dict(c.strip().lstrip("#").strip().partition("=")[::2] for c in binding if "=" in c)
    cell = {k.strip(): v.strip() for k, v in cell.items()}
    sheet = {twin: name for name, twin in TWINS.items()}.get(cell.get("sheet", ""))
    bound = _bind(path, cell, lambda key: (path.name, 1), scheme, read.problems, "first line")
    if bound is None:
        return read
    if sheet is None:
        read.problems.append(Problem(path.name, f"'{_text(cell.get('sheet'))[:40]}' is not one of the answer "
                                                f"sheets ({', '.join(TWINS.values())})", 1, "sheet"))
        return read
    named = NAME.fullmatch(path.name)
    if named and named["twin"] != TWINS[sheet]:
        read.problems.append(Problem(path.name, f"the file is named for the {named['twin']} sheet, but its first "
                                                f"line is the {TWINS[sheet]} sheet's"))
        return read
    read.member, read.day = bound
    header, rows = (lines[0][1], lines[1:]) if lines else ([], [])
    read.sheets = {name: _Sheet(path.name, [], [], read.problems) for name in (PROPOSALS, HOUSEHOLDS, WAITING)}
    read.sheets[sheet] = _Sheet.of_csv(path, header, rows, read.problems)
    return read


def _read(path: Path, scheme: Scheme) -> _Read:
    """A returned workbook, or one of its CSV twins (by the file's type)."""
    return _read_twin(path, scheme) if path.suffix.lower() == ".csv" else _read_book(path, scheme)


def import_file(db: Database, scheme: Scheme, path: Path) -> FileResult:
    """One returned workbook or CSV twin, all or nothing (see the module docstring)."""
    return _apply(db, scheme, _read(Path(path), scheme))


def _apply(db: Database, scheme: Scheme, read: _Read, judged: run._Judged | None = None) -> FileResult:
    path, problems, sheets = read.path, read.problems, read.sheets
    if read.day is None:
        return FileResult(path.name, "", "", problems=problems)
    member, day = read.member, read.day
    result = FileResult(path.name, member, day.isoformat())
    try:
        with db.transaction() as session:
            if judged is not None:
                judged.remember(session)
            rows = _proposal_rows(session, scheme, sheets[PROPOSALS], member, day, problems)
            rows += _waiting_rows(session, scheme, sheets[WAITING], member, day, problems)
            rows += _offer_rows(session, scheme, sheets[HOUSEHOLDS], member, day, problems)
            if problems:
                raise _Refused
            within = _Within(db, session)
            for row in rows:
                if row.already:
                    result.already.append(f"{row.sheet} row {row.line}: {row.already}")
                    continue
                try:
                    result.changes += row.apply(within)
                except InputFileError as exc:
                    problems += exc.problems
                except ReciprocalError as exc:  # a state the checks did not foresee
                    problems.append(Problem(sheets[row.sheet].source, exc.message, row.line, row.key))
                if problems:  # the session may be half-way through the row: stop, undo the file
                    raise _Refused
                result.applied += 1
    except _Refused:  # raised inside the transaction: everything this file did is rolled back
        return FileResult(path.name, member, day.isoformat(),
                          problems=sorted(problems, key=lambda p: (p.source, p.line or 0)))
    return result


class _Refused(Exception):
    """A file with problems: its transaction is rolled back."""


def import_answers(db: Database, scheme: Scheme, paths: list[Path]) -> AnswersResult:
    """Every file, each all or nothing; every problem of every file is in the result. Every file
    is read and bound first; then, as at the start of every command that changes state, the live
    proposals are judged again under the configs as they are now (`run._rejudged`, on the latest
    day a file is bound to), before any row is checked against them; a cancellation it makes is
    kept (and reported) whatever becomes of the files."""
    read = [_read(Path(p), scheme) for p in paths]
    days = [r.day for r in read if r.day is not None]
    if not days:
        return AnswersResult([_apply(db, scheme, r) for r in read])
    judged = run._rejudged(db, scheme, max(days))
    with judged.reported():
        return AnswersResult([_apply(db, scheme, r, judged) for r in read], list(judged))
