"""Intake of offers and requests (SPEC section 4): CSV/XLSX, all or nothing, every bad row listed
with line, column and reason, no personal data, idempotent re-import."""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from reciprocal.intake import listing, pot
from reciprocal.domain import OFFER_FIELDS, REQUEST_FIELDS, PropertyType, RequestKind, Risk
from reciprocal.errors import InputFileError
from reciprocal.intake.readers import parse_offers, parse_requests

from tests.conftest import DEMO_DATA

OFFER_HEADER = ",".join(OFFER_FIELDS)
REQUEST_HEADER = ",".join(REQUEST_FIELDS)
GOOD_OFFER = "OF-1,cambridge_city,cambridge,2,flat,1,no,no,,100.50,2026-11-20,,,,"
GOOD_OFFER_2 = "OF-2,fenland,fenland,1,flat,0,yes,no,,90,2026-11-20,no_perpetrator,,,"
GOOD_REQUEST = "RQ-1,fenland,survivor,secure,2,,no,no,fenland,cambridge,high,2026-10-01,,,,"


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def problems(call) -> tuple[str, list[str]]:
    """Run `call`; it must raise InputFileError. Returns (summary line, problem lines)."""
    with pytest.raises(InputFileError) as info:
        call()
    assert info.value.exit_code == 2
    return info.value.message.splitlines()[0], [str(p) for p in info.value.problems]


def counts(db) -> tuple[int, int]:
    return len(listing.list_offers(db, None)), len(listing.list_requests(db, None))


# -- bad rows: each with its exact line, column and reason --------------------------------------

OFFER_CASES = [
    ("bad date", "OF-1,cambridge_city,cambridge,2,flat,1,no,no,,100,2026-13-01,,",
     "available_from: '2026-13-01' is not a date: there is no month 13 (dates are YYYY-MM-DD or day "
     "first, DD/MM/YYYY)"),
    ("no such day", "OF-1,cambridge_city,cambridge,2,flat,1,no,no,,100,2026-11-31,,",
     "available_from: '2026-11-31' is not a date: November 2026 has 30 days"),
    ("no such day, day first", "OF-1,cambridge_city,cambridge,2,flat,1,no,no,,100,29/02/2027,,",
     "available_from: '29/02/2027' is not a date: February 2027 has 28 days"),
    ("month first (US)", "OF-1,cambridge_city,cambridge,2,flat,1,no,no,,100,11/20/2026,,",
     "available_from: '11/20/2026' is not a date: there is no month 20 (dates are YYYY-MM-DD or day "
     "first, DD/MM/YYYY)"),
    ("date in words", "OF-1,cambridge_city,cambridge,2,flat,1,no,no,,100,20 Nov 2026,,",
     "available_from: '20 Nov 2026' is not a date: write it as 2026-11-16 or 16/11/2026"),
    ("bad bool", "OF-1,cambridge_city,cambridge,2,flat,1,maybe,no,,100,2026-11-01,,",
     "step_free: 'maybe' is not yes/no (true/false)"),
    ("bedrooms out of range", "OF-1,cambridge_city,cambridge,11,flat,1,no,no,,100,2026-11-01,,",
     "bedrooms: 11 is outside 0..10"),
    ("bedrooms not a number", "OF-1,cambridge_city,cambridge,two,flat,1,no,no,,100,2026-11-01,,",
     "bedrooms: 'two' is not a whole number (digits 0-9 only)"),
    ("unknown provider", "OF-1,nobody,cambridge,2,flat,1,no,no,,100,2026-11-01,,",
     "provider: unknown provider 'nobody'"),
    ("unknown area", "OF-1,cambridge_city,norfolk,2,flat,1,no,no,,100,2026-11-01,,",
     "area: unknown area 'norfolk'"),
    ("area without stock", "OF-1,cambridge_city,fenland,2,flat,1,no,no,,100,2026-11-01,,",
     "area: cambridge_city holds no stock in area 'fenland'"),
    ("unknown restriction", "OF-1,cambridge_city,cambridge,2,flat,1,no,no,,100,2026-11-01,no_pets,",
     "restrictions: unknown restriction 'no_pets' (known: no_perpetrator, age_55_plus, age_65_plus)"),
    ("unknown property type", "OF-1,cambridge_city,cambridge,2,castle,1,no,no,,100,2026-11-01,,",
     "property_type: 'castle' is not one of flat, house, bungalow, maisonette, studio"),
    ("unknown tenancy", "OF-1,cambridge_city,cambridge,2,flat,1,no,no,lifelong,100,2026-11-01,,",
     "tenancy_offered: unknown tenancy kind 'lifelong'"),
    ("missing required value", "OF-1,cambridge_city,cambridge,2,flat,1,no,no,,100,,,",
     "available_from: value is required"),
]


