"""A member's answers workbook (`<member>-<day>.xlsx`, written by `reciprocal pack` beside the pack).

The pack says what a member must act on; the workbook is where it answers, so the coordinator
imports every returned workbook in one command (`reciprocal answers import`, `reciprocal.audits.
answers`) instead of retyping each answer. It is made from the pack itself (so it shows exactly
what the pack may show, `reciprocal.scope` applied) and holds four sheets:

- "Front": the scheme, the member, the pack's day, the workbook's version, what to do and what was
  already done this week. The member and the day bind the file: an import checks them against the
  file's name and the check code, and every row against what that member may do.
- "Your proposals": each live proposal where this member must act next, prefilled (proposal,
  request, home where the member offers it, stage, due date, what is awaited), with the answer's
  columns: the action (a drop-down of the actions its role may take at that stage only), the day
  of the answer, the viewing date, the reason (the scheme's reason codes), reasonable yes/no, the
  tenancy start, a note.
- "Households you could house": its circulation list, with an offer's own columns to fill
  (`for_request` prefilled) to offer a home for that household.
- "Your waiting households": its requests that are stale, on hold or in review, with the answer
  (reconfirm, close, resume, as the status allows), the outcome of a close, the day.

Dates are real dates; the allowed answers are drop-down lists. openpyxl is imported inside the
functions, so commands that never write a workbook never load it.
"""
from __future__ import annotations

import hashlib
import io
from datetime import date

from reciprocal.config import Scheme
from reciprocal.domain import PropertyType, RefusedBy, RequestOutcome

VERSION = "reciprocal answers workbook 1"
FRONT, PROPOSALS, HOUSEHOLDS, WAITING = ("Front", "Your proposals", "Households you could house",
                                         "Your waiting households")
LISTS = "Lists"
# The front sheet's cells an import reads (label in A, value in B).
FRONT_CELLS = {"scheme": 2, "member": 3, "day": 4, "version": 5, "check": 6}

# Each live stage's answers, in the words of the drop-down: (what the engine does, who refused).
# Who may answer at a stage is the member `views.ACTION` says must act next.
STAGE_ACTIONS: dict[str, dict[str, tuple[str, RefusedBy | None]]] = {
    "proposed": {"confirm nomination": ("nomination_confirmed", None),
                 "refuse (offering landlord)": ("refused", RefusedBy.offering_landlord)},
    "nomination_confirmed": {"viewing set": ("viewing", None),
                             "refuse (offering landlord)": ("refused", RefusedBy.offering_landlord)},
    "viewing": {"household accepts": ("accepted", None),
                "household refuses": ("refused", RefusedBy.household),
                "refuse (referring landlord)": ("refused", RefusedBy.referring_landlord)},
    "accepted": {"tenancy signed": ("signed", None),
                 "refuse (offering landlord)": ("refused", RefusedBy.offering_landlord)},
}
# A waiting household's answers, by its status.
REQUEST_ANSWERS = {"stale": ("reconfirm", "close"), "on_hold": ("resume", "close"), "review": ("resume", "close")}
OUTCOMES = tuple(o.value for o in RequestOutcome)
YES_NO = ("yes", "no")

PROPOSAL_GIVEN = ["proposal", "request", "home", "stage", "due", "awaited"]
PROPOSAL_ANSWER = ["action", "answered_on", "viewing_on", "reason", "reasonable", "tenancy_start", "note"]
HOUSEHOLD_GIVEN = ["request", "risk", "bedrooms_needed", "step_free_needed", "wheelchair_needed",
                   "weeks_waiting", "safe_areas"]
# The offer's own columns (reciprocal.intake.readers.OFFER_COLUMNS), less the provider: it is the member.
OFFER_ANSWER = ["ref", "area", "bedrooms", "property_type", "floor", "step_free", "wheelchair_accessible",
                "tenancy_offered", "weekly_rent", "available_from", "available_until", "restrictions",
                "notes", "for_request"]
WAITING_GIVEN = ["request", "status", "hold_reason", "look_again_on", "reconfirmed_on", "awaited"]
WAITING_ANSWER = ["answer", "outcome", "answered_on"]
DATE_COLUMNS = {"due", "answered_on", "viewing_on", "tenancy_start", "available_from", "available_until",
                "look_again_on", "reconfirmed_on"}
DATE_FORMAT = "yyyy-mm-dd"
LIVE_STAGES = tuple(STAGE_ACTIONS)
# The sheets whose answer depends on the row: (answer column, index of the column it depends on,
# the choices for each value of it, words for the drop-down's error message).
ROW_CHOICES = {PROPOSALS: ("action", 3, STAGE_ACTIONS, "an action of a proposal at"),
               WAITING: ("answer", 1, REQUEST_ANSWERS, "an answer for a request")}


