"""Intake of offers and requests from CSV or XLSX files (and single records from the CLI).

All or nothing: every row is parsed and checked against the scheme before anything is written, and
every bad row is reported with its line, column and reason. Files that carry personal data columns
(names, addresses, dates of birth, contact details) are refused outright: refs are pseudonymous
case codes and the engine stores nothing that identifies a household.
"""
from __future__ import annotations

import csv
import io
import calendar
import re
import zipfile
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable

from reciprocal.config import Scheme
from reciprocal.domain import (AGE_BANDS, MAX_BEDROOMS, OFFER_FIELDS, REQUEST_FIELDS, RESTRICTIONS, Offer, PropertyType,
                     Request, RequestKind, Risk)
from reciprocal.working_days import day_problem
from reciprocal.errors import InputFileError, Problem, printable

MAX_FILE_BYTES = 20_000_000
# An XLSX file is a zip: what its parts expand to is limited too, so a small "zip bomb" is
# refused before openpyxl inflates it.
MAX_XLSX_EXPANDED_BYTES = 200_000_000
MAX_ROWS = 100_000
# An XLSX sheet is read within these bounds, whatever range it declares: no file of MAX_ROWS rows
# (blank rows between them allowed) needs more, and a sheet past them is refused, not walked.
XLSX_COLUMNS = 64
XLSX_LINES = 2 * MAX_ROWS + 1
# A file with thousands of bad rows gets the first problems listed and a count of the rest:
# enough to see what is wrong, short enough to read.
MAX_LISTED = 200
REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-/.]{0,63}$")

# Column names (after normalising) that would carry personal data. Matching is on whole words so
# that e.g. `survivor_area` is not mistaken for an address.
PERSONAL_DATA_COLUMNS = {
    "name", "names", "first_name", "firstname", "forename", "forenames", "given_name", "surname",
    "last_name", "lastname", "family_name", "full_name", "fullname", "tenant_name", "client_name",
    "household_name", "address", "address1", "address2", "address_line_1", "address_line_2",
    "street", "street_address", "house_number", "postcode", "post_code", "zip", "zipcode",
    "date_of_birth", "dob", "birth_date", "birthdate", "born", "birthday", "phone", "telephone",
    "mobile", "email", "e_mail", "email_address", "nhs_number", "ni_number",
    "national_insurance_number", "nino", "uprn",
}

# Words that make a column personal data wherever they stand in its name, once punctuation is
# read as a separator: `D.O.B`, `Mobile No.`, `Tenant Name(s)`, `Client e-mail`.
PERSONAL_WORDS = {"name", "names", "surname", "forename", "forenames", "address", "postcode", "dob",
                  "birth", "birthday", "born", "phone", "telephone", "mobile", "email", "nhs", "nino",
                  "uprn"}


def looks_personal(column: str) -> bool:
    """Whether a column name would carry personal data, seen through punctuation and spacing."""
    words = [w for w in re.split(r"[^a-z0-9]+", column.strip().lower().lstrip("\ufeff")) if w]
    joined = "_".join(words)
    squashed = "".join(words)
    known = {c.replace("_", "") for c in PERSONAL_DATA_COLUMNS}
    return (joined in PERSONAL_DATA_COLUMNS or squashed in known or "dateofbirth" in squashed or "email" in squashed
            or any(w in PERSONAL_WORDS for w in words))


# What personal data typed into free text looks like: an email address, a UK phone number, a UK
# postcode, or a date of birth. Names cannot be told from other words; the help asks for none.
# Each is checked in time linear in the text: the email pattern starts only where a run of the
# characters an address may hold starts (the look-behind), since a start inside a run would scan
# the rest of it again, and 80,000 characters took 17.7 s of CPU that way.
PERSONAL_TEXT = (
    ("an email address", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+")),
    ("a phone number", re.compile(r"(?<![\d])(?:\+44\s?7\d{3}|07\d{3}|\+44\s?[12]\d{2,3}|0[12]\d{2,3})"
                                  r"[\s-]?\d{3}[\s-]?\d{3,4}(?![\d])")),
    ("a postcode", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)),
    ("a date of birth", re.compile(r"\b(?:d\.?o\.?b\.?|date of birth|born)\b", re.IGNORECASE)),
)


def personal_data_in(text: str) -> str | None:
    """What personal data a free-text note seems to hold ("a phone number"...), or None."""
    for what, pattern in PERSONAL_TEXT:
        if pattern.search(text or ""):
            return what
    return None