@pytest.mark.parametrize("row,reason", [(r, m) for _, r, m in OFFER_CASES],
                         ids=[c[0] for c in OFFER_CASES])
def test_bad_offer_row(tmp_path, scheme, row, reason):
    path = write(tmp_path, "offers.csv", OFFER_HEADER, GOOD_OFFER_2, row)
    head, found = problems(lambda: parse_offers(path, scheme))
    assert found == [f"offers.csv:3: {reason}"]
    assert head == "1 problem(s) in offers.csv; nothing was imported"


REQUEST_CASES = [
    ("perpetrator without survivor_area",
     "RQ-2,fenland,perpetrator,secure,1,,no,no,,,standard,2026-10-01,,,yes,2026-11-01",
     "survivor_area: a perpetrator request needs survivor_area"),
    ("max_bedrooms below need", "RQ-2,fenland,survivor,secure,3,2,no,no,,,standard,2026-10-01,,,,",
     "max_bedrooms: max_bedrooms is below bedrooms_needed"),
    ("unknown provider", "RQ-2,nobody,survivor,secure,2,,no,no,,,standard,2026-10-01,,,,",
     "provider: unknown provider 'nobody'"),
    ("unknown avoided area", "RQ-2,fenland,survivor,secure,2,,no,no,norfolk,,standard,2026-10-01,,,,",
     "avoid_areas: unknown area 'norfolk'"),
    ("unknown kind", "RQ-2,fenland,victim,secure,2,,no,no,,,standard,2026-10-01,,,,",
     "kind: 'victim' is not one of survivor, perpetrator"),
    ("unknown risk", "RQ-2,fenland,survivor,secure,2,,no,no,,,urgent,2026-10-01,,,,",
     "risk: 'urgent' is not one of high, medium, standard"),
    ("unknown current tenancy", "RQ-2,fenland,survivor,lodger,2,,no,no,,,standard,2026-10-01,,,,",
     "current_tenancy: unknown tenancy kind 'lodger'"),
    ("survivor with survivor_area", "RQ-2,fenland,survivor,secure,2,,no,no,,,standard,2026-10-01,,"
     "fenland,,", "kind: survivor_area and safety_decision_on belong to perpetrator requests only"),
    ("bad consent", "RQ-2,fenland,perpetrator,secure,1,,no,no,,,standard,2026-10-01,,fenland,perhaps,",
     "survivor_consent: 'perhaps' is not yes/no (true/false)"),
]


@pytest.mark.parametrize("row,reason", [(r, m) for _, r, m in REQUEST_CASES],
                         ids=[c[0] for c in REQUEST_CASES])
def test_bad_request_row(tmp_path, scheme, row, reason):
    path = write(tmp_path, "requests.csv", REQUEST_HEADER, GOOD_REQUEST, row)
    head, found = problems(lambda: parse_requests(path, scheme))
    assert found == [f"requests.csv:3: {reason}"]
    assert head == "1 problem(s) in requests.csv; nothing was imported"


def test_duplicate_ref_within_the_file(tmp_path, scheme):
    path = write(tmp_path, "offers.csv", OFFER_HEADER, GOOD_OFFER, GOOD_OFFER_2, GOOD_OFFER)
    assert problems(lambda: parse_offers(path, scheme))[1] == [
        "offers.csv:4: ref: ref OF-1 also appears on line 2"]