def check_code(scheme_id: str, member: str, day: str) -> str:
    """Binds the front sheet's member and day together: an edited member cell no longer matches.
    Not a secret (nothing here is): it catches a workbook meant for one member returned as
    another's, by mistake or not; every row is still held to what its member may do."""
    return hashlib.sha256(f"{VERSION}|{scheme_id}|{member}|{day}".encode()).hexdigest()[:12]


def workbook_file_name(pack: dict) -> str:
    return f"{pack['member']}-{pack['on']}.xlsx"


# The CSV twins: each answer sheet as its own CSV file, for a member whose spreadsheet or housing
# system works in CSV: `<member>-<day>-<twin>.csv`. A CSV has no front sheet, so its first line
# binds it instead: `# version=...,scheme=...,member=...,day=...,sheet=...,check=...` (cells a
# spreadsheet keeps as text); the header is the second line, the rows follow.
TWINS = {PROPOSALS: "proposals", HOUSEHOLDS: "households", WAITING: "waiting"}
BINDING = ("version", "scheme", "member", "day", "sheet", "check")


def twin_file_name(pack: dict, sheet: str) -> str:
    return f"{pack['member']}-{pack['on']}-{TWINS[sheet]}.csv"


def twins_bytes(pack: dict) -> dict[str, bytes]:
    """Each answer sheet as a CSV file (file name -> bytes), bound like the workbook."""
    from reciprocal.audits.exports import csv_text
    out = {}
    for sheet, (header, rows) in sheet_rows(pack).items():
        values = (VERSION, pack["scheme"], pack["member"], pack["on"], TWINS[sheet],
                  check_code(pack["scheme"], pack["member"], pack["on"]))
        binding = [f"{key}={value}" for key, value in zip(BINDING, values)]
        binding[0] = "# " + binding[0]
        out[twin_file_name(pack, sheet)] = csv_text(binding, [header, *rows]).encode("utf-8")
    return out


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def sheet_rows(pack: dict) -> dict[str, tuple[list[str], list[list]]]:
    """Each answer sheet's (header, prefilled rows): what the workbook and its CSV twins hold."""
    acting = [p for p in pack["proposals"] if p["status"] in STAGE_ACTIONS and p.get("must_act") == "you"]
    proposals = [[p["id"], p["request"], p.get("offer") or "", p["status"], _day(p.get("due_on")),
                  p.get("action") or ""] + [None] * len(PROPOSAL_ANSWER) for p in acting]
    households = [[r["request"], r["risk"], r["bedrooms_needed"], _yes(r["needs_step_free"]),
                   _yes(r["needs_wheelchair"]), r["weeks_waiting"], ", ".join(r["safe_areas"] or ())]
                  + [None] * (len(OFFER_ANSWER) - 1) + [r["request"]] for r in pack["circulation"]]
    waiting = [[r["request"], r["status"], r["hold_reason"] or "", _day(r["look_again_on"]),
                _day(r["reconfirmed_on"]), r["action"]] + [None] * len(WAITING_ANSWER)
               for r in pack["requests"] if r["status"] in REQUEST_ANSWERS]
    return {PROPOSALS: (PROPOSAL_GIVEN + PROPOSAL_ANSWER, proposals),
            HOUSEHOLDS: (HOUSEHOLD_GIVEN + OFFER_ANSWER, households),
            WAITING: (WAITING_GIVEN + WAITING_ANSWER, waiting)}


def _yes(value) -> str:
    return "yes" if value else "no"


def _front(pack: dict, counts: dict[str, int]) -> list[tuple[str, object]]:
    done = [p for p in pack["proposals"] if p["status"] not in STAGE_ACTIONS]
    waiting_on_others = sum(1 for p in pack["proposals"] if p["status"] in STAGE_ACTIONS and p.get("must_act") != "you")
    return [
        ("Answers workbook", f"{pack['scheme_name']}: {pack['name']}"),
        ("scheme", pack["scheme"]), ("member", pack["member"]), ("day", date.fromisoformat(pack["on"])),
        ("version", VERSION), ("check", check_code(pack["scheme"], pack["member"], pack["on"])),
        ("", ""),
        ("What to do", "Fill in the coloured columns of each sheet, choosing from the drop-down lists; "
                       "leave a row blank to give no answer. Keep the other cells, the sheet names and this "
                       "front sheet as they are; return the file to the coordinator."),
        (PROPOSALS, f"{counts[PROPOSALS]} proposal(s) wait on you: choose the action (and the date, reason, "
                    f"viewing date or tenancy start it needs)."),
        (HOUSEHOLDS, f"{counts[HOUSEHOLDS]} household(s) in your areas wait for a home: to offer one for a "
                     f"household, fill in the home's columns on its row (ref, area, bedrooms, type, "
                     f"available from...)."),
        (WAITING, f"{counts[WAITING]} of your household(s) wait on you: reconfirm, resume or close "
                  f"(with the outcome)."),
        ("Already done", f"{len(done)} proposal(s) ended in the week; {waiting_on_others} live proposal(s) "
                         f"wait on another member or the household."),
        ("Balance", pack["balance"]["in_words"]),
    ]