# Every note (an offer's, a refusal's, by option or in a file) is at most this long: longer is
# refused, never cut short silently.
MAX_NOTE_CHARACTERS = 500


def note_problem(text: str, rule: str = "notes are about the home and hold no personal data") -> str | None:
    """Why a free-text note cannot be stored (too long, or what looks like personal data), or None."""
    if len(text) > MAX_NOTE_CHARACTERS:
        return f"the note is {len(text):,} characters; a note is at most {MAX_NOTE_CHARACTERS}"
    found = personal_data_in(text)
    return f"looks like {found}; {rule}" if found else None


def _notes(value: str) -> str:
    """Free text about the home: refused when it is too long or holds what looks like personal data."""
    value = value.strip()
    found = note_problem(value)
    if found:
        raise FieldError(found)
    return value


TRUE = {"true", "yes", "y", "1", "t"}
FALSE = {"false", "no", "n", "0", "f", ""}


def normalise_column(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower().lstrip("\ufeff"))


class FieldError(ValueError):
    """A bad value in one field; the message says why."""


# -- field parsers: each takes the raw cell text and returns a value or raises FieldError ---------

def _text(value: str) -> str:
    return value.strip()


def _optional_text(value: str) -> str | None:
    return value.strip() or None


def _ref(value: str) -> str:
    value = value.strip()
    if not REF_PATTERN.match(value):
        raise FieldError("must be a case code of letters, digits and - _ / . (at most 64)")
    return value


# Numbers are plain ASCII digits: Python's int() and float() would also take `1_0` (10), `٣` and
# `３` (3), which no spreadsheet means as a number of bedrooms.
WHOLE_NUMBER = re.compile(r"-?[0-9]+(?:\.0*)?")  # "2.0": how a spreadsheet may save 2
AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]*)?")


def _int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        value = value.strip()
        if not WHOLE_NUMBER.fullmatch(value):
            raise FieldError(f"'{_show(value)}' is not a whole number (digits 0-9 only)")
        number = int(value.split(".")[0])
        if not lo <= number <= hi:
            raise FieldError(f"{number} is outside {lo}..{hi}")
        return number
    return parse


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def wrapped(value: str) -> Any:
        return None if value.strip() == "" else parse(value)
    return wrapped


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise FieldError(f"'{_show(value)}' is not yes/no (true/false)")


ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?: 00:00:00)?")
# UK spreadsheets write the day first: 16/11/2026, 1/4/2026, 16.11.2026 or 16-11-2026.
DAY_FIRST_DATE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")


def parse_date_cell(value: str) -> date:
    """ISO (2026-11-16) or day first as UK spreadsheets write it (16/11/2026); an impossible day
    is named as such, not as a wrong format."""
    v = value.strip()
    iso = ISO_DATE.fullmatch(v)
    uk = DAY_FIRST_DATE.fullmatch(v)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
    elif uk:
        day, month, year = int(uk.group(1)), int(uk.group(3)), int(uk.group(4))
    else:
        raise FieldError(f"'{_show(value)}' is not a date: write it as 2026-11-16 or 16/11/2026")
    try:
        parsed = date(year, month, day)
    except ValueError:
        if not 1 <= month <= 12:
            raise FieldError(f"'{_show(value)}' is not a date: there is no month {month} "
                             f"(dates are YYYY-MM-DD or day first, DD/MM/YYYY)") from None
        raise FieldError(f"'{_show(value)}' is not a date: {calendar.month_name[month]} {year} has "
                         f"{calendar.monthrange(year, month)[1]} days") from None
    problem = day_problem(parsed)
    if problem:
        raise FieldError(problem)
    return parsed


def _money(value: str) -> float:
    v = value.strip().lstrip("£")
    if not AMOUNT.fullmatch(v):
        raise FieldError(f"'{_show(value)}' is not an amount (digits 0-9, a point for pence)")
    amount = float(v)
    if not 0 <= amount <= 10_000:
        raise FieldError(f"{amount} is outside 0..10000")
    return round(amount, 2)


def _choice(options: Iterable[str]) -> Callable[[str], str]:
    allowed = list(options)

    def parse(value: str) -> str:
        v = value.strip().lower()
        if v not in allowed:
            raise FieldError(f"'{_show(value)}' is not one of {', '.join(allowed)}")
        return v
    return parse