def test_missing_required_column(tmp_path, scheme):
    header = OFFER_HEADER.replace("area,", "")
    path = write(tmp_path, "offers.csv", header, GOOD_OFFER.replace(",cambridge,", ","))
    assert problems(lambda: parse_offers(path, scheme))[1] == [
        "offers.csv:1: area: required column is missing"]


def test_unknown_extra_column(tmp_path, scheme):
    path = write(tmp_path, "offers.csv", OFFER_HEADER + ",colour", GOOD_OFFER + ",blue")
    assert problems(lambda: parse_offers(path, scheme))[1] == [
        "offers.csv:1: colour: unknown column 'colour'"]


def test_optional_columns_may_be_left_out(tmp_path, scheme):
    path = write(tmp_path, "offers.csv", "ref,provider,area,bedrooms,property_type,available_from",
                 "OF-9,fenland,fenland,2,house,2026-11-20")
    [offer] = parse_offers(path, scheme)
    assert (offer.ref, offer.bedrooms, offer.property_type, offer.step_free, offer.restrictions,
            offer.tenancy_offered) == ("OF-9", 2, PropertyType.house, False, (), None)


def test_every_bad_row_is_listed_at_once_and_nothing_is_written(tmp_path, scheme, db):
    rows = [GOOD_OFFER] + [row.replace("OF-1,", f"OF-B{i},", 1) for i, (_, row, _) in
                           enumerate(OFFER_CASES)] + [GOOD_OFFER_2, GOOD_OFFER]
    path = write(tmp_path, "offers.csv", OFFER_HEADER, *rows)
    before = counts(db)
    head, found = problems(lambda: pot.import_offers(db, scheme, path))
    n = len(OFFER_CASES)
    expected = [f"offers.csv:{i + 3}: {reason}" for i, (_, _, reason) in enumerate(OFFER_CASES)]
    expected.append(f"offers.csv:{n + 4}: ref: ref OF-1 also appears on line 2")
    assert found == expected
    assert head == f"{n + 1} problem(s) in offers.csv; nothing was imported"
    assert counts(db) == before == (0, 0)


def test_every_bad_request_row_is_listed_at_once(tmp_path, scheme, db):
    rows = [row.replace("RQ-2,", f"RQ-B{i},", 1) for i, (_, row, _) in enumerate(REQUEST_CASES)]
    path = write(tmp_path, "requests.csv", REQUEST_HEADER, GOOD_REQUEST, *rows)
    _, found = problems(lambda: pot.import_requests(db, scheme, path))
    assert found == [f"requests.csv:{i + 3}: {reason}" for i, (_, _, reason) in enumerate(REQUEST_CASES)]
    assert counts(db) == (0, 0)


def test_several_problems_in_one_row_are_all_listed(tmp_path, scheme):
    path = write(tmp_path, "offers.csv", OFFER_HEADER,
                 "OF-1,cambridge_city,cambridge,99,igloo,1,maybe,no,,100,soon,,")
    assert problems(lambda: parse_offers(path, scheme))[1] == [
        "offers.csv:2: bedrooms: 99 is outside 0..10",
        "offers.csv:2: property_type: 'igloo' is not one of flat, house, bungalow, maisonette, studio",
        "offers.csv:2: step_free: 'maybe' is not yes/no (true/false)",
        "offers.csv:2: available_from: 'soon' is not a date: write it as 2026-11-16 or 16/11/2026",
    ]


def test_long_bad_value_is_shortened_in_the_message(tmp_path, scheme):
    path = write(tmp_path, "offers.csv", OFFER_HEADER,
                 "OF-1,cambridge_city,cambridge,2,flat,1,a very long free text answer here,no,,100,"
                 "2026-11-20,,")
    assert problems(lambda: parse_offers(path, scheme))[1] == [
        "offers.csv:2: step_free: 'a very long free text...' is not yes/no (true/false)"]


# -- personal data is refused -------------------------------------------------------------------

@pytest.mark.parametrize("column", ["name", "address", "postcode", "date_of_birth", "Date of Birth",
                                    "email", "Surname", "Post-code", "phone"])
