"""Hostile and broken input, through the real parsers and the real command: each is refused with a
clear message and a non-zero exit, nothing is written, and no traceback is shown. The README's
"Hostile inputs we tried" lists the same cases with what the user sees.

Commands run in processes forked from the launcher of `test_concurrency` (every import done once),
so sixty real commands take seconds, not minutes. Bounded fuzz tests (hypothesis) run the
parsers on random bytes and random CSV and YAML.
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import text

from reciprocal.config import load_scheme
from reciprocal.errors import ConfigError, InputFileError
from reciprocal.intake.readers import MAX_LISTED, parse_offers, parse_requests, read_table
from reciprocal.yaml_source import read_yaml

from tests.conftest import (CONFIG_DIR, DEMO_DATA, Outcome, command, copy_database, count, drop_database,
                            no_traceback, reading, rows)

OFFERS = (DEMO_DATA / "offers.csv").read_text()
OFFER_LINES = OFFERS.splitlines()
FENLAND = "providers/fenland.yaml"


def run(launcher, *argv: str) -> Outcome:
    outcome = launcher.run(list(argv))[0]
    no_traceback([outcome])
    return outcome


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory, db_template):
    """One database for every refused input: since none may write anything, it stays empty."""
    url = copy_database(db_template, tmp_path_factory.mktemp("hostile"))
    yield url
    drop_database(url)


def fingerprint(url: str) -> dict:
    """Every table's row count and the meta rows, read in one connection."""
    with reading(url) as conn:
        out = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
               for t in ("offer", "request", "round", "proposal", "move", "ledger_entry", "checklist_item")}
        out["meta"] = [tuple(r) for r in conn.execute(text("SELECT key, value FROM meta ORDER BY key")).all()]
    return out


# -- MoU configs (YAML) ---------------------------------------------------------------------------

def laughs(levels: int = 9) -> str:
    """The "billion laughs": nine levels of nine aliases each would expand to 9**9 strings."""
    text = 'lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for k in range(1, levels):
        text += f"lol{k}: &lol{k} [" + ", ".join([f"*lol{k - 1}"] * 9) + "]\n"
    return text


def _replace(original: str, old: str, new: str) -> str:
    assert old in original, old
    return original.replace(old, new, 1)


YAML_CASES = {
    # name: (file, how to change it, what stderr must say)
    "billion_laughs": ("scheme.yaml", lambda t: t + laughs(),
                       "lol1[0]: anchors and aliases are not allowed in MoU configs"),
    "duplicate_key": (FENLAND, lambda t: t + "name: Fenland again\n", "duplicate key 'name' (first on line"),
    "tab_indentation": (FENLAND, lambda t: _replace(t, "\n  ", "\n\t"),
                        "tabs are not allowed for indentation; use spaces"),
    "wrong_type": (FENLAND, lambda t: t + "max_debt: lots\n", "max_debt: Input should be a valid integer"),
    "huge_max_debt": (FENLAND, lambda t: t + "max_debt: 100000000000000000000000\n",
                      "max_debt: Input should be less than or equal to 10000"),
    "huge_scheme_max_debt": ("scheme.yaml", lambda t: re.sub(r"(?m)^  max_debt: \d+", "  max_debt: 10000000000", t, 1),
                             "fairness.max_debt: Input should be less than or equal to 10000"),
    "area_id_with_a_list_separator": ("scheme.yaml", lambda t: t.replace("  cambridge:\n", "  cam;bridge:\n", 1),
                                      "area id 'cam;bridge': ids are lower-case letters, digits, _ and -"),
    "area_id_with_a_comma": ("scheme.yaml", lambda t: t.replace("  cambridge:\n", "  'cam,bridge':\n", 1),
                             "area id 'cam,bridge'"),
    "area_id_with_a_bar": ("scheme.yaml", lambda t: t.replace("  cambridge:\n", "  'cam|bridge':\n", 1),
                           "area id 'cam|bridge'"),
    "huge_file": (FENLAND, lambda t: t + "# " + "x" * 1_000_000 + "\n",
                  "MoU configs are limited to 1,000,000 bytes"),
    "deep_nesting": (FENLAND, lambda t: t + "deep: " + "[" * 100_000 + "]" * 100_000 + "\n",
                     "nested more than 50 levels deep; MoU configs never need that"),
    "too_many_values": (FENLAND, lambda t: t + "many: [" + "1, " * 60_000 + "1]\n",
                        "more than 50,000 values; MoU configs never need that"),
    "python_tag": (FENLAND, lambda t: t + "x: !!python/object/apply:os.system ['touch PWNED']\n",
                   "the tag '!!python/object/apply:os.system' is not allowed in MoU configs"),
    "impossible_date": (FENLAND, lambda t: t + "review_on: 2026-02-30\n", "'2026-02-30' is not a valid date"),
    "huge_number": (FENLAND, lambda t: t + "max_debt: " + "9" * 5000 + "\n", "is not a valid number"),
    "not_utf8": (FENLAND, lambda t: t.encode("utf-8") + b"notes: caf\xe9\n",
                 "not UTF-8 text (bad byte at offset"),
    "empty": (FENLAND, lambda t: "", "expected exactly one YAML document, found 0"),
    "two_documents": (FENLAND, lambda t: t + "---\nid: fenland\n",
                      "expected exactly one YAML document, found 2"),
    # issue 20 item 14: these passed, and a line break in the name ended `pack --send` in an internal error
    "scheme_name_with_a_line_break": ("scheme.yaml", lambda t: _replace(
        t, "  name: Cambridgeshire & Peterborough Managed Reciprocal", '  name: "Cambs\\r\\nBcc: x@example.org"'),
        "scheme.yaml:5: scheme.name: holds the control character \\u000d; write it on one line of plain text"),
    "provider_name_with_an_escape": (FENLAND, lambda t: _replace(
        t, "name: Fenland District Council", 'name: "Fenland\\e[2J"'),
        "name: holds the control character \\u001b"),
    "contact_with_a_trailing_newline": (FENLAND, lambda t: t + 'contact: "housing@fenland.example.gov.uk\\n"\n',
                                        "contact: not an email address"),
}