def _list(value: str) -> tuple[str, ...]:
    parts = [p.strip() for p in re.split(r"[;,|]", value) if p.strip()]
    return tuple(dict.fromkeys(parts))


def _show(value: str) -> str:
    """Echo a bad value back, short and printable, so an error never prints a long free-text cell
    nor a control sequence a terminal would act on."""
    value = value.strip()
    value = value if len(value) <= 24 else value[:21] + "..."
    return printable(value).replace("\n", "\\u000a").replace("\t", "\\u0009")


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any]
    required: bool = True


OFFER_COLUMNS = [
    Column("ref", _ref), Column("provider", _text), Column("area", _text),
    Column("bedrooms", _int(0, MAX_BEDROOMS)),
    Column("property_type", _choice(t.value for t in PropertyType)),
    Column("floor", _optional(_int(-1, 60)), False),
    # Blank step_free is None until the offer is built, so that a stated 'no' beside
    # wheelchair_accessible 'yes' can be told from a blank one (`_contradictory_access`).
    Column("step_free", _optional(_bool), False), Column("wheelchair_accessible", _bool, False),
    Column("tenancy_offered", _optional_text, False),
    Column("weekly_rent", _optional(_money), False),
    Column("available_from", parse_date_cell), Column("restrictions", _list, False),
    Column("notes", _notes, False), Column("available_until", _optional(parse_date_cell), False),
    Column("for_request", _optional(_ref), False),
]
REQUEST_COLUMNS = [
    Column("ref", _ref), Column("provider", _text),
    Column("kind", _choice(k.value for k in RequestKind)),
    Column("current_tenancy", _text), Column("bedrooms_needed", _int(0, MAX_BEDROOMS)),
    Column("max_bedrooms", _optional(_int(0, MAX_BEDROOMS)), False),
    Column("needs_step_free", _bool, False), Column("needs_wheelchair", _bool, False),
    Column("avoid_areas", _list, False), Column("preferred_areas", _list, False),
    Column("risk", _choice(r.value for r in Risk)), Column("referred_on", parse_date_cell),
    Column("age", _optional(_choice(AGE_BANDS)), False),
    Column("survivor_area", _optional_text, False),
    Column("survivor_consent", _bool, False),
    Column("safety_decision_on", _optional(parse_date_cell), False),
]
assert [c.name for c in OFFER_COLUMNS] == list(OFFER_FIELDS)
assert [c.name for c in REQUEST_COLUMNS] == list(REQUEST_FIELDS)


# -- reading files ------------------------------------------------------------------------------