def workbook_bytes(pack: dict, scheme: Scheme) -> bytes:
    """The workbook of one member's pack, as the bytes of an XLSX file."""
    from openpyxl import Workbook  # only a pack with its workbook needs it
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    sheets = sheet_rows(pack)
    book = Workbook()
    front = book.active
    front.title = FRONT
    for label, value in _front(pack, {name: len(rows) for name, (_, rows) in sheets.items()}):
        front.append([label, value])
    front[f"B{FRONT_CELLS['day']}"].number_format = DATE_FORMAT
    front["A1"].font = front["B1"].font = Font(bold=True)
    front.column_dimensions["A"].width, front.column_dimensions["B"].width = 28, 110

    fill = PatternFill("solid", fgColor="FFF4CC")  # the cells a member fills in
    codes = scheme.config.lifecycle.refusal_reasons
    areas = list(scheme.providers[pack["member"]].areas)
    lists = {"reason": codes, "reasonable": YES_NO, "property_type": [t.value for t in PropertyType],
             "step_free": YES_NO, "wheelchair_accessible": YES_NO, "outcome": OUTCOMES, "area": areas}
    _list = _Lists(book)
    answers = {PROPOSALS: PROPOSAL_ANSWER, HOUSEHOLDS: OFFER_ANSWER[:-1], WAITING: WAITING_ANSWER}
    for name, (header, rows) in sheets.items():
        sheet = book.create_sheet(name, len(book.sheetnames) - 1)  # before the hidden lists
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "B2"
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        last = max(len(rows) + 1, 2)
        for k, column in enumerate(header, start=1):
            letter = get_column_letter(k)
            sheet.column_dimensions[letter].width = max(12, min(40, len(column) + 4))
            if column in DATE_COLUMNS:
                for r in range(2, last + 1):
                    sheet[f"{letter}{r}"].number_format = DATE_FORMAT
            if column not in answers[name] or not rows:
                continue
            for r in range(2, last + 1):
                sheet[f"{letter}{r}"].fill = fill
            cells = f"{letter}2:{letter}{last}"
            if column in DATE_COLUMNS:
                _validate(sheet, DataValidation(type="date", operator="greaterThan", formula1="36526"), cells,
                          "a date (YYYY-MM-DD)")
            elif column in lists:
                _validate(sheet, _list(DataValidation, lists[column]), cells, "one of the list's values")
        if name in ROW_CHOICES:  # each row's drop-down: only what its stage or status allows
            column, key, choices, what = ROW_CHOICES[name]
            letter = get_column_letter(header.index(column) + 1)
            for state, allowed in choices.items():
                at = [r for r, row in enumerate(rows, start=2) if row[key] == state]
                if at:
                    _validate(sheet, _list(DataValidation, list(allowed)),
                              " ".join(f"{letter}{r}" for r in at), f"{what} {state}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class _Lists:
    """The drop-downs' values, each a column of a hidden sheet: an inline list is limited to 255
    characters, which a scheme's reason codes or a member's areas can pass."""

    def __init__(self, book):
        self.sheet = book.create_sheet(LISTS)
        self.sheet.sheet_state = "hidden"
        self.columns: dict[tuple, str] = {}

    def __call__(self, kind, values) -> object:
        from openpyxl.utils import get_column_letter
        values = tuple(values)
        if values not in self.columns:
            letter = get_column_letter(len(self.columns) + 1)
            for r, value in enumerate(values, start=1):
                self.sheet[f"{letter}{r}"] = value
            self.columns[values] = f"'{LISTS}'!${letter}$1:${letter}${max(1, len(values))}"
        return kind(type="list", formula1=self.columns[values], allow_blank=True)


def _validate(sheet, validation, cells: str, what: str) -> None:
    validation.error, validation.errorTitle = f"Choose {what}.", "Not an allowed answer"
    validation.showErrorMessage = True
    sheet.add_data_validation(validation)
    for part in cells.split():  # openpyxl takes one range at a time ("G2 G5" raised ValueError)
        validation.add(part)