def test_personal_data_columns_are_refused(tmp_path, scheme, db, column):
    path = write(tmp_path, "requests.csv", REQUEST_HEADER + "," + column, GOOD_REQUEST + ",x")
    head, found = problems(lambda: pot.import_requests(db, scheme, path))
    assert found == [
        f"requests.csv:1: refused: the file has personal data column(s) '{column}'; the engine "
        f"stores no names, addresses or dates of birth, only pseudonymous case refs"]
    assert head == "1 problem(s) in requests.csv; nothing was imported"
    assert counts(db) == (0, 0)


def test_personal_data_refused_in_offers_too(tmp_path, scheme, db):
    path = write(tmp_path, "offers.csv", "Name,Address," + OFFER_HEADER, "A,B," + GOOD_OFFER)
    assert problems(lambda: pot.import_offers(db, scheme, path))[1] == [
        "offers.csv:1: refused: the file has personal data column(s) 'Name', 'Address'; the engine "
        "stores no names, addresses or dates of birth, only pseudonymous case refs"]
    assert counts(db) == (0, 0)


def test_columns_that_only_contain_a_personal_word_are_not_refused(tmp_path, scheme):
    # survivor_area is not an address, preferred_areas is not a name.
    path = write(tmp_path, "requests.csv", REQUEST_HEADER,
                 "RQ-7,fenland,perpetrator,secure,1,,no,no,,,standard,2026-10-01,,fenland,yes,2026-11-01")
    [request] = parse_requests(path, scheme)
    assert request.survivor_area == "fenland"
    assert request.kind is RequestKind.perpetrator


# -- idempotent, all-or-nothing import ----------------------------------------------------------

def test_reimport_of_the_same_file_is_idempotent(scheme, db):
    first = pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    stored = listing.list_offers(db, None)
    second = pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    assert (first.added, first.unchanged) == (11, 0)
    assert (second.added, second.unchanged) == (0, 11)
    assert listing.list_offers(db, None) == stored
    r1 = pot.import_requests(db, scheme, DEMO_DATA / "requests.csv")
    r2 = pot.import_requests(db, scheme, DEMO_DATA / "requests.csv")
    assert (r1.added, r1.unchanged, r2.added, r2.unchanged) == (12, 0, 0, 12)
    assert counts(db) == (11, 12)


def test_reimport_adds_only_new_rows(tmp_path, scheme, db):
    pot.import_offers(db, scheme, write(tmp_path, "a.csv", OFFER_HEADER, GOOD_OFFER))
    result = pot.import_offers(db, scheme, write(tmp_path, "b.csv", OFFER_HEADER, GOOD_OFFER, GOOD_OFFER_2))
    assert (result.added, result.unchanged) == (1, 1)
    assert counts(db) == (2, 0)


def test_reimport_with_a_changed_value_is_an_error_and_writes_nothing(tmp_path, scheme, db):
    pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    stored = listing.list_offers(db, None)
    text = (DEMO_DATA / "offers.csv").read_text()
    changed = text.replace("OF-2611-03,fenland,fenland,1,flat", "OF-2611-03,fenland,fenland,2,flat")
    assert changed != text
    path = tmp_path / "offers.csv"
    path.write_text(changed + "OF-NEW-1,fenland,fenland,2,flat,0,no,no,,90,2026-11-20,,\n")
    head, found = problems(lambda: pot.import_offers(db, scheme, path))
    assert found == ["offers.csv:4: ref: ref OF-2611-03 is already stored with different values "
                     "(bedrooms); withdraw it and use a new ref"]
    assert head == "1 problem(s) in offers.csv; nothing was imported"
    assert listing.list_offers(db, None) == stored  # the new row was not written either


def test_changed_request_lists_every_changed_field(tmp_path, scheme, db):
    pot.import_requests(db, scheme, write(tmp_path, "a.csv", REQUEST_HEADER, GOOD_REQUEST))
    path = write(tmp_path, "b.csv", REQUEST_HEADER,
                 GOOD_REQUEST.replace("high,2026-10-01", "medium,2026-10-02"))
    assert problems(lambda: pot.import_requests(db, scheme, path))[1] == [
        "b.csv:2: ref: ref RQ-1 is already stored with different values (referred_on, risk); "
        "withdraw it and use a new ref"]
    assert counts(db) == (0, 1)