def read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) rows of a CSV or XLSX file."""
    source = path.name
    if path.is_dir():
        raise InputFileError([Problem(str(path), "is a folder, not a file")])
    if not path.is_file():
        raise InputFileError([Problem(str(path), "file not found" if not path.exists()
                                      else "not a regular file")])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputFileError([Problem(source, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")])
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError([Problem(source, f"cannot read file ({exc.strerror})")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputFileError([Problem(source, "not UTF-8 text; save the file as CSV UTF-8", line)]) from None
    if "\x00" in text:
        raise InputFileError([Problem(source, "contains NUL bytes; is it really a CSV file?")])
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    try:
        for cells in reader:
            if header is None:
                header = cells
                continue
            if not any(c.strip() for c in cells):
                continue
            rows.append((reader.line_num, cells))
            if len(rows) > MAX_ROWS:
                raise InputFileError([Problem(source, f"more than {MAX_ROWS:,} rows")])
    except csv.Error as exc:
        raise InputFileError([Problem(source, f"not valid CSV: {exc}", reader.line_num)]) from None
    if header is None:
        raise InputFileError([Problem(source, "the file is empty (no header row)")])
    return header, rows


def _read_xlsx(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    from openpyxl import load_workbook  # imported here: only XLSX intake needs it
    from openpyxl.utils import get_column_letter

    source = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputFileError([Problem(source, "not a readable XLSX workbook")]) from None
    if expanded > MAX_XLSX_EXPANDED_BYTES:
        raise InputFileError([Problem(source, f"the workbook expands to {expanded:,} bytes; the limit is "
                                              f"{MAX_XLSX_EXPANDED_BYTES:,}")])
    try:
        # Not data_only: a formula must be seen as one (its cached result may be stale or absent).
        workbook = load_workbook(path, read_only=True, data_only=False)
        sheet = workbook.worksheets[0]
        # The sheet's declared range is not trusted (A1:XFD1048576 would have every row padded to
        # 16,384 cells): read only the cells really there, within XLSX_COLUMNS columns, and only
        # down to the last row holding a value; one past XLSX_LINES (no file within MAX_ROWS needs
        # it) refuses the sheet.
        sheet.reset_dimensions()
    except Exception:  # openpyxl raises many kinds for a broken zip
        raise InputFileError([Problem(source, "not a readable XLSX workbook")]) from None
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    formulas: list[Problem] = []
    padding = None
    try:
        # Rows past the last one holding a value are empty, however they are styled (a sheet
        # formatted down to row 1,048,576 holds a cell in every row): they are not walked.
        last = _last_row_with_a_value(sheet.parent._archive, sheet._worksheet_path)
        if last > XLSX_LINES:
            raise InputFileError([Problem(source, f"the sheet goes on past row {XLSX_LINES:,}; at most "
                                                  f"{MAX_ROWS:,} rows are read (delete the cells below "
                                                  f"your data)")])
        for number, row in enumerate(sheet.iter_rows(max_col=XLSX_COLUMNS, max_row=max(last, 1)), start=1):
            if row is padding:
                continue  # the same empty row, standing for rows missing between rows far apart
            values = [getattr(cell, "value", None) for cell in row]
            # Only the cells holding something are looked at (a row is padded to XLSX_COLUMNS).
            present = [index for index, value in enumerate(values) if value is not None]
            if header is not None and not present:
                padding = row
                continue  # a blank row: nothing to read
            cells = [""] * len(values)
            for index in present:
                value = values[index]
                if getattr(row[index], "data_type", None) == "f":
                    name = header[index] if header and index < len(header) and header[index].strip() \
                        else get_column_letter(index + 1)
                    formulas.append(Problem(source, "the cell is a formula; save the sheet with values "
                                                    "only (copy, paste as values)", number, _show(name)))
                    continue
                cells[index] = value.isoformat()[:10] if isinstance(value, date) else str(value)
            if header is None:
                header = cells
                continue
            if any(c.strip() for c in cells):
                rows.append((number, cells))
            if len(rows) > MAX_ROWS:
                raise InputFileError([Problem(source, f"more than {MAX_ROWS:,} rows")])
    except InputFileError:
        raise
    except Exception:  # a damaged sheet inside a sound zip
        raise InputFileError([Problem(source, "not a readable XLSX workbook")]) from None
    finally:
        workbook.close()
    if formulas:
        refuse(source, formulas)
    if header is None:
        raise InputFileError([Problem(source, "the workbook's first sheet is empty")])
    while header and not header[-1].strip():
        header.pop()
    return header, rows


# A row's start (its number, where the sheet states it) and a cell's value, formula or inline text.
SHEET_TAGS = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?(row|v|f|is)(?=[\s/>])([^>]*)>')
ROW_NUMBER = re.compile(rb'\br\s*=\s*["\'](\d{1,9})["\']')


def _last_row_with_a_value(archive: zipfile.ZipFile, member: str) -> int:
    """The number of the sheet's last row that holds a value or a formula: one pass over the
    sheet's XML, in time linear in its (bounded) size, reading only row starts and values."""
    row = last = 0
    tail = b""
    with archive.open(member.lstrip("/")) as stream:
        while True:
            chunk = stream.read(1 << 20)
            text = tail + chunk
            # a tag cut by the chunk's end is read with the next chunk
            cut = text.rfind(b"<") if chunk else len(text)
            for tag in SHEET_TAGS.finditer(text, 0, cut):
                if tag.group(1) == b"row":
                    number = ROW_NUMBER.search(tag.group(2))
                    row = int(number.group(1)) if number else row + 1
                else:
                    last = row
            if not chunk:
                return last
            tail = text[cut:]


# -- parsing and checking -----------------------------------------------------------------------

def _check_header(source: str, header: list[str], columns: list[Column]) -> tuple[list[str], list[Problem]]:
    names = [normalise_column(h) for h in header]
    problems = []
    personal = [h for h in header if looks_personal(h)]
    if personal:
        problems.append(Problem(source, "refused: the file has personal data column(s) "
                                f"{', '.join(repr(p.strip()) for p in personal)}; the engine stores no "
                                "names, addresses or dates of birth, only pseudonymous case refs", 1))
        return names, problems
    known = {c.name for c in columns}
    for h, n in zip(header, names):
        if n not in known:
            problems.append(Problem(source, f"unknown column '{_show(h)}'", 1, _show(h)))
    seen: set[str] = set()
    for n in names:
        if n in seen and n in known:
            problems.append(Problem(source, "column appears twice", 1, n))
        seen.add(n)
    for c in columns:
        if c.required and c.name not in names:
            problems.append(Problem(source, "required column is missing", 1, c.name))
    return names, problems