@pytest.mark.parametrize("case", sorted(YAML_CASES))
def test_hostile_config_is_refused(launcher, tmp_path, shared_db, case):
    name, change, says = YAML_CASES[case]
    config = tmp_path / "mou_configs"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    path = config / name
    changed = change(path.read_text())
    path.write_bytes(changed if isinstance(changed, bytes) else changed.encode())
    before = fingerprint(shared_db)
    validate = run(launcher, "--config", str(config), "config", "validate")
    assert validate.code == 2
    assert says in validate.stderr, validate.stderr
    # Refused without expanding anything: bounded work, counted in CPU seconds, not on the clock
    # (a loaded machine once took 9.3 s of wall time for 1.6 s of CPU).
    assert validate.cpu < 5, f"{case}: {validate.cpu:.1f} s of CPU"
    # A command that would write refuses before touching the database.
    imported = run(launcher, "--db", shared_db, "--config", str(config), "offer", "import",
                   str(DEMO_DATA / "offers.csv"))
    assert imported.code == 2 and says in imported.stderr
    assert fingerprint(shared_db) == before
    assert not (tmp_path / "PWNED").exists() and not Path("PWNED").exists()


def test_billion_laughs_is_refused_at_once_without_expanding(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(laughs())
    started = time.process_time()  # CPU seconds: a busy machine does not slow this check's clock
    doc, problems = read_yaml(path)
    assert time.process_time() - started < 1.0
    assert problems and all(p.message == "anchors and aliases are not allowed in MoU configs"
                            for p in problems)
    assert len(problems) == 8 * 9  # one per alias written, none per expansion


# -- offers files (CSV, XLSX) ---------------------------------------------------------------------

def _lines(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def ten_thousand_bad_rows() -> str:
    bad = [f"OF-B{k:05d},nobody,nowhere,99,castle,,,,,,2026-13-45,," for k in range(10_000)]
    return _lines(OFFER_LINES[0], *bad)


def xlsx(rows: list[list], path: Path) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path.read_bytes()


def demo_rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(OFFERS)))


def formula_workbook(path: Path) -> bytes:
    rows = demo_rows()
    rows[3][3] = "=1+1"  # bedrooms of the offer on sheet row 4
    return xlsx(rows, path)