# -- file formats -------------------------------------------------------------------------------

def test_utf8_bom_is_accepted(tmp_path, scheme):
    path = tmp_path / "offers.csv"
    path.write_bytes(("\ufeff" + OFFER_HEADER + "\n" + GOOD_OFFER + "\n").encode("utf-8"))
    [offer] = parse_offers(path, scheme)
    assert offer.ref == "OF-1"


def test_semicolon_delimited_csv_is_accepted(tmp_path, scheme):
    comma = write(tmp_path, "comma.csv", OFFER_HEADER, GOOD_OFFER, GOOD_OFFER_2)
    semi = write(tmp_path, "semi.csv", OFFER_HEADER.replace(",", ";"), GOOD_OFFER.replace(",", ";"),
                 GOOD_OFFER_2.replace(",", ";"))
    assert parse_offers(semi, scheme) == parse_offers(comma, scheme)


def test_crlf_line_endings_are_accepted(tmp_path, scheme):
    path = tmp_path / "offers.csv"
    path.write_bytes((OFFER_HEADER + "\r\n" + GOOD_OFFER + "\r\n" + GOOD_OFFER_2 + "\r\n").encode())
    assert [o.ref for o in parse_offers(path, scheme)] == ["OF-1", "OF-2"]


def test_non_utf8_file_is_refused(tmp_path, scheme, db):
    path = tmp_path / "offers.csv"
    path.write_bytes((OFFER_HEADER + "\n" + GOOD_OFFER + "\n" + GOOD_OFFER_2 + "Caf\xe9 nearby\n")
                     .encode("latin-1"))
    assert problems(lambda: pot.import_offers(db, scheme, path))[1] == [
        "offers.csv:3: not UTF-8 text; save the file as CSV UTF-8"]
    assert counts(db) == (0, 0)


def test_empty_file(tmp_path, scheme):
    path = tmp_path / "offers.csv"
    path.write_bytes(b"")
    assert problems(lambda: parse_offers(path, scheme))[1] == [
        "offers.csv: the file is empty (no header row)"]


def test_header_only_file(tmp_path, scheme):
    path = write(tmp_path, "requests.csv", REQUEST_HEADER)
    assert problems(lambda: parse_requests(path, scheme))[1] == [
        "requests.csv: the file has a header but no rows"]


def test_missing_file(tmp_path, scheme):
    path = tmp_path / "nope.csv"
    assert problems(lambda: parse_offers(path, scheme))[1] == [f"{path}: file not found"]


def _typed(cell: str):
    """A CSV cell as a spreadsheet would hold it: numbers, dates, booleans, blanks."""
    if cell == "":
        return None
    if cell in ("yes", "no"):
        return cell == "yes"
    try:
        return date.fromisoformat(cell)
    except ValueError:
        pass
    for kind in (int, float):
        try:
            return kind(cell)
        except ValueError:
            pass
    return cell


def _to_xlsx(csv_path: Path, xlsx_path: Path) -> Path:
    from openpyxl import Workbook
    workbook = Workbook()
    sheet = workbook.active
    with csv_path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    sheet.append(rows[0])
    for row in rows[1:]:
        sheet.append([_typed(c) for c in row])
    workbook.save(xlsx_path)
    return xlsx_path


@pytest.mark.parametrize("kind", ["offers", "requests"])
def test_xlsx_imports_the_same_as_csv(tmp_path, scheme, db, kind):
    parse = parse_offers if kind == "offers" else parse_requests
    do_import = pot.import_offers if kind == "offers" else pot.import_requests
    source = DEMO_DATA / f"{kind}.csv"
    xlsx = _to_xlsx(source, tmp_path / f"{kind}.xlsx")
    assert parse(xlsx, scheme) == parse(source, scheme)
    first = do_import(db, scheme, xlsx)
    again = do_import(db, scheme, source)  # the same rows: nothing changes
    n = 11 if kind == "offers" else 12
    assert (first.added, first.unchanged, again.added, again.unchanged) == (n, 0, 0, n)