def _parse_rows(source: str, header: list[str], rows: list[tuple[int, list[str]]],
                columns: list[Column]) -> tuple[list[tuple[int, dict]], list[Problem]]:
    names, problems = _check_header(source, header, columns)
    if problems:
        return [], problems
    by_name = {c.name: c for c in columns}
    parsed: list[tuple[int, dict]] = []
    for line, cells in rows:
        if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
            problems.append(Problem(source, f"row has {len(cells)} cells but the header has {len(names)}",
                                    line))
            continue
        record: dict[str, Any] = {}
        row_ok = True
        for index, name in enumerate(names):
            cell = cells[index] if index < len(cells) else ""
            column = by_name[name]
            if column.required and cell.strip() == "":
                problems.append(Problem(source, "value is required", line, name))
                row_ok = False
                continue
            try:
                record[name] = column.parse(cell)
            except FieldError as exc:
                problems.append(Problem(source, str(exc), line, name))
                row_ok = False
        if row_ok:
            parsed.append((line, record))
    return parsed, problems


def _scheme_checks_offer(scheme: Scheme, source: str, line: int, r: dict) -> list[Problem]:
    problems = []
    provider = scheme.providers.get(r["provider"])
    if provider is None:
        problems.append(Problem(source, f"unknown provider '{_show(r['provider'])}'", line, "provider"))
    if r["area"] not in scheme.config.areas:
        problems.append(Problem(source, f"unknown area '{_show(r['area'])}'", line, "area"))
    elif provider is not None and r["area"] not in provider.areas:
        problems.append(Problem(source, f"{provider.id} holds no stock in area '{r['area']}'", line, "area"))
    tenancy = r.get("tenancy_offered")
    if tenancy and tenancy not in scheme.config.tenancy_kinds:
        problems.append(Problem(source, f"unknown tenancy kind '{_show(tenancy)}'", line, "tenancy_offered"))
    until = r.get("available_until")
    if until is not None and until < r["available_from"]:
        problems.append(Problem(source, f"available_until {until.isoformat()} is before available_from "
                                f"{r['available_from'].isoformat()}", line, "available_until"))
    for restriction in r.get("restrictions", ()):
        if restriction not in RESTRICTIONS:
            problems.append(Problem(source, f"unknown restriction '{_show(restriction)}' (known: "
                                    f"{', '.join(RESTRICTIONS)})", line, "restrictions"))
    problems += _contradictory_access(source, line, r)
    return problems


def _contradictory_access(source: str, line: int, r: dict) -> list[Problem]:
    """A home stated not step-free yet wheelchair-accessible (a third-floor maisonette marked
    accessible) is a slip in one column or the other: rule 4 takes a wheelchair-accessible home as
    step-free, so it would be proposed to a household that needs step-free. Refused, naming both."""
    if r.get("wheelchair_accessible") and r.get("step_free") is False:
        return [Problem(source, "step_free is 'no' but wheelchair_accessible is 'yes'; a wheelchair-"
                        "accessible home is step-free: correct one of the two columns", line, "step_free")]
    return []


def _scheme_checks_request(scheme: Scheme, source: str, line: int, r: dict) -> list[Problem]:
    problems = []
    if r["provider"] not in scheme.providers:
        problems.append(Problem(source, f"unknown provider '{_show(r['provider'])}'", line, "provider"))
    if r["current_tenancy"] not in scheme.config.tenancy_kinds:
        problems.append(Problem(source, f"unknown tenancy kind '{_show(r['current_tenancy'])}'", line,
                                "current_tenancy"))
    for column in ("avoid_areas", "preferred_areas"):
        for area in r.get(column, ()):
            if area not in scheme.config.areas:
                problems.append(Problem(source, f"unknown area '{_show(area)}'", line, column))
    most = r.get("max_bedrooms")
    if most is not None and most < r["bedrooms_needed"]:
        problems.append(Problem(source, "max_bedrooms is below bedrooms_needed", line, "max_bedrooms"))
    if r["kind"] == RequestKind.perpetrator.value:
        area = r.get("survivor_area")
        if not area:
            problems.append(Problem(source, "a perpetrator request needs survivor_area", line,
                                    "survivor_area"))
        elif area not in scheme.config.areas:
            problems.append(Problem(source, f"unknown area '{_show(area)}'", line, "survivor_area"))
    elif r.get("survivor_area") or r.get("safety_decision_on"):
        problems.append(Problem(source, "survivor_area and safety_decision_on belong to perpetrator "
                                "requests only", line, "kind"))
    return problems