def zip_bomb(path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", " " * 300_000_000)
    return buffer.getvalue()


def whole_sheet_declared(path: Path) -> bytes:
    """A 5 KB workbook whose sheet reaches A1:XFD1048576: one cell in its very last row and
    column. Reading its declared range would visit 17 billion cells."""
    workbook = Workbook()
    sheet = workbook.active
    for row in demo_rows():
        sheet.append(row)
    sheet.cell(row=1_048_576, column=16_384, value="x")
    workbook.save(path)
    return path.read_bytes()


def _cell(text: str, line: int = 1, column: int = 0) -> str:
    cells = OFFER_LINES[line].split(",")
    cells[column] = text
    return _lines(OFFER_LINES[0], ",".join(cells))


FILE_CASES = {
    # name: (file name, contents (or a function of the path), stderr lines that must appear)
    "latin1": ("offers.csv", OFFERS.replace("notes", "notés").encode("latin-1"),
               ["  offers.csv:1: not UTF-8 text; save the file as CSV UTF-8"]),
    "utf16": ("offers.csv", OFFERS.encode("utf-16"),
              ["  offers.csv:1: not UTF-8 text; save the file as CSV UTF-8"]),
    "formula_in_ref": ("offers.csv", _cell("=1+1"),
                       ["  offers.csv:2: ref: must be a case code of letters, digits and - _ / . "
                        "(at most 64)"]),
    "formula_in_provider": ("offers.csv", _cell("=cmd|' /C calc'!A0", column=1),
                            ["  offers.csv:2: provider: unknown provider '=cmd|' /C calc'!A0'"]),
    "formula_in_number": ("offers.csv", _cell("=2*3", column=3),
                          ["  offers.csv:2: bedrooms: '=2*3' is not a whole number (digits 0-9 only)"]),
    "control_characters": ("offers.csv", _cell("\x1b[2J\x1b]0;owned\x07x", column=1),
                           ["  offers.csv:2: provider: unknown provider "
                            "'\\u001b[2J\\u001b]0;owned\\u0007x'"]),
    "missing_column": ("offers.csv", _lines(*[line.split(",", 1)[1] for line in OFFER_LINES]),
                       ["  offers.csv:1: ref: required column is missing"]),
    "extra_column": ("offers.csv", _lines(OFFER_LINES[0] + ",tenant_notes",
                                          *[line + ",x" for line in OFFER_LINES[1:]]),
                     ["  offers.csv:1: tenant_notes: unknown column 'tenant_notes'"]),
    "extra_cells": ("offers.csv", _lines(OFFER_LINES[0], OFFER_LINES[1] + ",x,y"),
                    ["  offers.csv:2: row has 15 cells but the header has 13"]),
    "personal_data": ("offers.csv", _lines(OFFER_LINES[0] + ",Full Name",
                                           *[line + ",Jane Doe" for line in OFFER_LINES[1:]]),
                      ["refused: the file has personal data column(s) 'Full Name'"]),
    "duplicate_ref": ("offers.csv", _lines(*OFFER_LINES, OFFER_LINES[1]),
                      [f"ref {OFFER_LINES[1].split(',')[0]} also appears on line 2"]),
    "nul_bytes": ("offers.csv", OFFERS.replace("flat", "fl\x00at", 1),
                  ["  offers.csv: contains NUL bytes; is it really a CSV file?"]),
    "giant_field": ("offers.csv", "ref,notes\nOF-1," + "x" * 200_000 + "\n",
                    ["  offers.csv:2: not valid CSV: field larger than field limit (131072)"]),
    "unterminated_quote": ("offers.csv", _lines(OFFER_LINES[0], '"OF-1,' + OFFER_LINES[1]),
                           ["  offers.csv:2: not valid CSV: unexpected end of data"]),
    "empty": ("offers.csv", "", ["  offers.csv: the file is empty (no header row)"]),
    "header_only": ("offers.csv", _lines(OFFER_LINES[0]),
                    ["  offers.csv: the file has a header but no rows"]),
    "ten_thousand_bad_rows": ("offers.csv", ten_thousand_bad_rows(),
                              ["problem(s) in offers.csv; nothing was imported; the first 200 are listed",
                               "more problem(s) not listed (10000 line(s) have problems in all)"]),
    "xlsx_formula": ("offers.xlsx", formula_workbook,
                     ["  offers.xlsx:4: bedrooms: the cell is a formula; save the sheet with values only "
                      "(copy, paste as values)"]),
    "xlsx_zip_bomb": ("offers.xlsx", zip_bomb,
                      ["  offers.xlsx: the workbook expands to 300,000,008 bytes; the limit is 200,000,000"]),
    "xlsx_not_a_workbook": ("offers.xlsx", OFFERS, ["  offers.xlsx: not a readable XLSX workbook"]),
    "xlsx_declared_whole_sheet": ("offers.xlsx", whole_sheet_declared,
                                  ["  offers.xlsx: the sheet goes on past row 200,001; at most 100,000 rows "
                                   "are read (delete the cells below your data)"]),
    "underscore_digits": ("offers.csv", _cell("1_0", column=3),
                          ["  offers.csv:2: bedrooms: '1_0' is not a whole number (digits 0-9 only)"]),
    "arabic_indic_digit": ("offers.csv", _cell("\u0663", column=3),
                           ["  offers.csv:2: bedrooms: '\u0663' is not a whole number (digits 0-9 only)"]),
    "full_width_digit": ("offers.csv", _cell("\uff13", column=3),
                         ["  offers.csv:2: bedrooms: '\uff13' is not a whole number (digits 0-9 only)"]),
    "underscore_rent": ("offers.csv", _cell("1_00", column=9),
                        ["  offers.csv:2: weekly_rent: '1_00' is not an amount (digits 0-9, a point for pence)"]),
    "date_past_the_engines_range": ("offers.csv", _cell("9999-12-31", column=10),
                                    ["  offers.csv:2: available_from: 9999-12-31 is outside the dates the "
                                     "engine works with (1900-01-01 to 2199-12-31)"]),
    "xlsx_truncated": ("offers.xlsx", lambda p: xlsx(demo_rows(), p)[:2000],
                       ["  offers.xlsx: not a readable XLSX workbook"]),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_hostile_offers_file_is_refused_and_nothing_is_written(launcher, tmp_path, shared_db, case):
    name, contents, says = FILE_CASES[case]
    path = tmp_path / name
    if callable(contents):
        contents = contents(path)
    path.write_bytes(contents if isinstance(contents, bytes) else contents.encode())
    before = fingerprint(shared_db)
    outcome = run(launcher, *command(shared_db, "offer", "import", str(path)))
    assert outcome.code == 2, outcome.stderr
    lines = outcome.stderr.splitlines()
    for line in says:
        assert line in lines or any(line in x for x in lines), (line, lines[:5])
    assert "\x1b" not in outcome.stderr and "\x07" not in outcome.stderr
    assert len(lines) <= MAX_LISTED + 2  # a summary, at most 200 problems, and a count of the rest
    assert outcome.cpu < 10, f"{case}: {outcome.cpu:.1f} s of CPU"  # bounded work, not wall time
    assert fingerprint(shared_db) == before


def test_a_file_over_the_size_limit_is_refused_unread(launcher, tmp_path, shared_db):
    path = tmp_path / "offers.csv"
    with path.open("wb") as handle:  # sparse: 20 MB that cost nothing to write
        handle.truncate(20_000_001)
    outcome = run(launcher, *command(shared_db, "offer", "import", str(path)))
    assert outcome.code == 2
    assert "  offers.csv: file is 20,000,001 bytes; the limit is 20,000,000" in outcome.stderr.splitlines()


def test_a_folder_or_a_missing_file_is_named(launcher, tmp_path, shared_db):
    folder = run(launcher, *command(shared_db, "offer", "import", str(tmp_path)))
    assert folder.code == 2 and f"{tmp_path}: is a folder, not a file" in folder.stderr
    missing = run(launcher, *command(shared_db, "offer", "import", str(tmp_path / "nope.csv")))
    assert missing.code == 2 and "nope.csv: file not found" in missing.stderr


@pytest.mark.parametrize("name, contents", [
    ("bom", OFFERS.encode("utf-8-sig")),
    ("semicolons", OFFERS.replace(",", ";").encode()),
    ("crlf", OFFERS.replace("\n", "\r\n").encode()),
])
def test_spreadsheet_habits_are_accepted(launcher, tmp_path, db_url, name, contents):
    path = tmp_path / "offers.csv"
    path.write_bytes(contents)
    outcome = run(launcher, *command(db_url, "offer", "import", str(path)))
    assert outcome.code == 0, outcome.stderr
    assert count(db_url, "offer") == len(OFFER_LINES) - 1


def styled_empty_rows_below(path: Path, last_row: int = 250_000) -> Path:
    """The demo offers, then empty rows styled down to `last_row` (a sheet formatted further
    than its data, as spreadsheets are): a cell in every row, none holding a value."""
    workbook = Workbook()
    sheet = workbook.active
    for row in demo_rows():
        sheet.append(row)
    first = sheet.max_row + 1
    sheet.cell(row=first, column=1).font = Font(bold=True)
    workbook.save(path)
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    styled = re.search(r'<c r="A%d" s="(\d+)"' % first, xml).group(1)
    rows = "".join(f'<row r="{n}"><c r="A{n}" s="{styled}"/><c r="B{n}" s="{styled}"/></row>'
                   for n in range(first + 1, last_row + 1))
    parts["xl/worksheets/sheet1.xml"] = xml.replace("</sheetData>", rows + "</sheetData>").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def test_styled_empty_rows_below_the_data_are_not_rows(launcher, tmp_path, db_url):
    """Issue 20 item 17: such a sheet was refused as going on "past row 200,001". Only rows
    holding a value count; the empty tail is not walked (bounded CPU, not wall time)."""
    path = styled_empty_rows_below(tmp_path / "offers.xlsx")
    outcome = run(launcher, *command(db_url, "offer", "import", str(path)))
    assert outcome.code == 0, outcome.stderr
    assert count(db_url, "offer") == len(OFFER_LINES) - 1
    assert outcome.cpu < 5, f"{outcome.cpu:.1f} s of CPU"


def test_a_formula_in_free_text_is_kept_as_text_and_never_run(launcher, tmp_path, db_url):
    """Notes are free text: a note that looks like a formula is stored as typed; CSV exports
    neutralise such cells (reciprocal.audits.exports)."""
    path = tmp_path / "offers.csv"
    cells = OFFER_LINES[1].split(",")
    cells[-1] = '"=HYPERLINK(""http://example.invalid"",""click"")"'
    path.write_text(_lines(OFFER_LINES[0], ",".join(cells)))
    outcome = run(launcher, *command(db_url, "offer", "import", str(path)))
    assert outcome.code == 0, outcome.stderr
    assert rows(db_url, "SELECT notes FROM offer") == [('=HYPERLINK("http://example.invalid","click")',)]
    from reciprocal.audits.exports import csv_cell
    assert csv_cell('=HYPERLINK("x")') == "'=HYPERLINK(\"x\")"


# -- command-line arguments -----------------------------------------------------------------------

ARGUMENT_CASES = [
    (("round", "show", "0"), 2, "Invalid value for 'round_id': Input should be greater than or equal to 1"),
    (("round", "show", "99999999999999999999"), 3, "no round 99999999999999999999"),
    (("round", "show", "-1"), 2, "No such option: -1"),
    (("proposal", "sign", "0", "--tenancy-start", "2026-12-01"), 2,
     "Invalid value for 'proposal_id': Input should be greater than or equal to 1"),
    (("proposal", "sign", "99999999999999999999", "--tenancy-start", "2026-12-01"), 3,
     "no proposal 99999999999999999999"),
    (("proposal", "refuse", "1", "--by", "neighbour", "--reason", "other"), 2,
     "'neighbour' is not one of household, offering_landlord, referring_landlord"),
    (("round", "close", "1"), 4, "`round close` is gone"),
    (("round", "run", "--on", "2026-02-30"), 2, "'2026-02-30' is not a date (YYYY-MM-DD)"),
    (("round", "run", "--on", "9999-12-31"), 2,
     "9999-12-31 is outside the dates the engine works with (1900-01-01 to 2199-12-31)"),
    (("round", "run", "--on", "0001-01-01"), 2,
     "0001-01-01 is outside the dates the engine works with (1900-01-01 to 2199-12-31)"),
    (("due", "--on", "9999-12-31"), 2, "9999-12-31 is outside the dates the engine works with"),
    (("round", "run", "--time-limit", "0"), 2, "--time-limit"),
    (("round", "run", "--time-limit", "nan"), 2, "--time-limit"),
    (("round", "run", "--time-limit", "1e9"), 2, "--time-limit"),
    (("ledger", "correct", "--move", "99999999999999999999", "--reason", "x"), 3,
     "no move 99999999999999999999"),
    (("move", "done", "99999999999999999999", "sanctuary_scheme_check_at_new_home"), 3,
     "no move 99999999999999999999"),
    (("request", "purge", "--closed-before", "31/12/2026"), 2, "'31/12/2026' is not a date (YYYY-MM-DD)"),
    (("report", "quarterly", "--year", "1999"), 2, "--year"),
    (("offer", "list", "--format", "xml"), 2, "'xml' is not one of table, json"),
    (("offer", "add", "--ref", "OF-1", "--provider", "fenland", "--area", "fenland", "--bedrooms",
      "99999999999999999999", "--property-type", "flat", "--available-from", "2026-11-20"), 2,
     "--bedrooms: 99999999999999999999 is outside 0..10"),
]


@pytest.mark.parametrize("args, code, says", ARGUMENT_CASES, ids=[" ".join(a[0][:2]) + f"-{k}" for k, a in
                                                                   enumerate(ARGUMENT_CASES)])
def test_out_of_range_arguments_are_refused(launcher, shared_db, args, code, says):
    before = fingerprint(shared_db)
    outcome = run(launcher, *command(shared_db, *args))
    assert outcome.code == code, outcome.stderr
    assert says in " ".join(outcome.stderr.split()), outcome.stderr
    assert outcome.stdout == ""
    assert fingerprint(shared_db) == before


def test_a_file_that_is_not_a_database_is_named(launcher, tmp_path):
    path = tmp_path / "offers.db"
    path.write_text(OFFERS)
    outcome = run(launcher, "--db", str(path), "--config", str(CONFIG_DIR), "offer", "list")
    assert outcome.code == 5
    assert outcome.stderr.strip() == f"database {path} is not a reciprocal database (file is not a database)"


# -- fuzz: the parsers on random input, in bounded time ---------------------------------------------

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                database=None)
SCHEME = load_scheme(CONFIG_DIR)
PER_EXAMPLE_SECONDS = 2.0

cell_text = st.one_of(
    st.sampled_from(["", " ", "OF-1", "fenland", "cambridge", "flat", "house", "2026-11-20", "2", "-1",
                     "yes", "no", "=1+1", "@SUM(A1)", "+44", '"', '""', ",", ";", "\t", "\r\n", "\n",
                     "\ufeff", "\x00", "é", "1e400", "nan", "9" * 30, "£12.50", "age_55_plus"]),
    st.text(max_size=30))


@st.composite
def csv_documents(draw) -> bytes:
    columns = [c for c in OFFER_LINES[0].split(",")]
    header = draw(st.lists(st.one_of(st.sampled_from(columns), cell_text), min_size=0, max_size=16))
    body = draw(st.lists(st.lists(cell_text, max_size=16), max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    text = "\n".join(delimiter.join(row) for row in [header, *body])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


def _bounded(fn, *args):
    started = time.process_time()  # CPU seconds: bounded work, however busy the machine
    try:
        return fn(*args)
    finally:
        assert time.process_time() - started < PER_EXAMPLE_SECONDS


@FUZZ
@given(data=st.one_of(st.binary(max_size=4096), csv_documents()),
       suffix=st.sampled_from([".csv", ".xlsx", ".txt"]))
def test_fuzz_offer_and_request_files(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"offers{suffix}"
        path.write_bytes(data)
        for parse in (read_table, lambda p: parse_offers(p, SCHEME), lambda p: parse_requests(p, SCHEME)):
            try:
                _bounded(parse, path)
            except InputFileError as exc:
                assert exc.problems and exc.message


yaml_text = st.text(alphabet=st.sampled_from(list("abc019 -:[]{},&*!|>'\"#%@`?\n\t.~<=") + ["\ufeff", "é"]),
                    max_size=400)


@FUZZ
@given(text=st.one_of(yaml_text, st.binary(max_size=2048).map(lambda b: b.decode("latin-1"))))
def test_fuzz_yaml_reader(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scheme.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        doc, problems = _bounded(read_yaml, path)
        assert doc is not None or problems


@pytest.fixture(scope="module")
def config_copy(tmp_path_factory) -> Path:
    config = tmp_path_factory.mktemp("fuzz") / "mou_configs"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return config


@FUZZ
@given(text=yaml_text)
def test_fuzz_provider_config(config_copy, text):
    """A random provider file among the real ones: the loader reports problems, never crashes."""
    (config_copy / FENLAND).write_text(text)
    try:
        _bounded(load_scheme, config_copy)
    except ConfigError as exc:
        assert exc.problems


# -- database URLs: parsed once, every credential redacted wherever it sits -------------------------

URL_CASES = [
    # (URL, what the message must say); the password is always "sekrit" (or holds it)
    ("postgresql://u:p@sekrit@127.0.0.1:1/db", "the user name or password holds '@'; write it percent-encoded"),
    ("postgresql://u@127.0.0.1:1/db?password=sekrit", "cannot connect to database postgresql://u@127.0.0.1:1/db?password=***"),
    ("postgresql://u@127.0.0.1:1/db?sslmode=disable&PASSWORD=sekrit", "PASSWORD=***"),
    ("postgresql://u:sekrit@127.0.0.1:1/db", "cannot connect to database postgresql://u:***@127.0.0.1:1/db"),
    ("post gresql://u:sekrit@h/db", "'post gresql://u:***@h/db' is not a database URL or path"),
    ("postgresql://u:sekrit@127.0.0.1:abc/db", "the port must be a number"),
    ("postgres://u:sekrit@127.0.0.1/db", "'postgres://' is an old spelling; write postgresql+psycopg://"),
    ("mysql://u:sekrit@h/db", "'mysql' is not a database this engine uses"),
]


@pytest.mark.parametrize("url, says", URL_CASES, ids=[f"url-{k}" for k in range(len(URL_CASES))])
def test_a_database_url_never_shows_its_password(launcher, url, says):
    outcome = run(launcher, "--db", url, "--config", str(CONFIG_DIR), "round", "list")
    assert outcome.code == 5, outcome.stderr
    assert "internal error" not in outcome.stderr
    assert says in outcome.stderr, outcome.stderr
    assert "sekrit" not in outcome.stderr + outcome.stdout


# -- terminal escapes: one path for everything echoed -------------------------------------------------

@pytest.mark.parametrize("args", [
    ("offer", "withdraw", "OF\x1b[2J\x1b]0;owned\x07"),
    ("proposal", "show", "1\x1b[2J"),
    ("offer", "import", "/nowhere/\x1b[31mred\u202e.csv"),
    ("request", "hold", "RQ\x1b[2J", "--reason", "x\x1b[2J", "--until", "2026-12-01"),
], ids=["ref", "id", "file-name", "ref-and-reason"])
def test_terminal_escapes_in_arguments_are_never_echoed_raw(launcher, shared_db, args):
    before = fingerprint(shared_db)
    outcome = run(launcher, *command(shared_db, *args))
    assert outcome.code != 0
    shown = outcome.stdout + outcome.stderr
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown, shown
    if args[:2] != ("proposal", "show"):  # that one is refused without echoing the value
        assert "\\u001b" in shown or "\\u202e" in shown, shown
    assert fingerprint(shared_db) == before


# -- personal data: disguised headers and notes ------------------------------------------------------

@pytest.mark.parametrize("header", ["D.O.B", "Mobile No.", "Tenant Name(s)", "Client e-mail", "Post Code"])
def test_a_disguised_personal_data_header_is_refused_as_personal_data(launcher, tmp_path, shared_db, header):
    path = tmp_path / "offers.csv"
    path.write_text(_lines(OFFER_LINES[0] + "," + header, *[line + ",x" for line in OFFER_LINES[1:]]))
    before = fingerprint(shared_db)
    outcome = run(launcher, *command(shared_db, "offer", "import", str(path)))
    assert outcome.code == 2
    assert f"refused: the file has personal data column(s) '{header}'" in outcome.stderr, outcome.stderr
    assert fingerprint(shared_db) == before


@pytest.mark.parametrize("note, what", [("call 07700 900123 after 5", "a phone number"),
                                        ("tenant is jane@example.org", "an email address"),
                                        ("near CB1 2AB", "a postcode"), ("DOB 01/02/1980", "a date of birth")])
def test_personal_data_typed_into_notes_is_refused(launcher, tmp_path, shared_db, note, what):
    path = tmp_path / "offers.csv"
    path.write_text(_cell(f'"{note}"', column=12))
    before = fingerprint(shared_db)
    outcome = run(launcher, *command(shared_db, "offer", "import", str(path)))
    assert outcome.code == 2
    assert f"offers.csv:2: notes: looks like {what}; notes are about the home" in outcome.stderr, outcome.stderr
    assert fingerprint(shared_db) == before


# -- config files that are not regular files -----------------------------------------------------------

def test_config_files_that_are_not_regular_files_are_refused_unread(launcher, tmp_path, shared_db):
    """A FIFO would hang the reader, a link to /dev/zero never end, a 1.5 GB (sparse) file be read
    whole before the 1 MB limit refused it: each is refused by its type or size, all at once."""
    config = tmp_path / "mou_configs"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    providers = config / "providers"
    os.mkfifo(providers / "zz_fifo.yaml")
    (providers / "zz_zero.yaml").symlink_to("/dev/zero")
    with (providers / "zz_big.yaml").open("wb") as big:
        big.truncate(1_500_000_000)
    validate = run(launcher, "--config", str(config), "config", "validate")
    assert validate.code == 2, validate.stderr
    assert "zz_fifo.yaml: is a FIFO, not a regular file" in validate.stderr
    assert "zz_zero.yaml: is a device, not a regular file" in validate.stderr
    assert "zz_big.yaml: file is 1,500,000,000 bytes; MoU configs are limited to 1,000,000 bytes" in validate.stderr
    before = fingerprint(shared_db)
    imported = run(launcher, "--db", shared_db, "--config", str(config), "offer", "import",
                   str(DEMO_DATA / "offers.csv"))
    assert imported.code == 2 and fingerprint(shared_db) == before


# -- output files: --out and pack --to ------------------------------------------------------------

def test_an_output_path_that_cannot_be_written_is_refused_by_name(launcher, tmp_path, shared_db):
    """Issue 20 item 12: a folder, /dev/full or a missing folder ended in "internal error" (70),
    and a symbolic link was written through, replacing its target. Each is now refused by name
    (2), nothing is written, and a link's target is never touched."""
    target = tmp_path / "precious.txt"
    target.write_text("kept")
    (tmp_path / "link.csv").symlink_to(target)
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "nowhere.csv")
    cases = {str(tmp_path): "is a folder; give a file's path",
             "/dev/full": "/dev/full is not a regular file (a device or a pipe)",
             str(tmp_path / "missing" / "out.csv"): f"the folder {tmp_path / 'missing'} does not exist",
             str(tmp_path / "link.csv"): "link.csv is a symbolic link; the engine never writes through a link",
             str(tmp_path / "dangling.csv"): "dangling.csv is a symbolic link"}
    for out, says in cases.items():
        outcome = run(launcher, *command(shared_db, "audit", "fairness", "--format", "csv", "--out", out))
        assert outcome.code == 2, (out, outcome.stderr)
        assert "--out: " in outcome.stderr and says in outcome.stderr, (out, outcome.stderr)
    assert target.read_text() == "kept" and not (tmp_path / "nowhere.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling.csv", "link.csv", "precious.txt"]


def test_pack_never_writes_through_a_link_and_writes_nothing_then(launcher, tmp_path, shared_db):
    target = tmp_path / "precious.txt"
    target.write_text("kept")
    folder = tmp_path / "packs"
    folder.mkdir()
    (folder / "fenland-2026-11-26.md").symlink_to(target)
    outcome = run(launcher, *command(shared_db, "pack", "--to", str(folder), "--on", "2026-11-26"))
    assert outcome.code == 2, outcome.stderr
    assert "--to: " in outcome.stderr and "fenland-2026-11-26.md is a symbolic link" in outcome.stderr
    assert target.read_text() == "kept"
    assert [p.name for p in folder.iterdir()] == ["fenland-2026-11-26.md"]  # no other pack, no part file


def test_a_write_that_fails_half_way_leaves_every_file_as_it_was(tmp_path, monkeypatch):
    """A full disk (ENOSPC) while writing: the old file is whole, no part file is left."""
    import errno
    from reciprocal.audits import exports
    old = tmp_path / "report.csv"
    old.write_text("old report")

    def full(fd, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(exports.os, "replace", full)
    with pytest.raises(InputFileError) as caught:
        exports.write_private_files({old: "new", tmp_path / "other.csv": "x"})
    assert f"--out: cannot write {old}: No space left on device" in str(caught.value)
    assert old.read_text() == "old report" and sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]