def test_xlsx_bad_rows_are_listed_with_sheet_row_numbers(tmp_path, scheme, db):
    csv_path = write(tmp_path, "offers.csv", OFFER_HEADER, GOOD_OFFER, GOOD_OFFER_2,
                     GOOD_OFFER.replace("OF-1,", "OF-3,").replace(",2,flat", ",12,flat"))
    xlsx = _to_xlsx(csv_path, tmp_path / "offers.xlsx")
    assert problems(lambda: pot.import_offers(db, scheme, xlsx))[1] == [
        "offers.xlsx:4: bedrooms: 12 is outside 0..10"]
    assert counts(db) == (0, 0)


def test_xlsx_with_personal_data_is_refused(tmp_path, scheme):
    csv_path = write(tmp_path, "requests.csv", REQUEST_HEADER + ",postcode", GOOD_REQUEST + ",CB1 1AA")
    xlsx = _to_xlsx(csv_path, tmp_path / "requests.xlsx")
    found = problems(lambda: parse_requests(xlsx, scheme))[1]
    assert found == ["requests.xlsx:1: refused: the file has personal data column(s) 'postcode'; the "
                     "engine stores no names, addresses or dates of birth, only pseudonymous case refs"]


def test_file_that_is_not_a_workbook(tmp_path, scheme):
    path = tmp_path / "offers.xlsx"
    path.write_text(OFFER_HEADER + "\n" + GOOD_OFFER + "\n")
    assert problems(lambda: parse_offers(path, scheme))[1] == ["offers.xlsx: not a readable XLSX workbook"]


# -- the demo data ------------------------------------------------------------------------------

def test_demo_csvs_import_cleanly(scheme, db):
    offers = pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    requests = pot.import_requests(db, scheme, DEMO_DATA / "requests.csv")
    assert (offers.added, requests.added) == (11, 12)
    assert counts(db) == (11, 12)
    stored = {o.ref: o for o in listing.list_offers(db)}
    first = stored["OF-2611-01"]
    assert (first.provider, first.area, first.bedrooms, first.property_type, first.floor,
            first.weekly_rent, first.available_from, first.notes) == (
        "cambridge_city", "cambridge", 2, PropertyType.flat, 1, 112.40, date(2026, 11, 16),
        "Lift to all floors")
    assert stored["OF-2611-05"].restrictions == ("age_55_plus",)
    requests_by_ref = {r.ref: r for r in listing.list_requests(db)}
    perp = requests_by_ref["RQ-0107"]
    assert (perp.kind, perp.survivor_area, perp.survivor_consent, perp.safety_decision_on,
            perp.max_bedrooms) == (RequestKind.perpetrator, "east_cambridgeshire", True,
                                   date(2026, 11, 4), 2)
    first_request = requests_by_ref["RQ-0101"]
    assert first_request.preferred_areas == ("cambridge", "huntingdonshire")
    assert first_request.avoid_areas == ("fenland",)
    assert first_request.risk is Risk.high


def test_uk_spreadsheet_dates_are_read_day_first(tmp_path, scheme):
    """16/11/2026, 1/4/2026, 16.11.2026 and 16-11-2026 are the 16th of November and the 1st of
    April, as a UK spreadsheet means them; the same rows in ISO give the same offers."""
    iso = write(tmp_path, "iso.csv", OFFER_HEADER, GOOD_OFFER.replace("2026-11-20", "2026-11-16"),
                GOOD_OFFER_2.replace("2026-11-20", "2026-04-01"))
    for day, april in (("16/11/2026", "1/4/2026"), ("16.11.2026", "01.04.2026"), ("16-11-2026", "01-04-2026")):
        uk = write(tmp_path, "uk.csv", OFFER_HEADER, GOOD_OFFER.replace("2026-11-20", day),
                   GOOD_OFFER_2.replace("2026-11-20", april))
        assert parse_offers(uk, scheme) == parse_offers(iso, scheme)