def _build_offer(r: dict) -> Offer:
    if "step_free" in r:
        r = {**r, "step_free": bool(r["step_free"])}
    return Offer(**{**r, "property_type": PropertyType(r["property_type"]),
                    "restrictions": tuple(r.get("restrictions", ()))})


def _build_request(r: dict) -> Request:
    return Request(**{**r, "kind": RequestKind(r["kind"]), "risk": Risk(r["risk"])})


def parse_offers(path: Path, scheme: Scheme) -> list[Offer]:
    return [offer for _, offer in read_offers(path, scheme)]


def parse_requests(path: Path, scheme: Scheme) -> list[Request]:
    return [request for _, request in read_requests(path, scheme)]


def read_offers(path: Path, scheme: Scheme) -> list[tuple[int, Offer]]:
    """The offers of a file, each with its line (so later problems can name the row)."""
    return _parse(path, scheme, OFFER_COLUMNS, _scheme_checks_offer, _build_offer)


def read_requests(path: Path, scheme: Scheme) -> list[tuple[int, Request]]:
    return _parse(path, scheme, REQUEST_COLUMNS, _scheme_checks_request, _build_request)


def _parse(path: Path, scheme: Scheme, columns, checks, build) -> list:
    header, rows = read_table(path)
    source = path.name
    parsed, problems = _parse_rows(source, header, rows, columns)
    first_line: dict[str, int] = {}
    out = []
    for line, record in parsed:
        found = checks(scheme, source, line, record)
        ref = record["ref"]
        if ref in first_line:
            found.append(Problem(source, f"ref {ref} also appears on line {first_line[ref]}", line, "ref"))
        first_line.setdefault(ref, line)
        problems += found
        if not found:
            out.append((line, build(record)))
    if problems:
        refuse(source, problems)
    if not out:
        raise InputFileError([Problem(source, "the file has a header but no rows")])
    return out


def refuse(source: str, problems: list[Problem]) -> None:
    """Raise the problems of one file, in line order; past MAX_LISTED, the rest are counted."""
    problems = sorted(problems, key=lambda p: (p.line or 0))
    summary = f"{len(problems)} problem(s) in {source}; nothing was imported"
    if len(problems) > MAX_LISTED:
        rows = len({p.line for p in problems})
        rest = len(problems) - MAX_LISTED
        summary += f"; the first {MAX_LISTED} are listed"
        problems = problems[:MAX_LISTED] + [Problem(source, f"... and {rest} more problem(s) not listed "
                                                            f"({rows} line(s) have problems in all)")]
    raise InputFileError(problems, summary)


def record_from_options(kind: str, values: dict[str, str], scheme: Scheme) -> Offer | Request:
    """One offer or request from CLI options (`offer add`, `request add`), checked like a file row."""
    columns = OFFER_COLUMNS if kind == "offer" else REQUEST_COLUMNS
    header = [k for k, v in values.items() if v is not None]
    cells = [str(values[k]) for k in header]
    parsed, problems = _parse_rows("--option", header, [(0, cells)], columns)
    if not problems:
        checks = _scheme_checks_offer if kind == "offer" else _scheme_checks_request
        problems = checks(scheme, "--option", 0, parsed[0][1])
    if problems:
        raise InputFileError([Problem(f"--{p.field.replace('_', '-')}" if p.field else p.source,
                                      p.message) for p in problems],
                             f"the {kind} is not valid; nothing was written")
    record = parsed[0][1]
    return _build_offer(record) if kind == "offer" else _build_request(record)


# The fields a household's or a home's update may change (`request update`, `offer update`): every
# field a hard rule or an objective reads. `referred_on` (waiting time) changes only with a reason.
UPDATABLE = {
    "request": ("risk", "bedrooms_needed", "max_bedrooms", "needs_step_free", "needs_wheelchair", "avoid_areas",
                "preferred_areas", "survivor_area", "survivor_consent", "safety_decision_on",
                "current_tenancy", "age", "referred_on"),
    "offer": ("available_from", "available_until", "bedrooms", "property_type", "floor", "step_free",
              "wheelchair_accessible", "restrictions", "tenancy_offered"),
}
# What an update's cell says to clear an optional field (a blank cell leaves the field as it is).
CLEAR = "none"


def check_update(kind: str, scheme: Scheme, source: str, line: int | None, current: dict,
                 cells: dict[str, str]) -> tuple[dict, list[Problem]]:
    """An update's cells (raw text by field) parsed as at import, merged into the case's current
    values (`current`), and the whole record checked as an imported row is (areas, tenancy kinds,
    sizes, a perpetrator's survivor area, a home's contradictory access): the merged values and
    every problem, each naming its field."""
    columns = {c.name: c for c in (OFFER_COLUMNS if kind == "offer" else REQUEST_COLUMNS)}
    merged, problems = dict(current), []
    for name, cell in cells.items():
        column = columns[name]
        clear = cell.strip().lower() == CLEAR
        if column.required and (clear or not cell.strip()):
            problems.append(Problem(source, "value is required (it cannot be cleared)", line, name))
            continue
        try:
            merged[name] = column.parse("" if clear else cell)
        except FieldError as exc:
            problems.append(Problem(source, str(exc), line, name))
    if not problems:
        checks = _scheme_checks_offer if kind == "offer" else _scheme_checks_request
        problems = checks(scheme, source, line, merged)
    return merged, problems


def read_updates(path: Path, kind: str) -> list[tuple[int, str, dict[str, str]]]:
    """The rows of an updates file (CSV or XLSX): `ref`, any of the fields `UPDATABLE[kind]` and
    `reason`; each as (line, ref, {column: raw cell}) with blank cells left out (a blank leaves the
    field as it is). A personal-data or unknown column, a bad ref or a ref twice is a problem;
    every problem at once."""
    header, rows = read_table(path)
    source = path.name
    columns = [Column("ref", _ref)] + [Column(n, _text, False) for n in UPDATABLE[kind]] + \
        [Column("reason", _text, False)]
    names, problems = _check_header(source, header, columns)
    if problems:
        refuse(source, problems)
    found, first = [], {}
    for line, cells in rows:
        if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
            problems.append(Problem(source, f"row has {len(cells)} cells but the header has {len(names)}", line))
            continue
        values = {n: cells[i] for i, n in enumerate(names) if i < len(cells) and cells[i].strip()}
        try:
            ref = _ref(values.pop("ref", ""))
        except FieldError as exc:
            problems.append(Problem(source, str(exc), line, "ref"))
            continue
        if ref in first:
            problems.append(Problem(source, f"ref {ref} also appears on line {first[ref]}", line, "ref"))
            continue
        first[ref] = line
        found.append((line, ref, values))
    if problems:
        refuse(source, problems)
    if not found:
        raise InputFileError([Problem(source, "the file has a header but no rows")])
    return found


def differences(a: Any, b: Any) -> list[str]:
    """Field names where two offers (or two requests) differ, ignoring status."""
    return [f.name for f in fields(a) if f.name != "status" and getattr(a, f.name) != getattr(b, f.name)]


def read_refs(path: Path) -> list[tuple[int, str, str]]:
    """The requests a file names (CSV or XLSX, a `ref` or `request` column; other columns are
    ignored), each with its line and column: for `request reconfirm --file`. Every bad cell is named."""
    header, rows = read_table(path)
    names = [h.strip().lower() for h in header]
    column = next((names.index(n) for n in ("ref", "request") if n in names), None)
    if column is None:
        raise InputFileError([Problem(path.name, "required column is missing (ref or request)", 1, "ref")])
    found, problems = [], []
    for line, cells in rows:
        cell = cells[column] if column < len(cells) else ""
        if not cell.strip():
            continue  # a blank line, or a row with no household
        try:
            found.append((line, _ref(cell), header[column].strip()))
        except FieldError as exc:
            problems.append(Problem(path.name, str(exc), line, header[column].strip()))
    if problems:
        raise InputFileError(problems, f"{len(problems)} problem(s) in {path.name}; nothing was changed")
    if not found:
        raise InputFileError([Problem(path.name, "names no request")])
    return found
