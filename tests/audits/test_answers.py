"""Members answer in their pack: the workbook out (`reciprocal.audits.workbook`) and every returned
workbook back in one import (`reciprocal answers import`, `reciprocal.audits.answers`).

The week: the demo pot, round 1 on 2026-11-23 (five proposals, each at `proposed`, so each waits on
its offering member), and RQ-0111 (cambridge_city's household) on hold. The workbooks are filled in
through openpyxl as a person would: choosing drop-down values, typing dates into date cells.
"""
from __future__ import annotations

import os
import stat
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from reciprocal.audits import packs
from reciprocal.audits.workbook import (FRONT, HOUSEHOLDS, LISTS, PROPOSALS, STAGE_ACTIONS, WAITING,
                                        check_code)
from reciprocal.intake import pot
from reciprocal.lifecycle import run, views
from tests.conftest import DEMO_DATA, ROUND_DAY

PACK_DAY = ROUND_DAY + timedelta(days=1)


@pytest.fixture
def week(db, scheme) -> dict[str, dict]:
    """request ref -> its proposal (id, offer, from_provider, to_provider)."""
    round_id = the_week(db, scheme)
    return {p["request"]: p for p in views.round_view(db, round_id)["proposals"]}


def the_week(db, scheme) -> int:
    """The module docstring's week, in `db`; returns its round."""
    pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    pot.import_requests(db, scheme, DEMO_DATA / "requests.csv")
    round_id = run.run_round(db, scheme, ROUND_DAY).round_id
    run.request_change(db, scheme, "hold", "RQ-0111", ROUND_DAY, reason="waiting for a safety plan",
                       until=date(2026, 12, 10))
    return round_id


@pytest.fixture
def workbooks(db, scheme, week, tmp_path) -> dict[str, Path]:
    built = packs.packs(db, scheme, PACK_DAY)
    written = packs.write_packs(built, tmp_path / "packs", ("xlsx",), scheme)
    return {p.name.rsplit("-", 3)[0]: p for p in written if p.suffix == ".xlsx"}


def load(path: Path):
    from openpyxl import load_workbook
    return load_workbook(path)


def rows_of(sheet) -> list[dict]:
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, row)) for row in sheet.iter_rows(min_row=2, values_only=True) if any(row)]


def drop_down(sheet, cell: str) -> list[str]:
    """The values the drop-down on `cell` offers (read from the hidden lists sheet)."""
    book = sheet.parent
    for validation in sheet.data_validations.dataValidation:
        if cell in validation.sqref and validation.type == "list":
            ref = validation.formula1.split("!")[1].replace("$", "")
            first, last = ref.split(":")
            return [c.value for (c,) in book[LISTS][f"{first}:{last}"] if c.value is not None]
    return []


# -- the workbook out -----------------------------------------------------------------------------

def test_every_pack_has_its_workbook_readable_by_its_owner_only(workbooks, scheme):
    assert len(workbooks) == sum(p.status == "active" for p in scheme.providers.values())
    path = workbooks["cambridge_city"]
    assert path.name == "cambridge_city-2026-11-24.xlsx"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    book = load(path)
    assert book.sheetnames == [FRONT, PROPOSALS, HOUSEHOLDS, WAITING, LISTS]
    assert book[LISTS].sheet_state == "hidden"
    front = {row[0]: row[1] for row in book[FRONT].iter_rows(values_only=True) if row[0]}
    assert (front["member"], front["day"], front["scheme"]) == ("cambridge_city", datetime(2026, 11, 24),
                                                                scheme.id)
    assert front["check"] == check_code(scheme.id, "cambridge_city", "2026-11-24")
    assert front["version"].startswith("reciprocal answers workbook")


def test_your_proposals_hold_only_those_waiting_on_the_member_with_its_roles_actions(workbooks, week, scheme):
    # cambridge_city offers the home of RQ-0101 (fenland's household): at `proposed` it must act.
    sheet = load(workbooks["cambridge_city"])[PROPOSALS]
    rows = rows_of(sheet)
    assert [(r["proposal"], r["request"], r["home"], r["stage"]) for r in rows] == [
        (week["RQ-0101"]["id"], "RQ-0101", "OF-2611-01", "proposed")]
    assert isinstance(rows[0]["due"], datetime) and sheet["E2"].number_format == "yyyy-mm-dd"
    assert drop_down(sheet, "G2") == list(STAGE_ACTIONS["proposed"]) == ["confirm nomination",
                                                                          "refuse (offering landlord)"]
    assert drop_down(sheet, "J2") == scheme.config.lifecycle.refusal_reasons
    assert drop_down(sheet, "K2") == ["yes", "no"]
    # cambridge_city's own household RQ-0102 waits on peterborough_city, not on it: not in its sheet,
    # and peterborough_city's sheet has it.
    theirs = rows_of(load(workbooks["peterborough_city"])[PROPOSALS])
    assert [r["request"] for r in theirs] == ["RQ-0102"]
    # fenland referred RQ-0101: nothing waits on it, and its workbook never names the home.
    fenland = load(workbooks["fenland"])
    assert rows_of(fenland[PROPOSALS]) == []
    assert not any("OF-2611-01" in str(c.value) for s in fenland.worksheets for row in s.iter_rows() for c in row)


def test_households_sheet_is_the_circulation_list_with_the_offers_columns(workbooks, db, scheme):
    from reciprocal.lifecycle.circulate import circulate
    sheet = load(workbooks["cambridge_city"])[HOUSEHOLDS]
    rows = rows_of(sheet)
    listed = circulate(db, scheme, PACK_DAY, "cambridge_city")["member"]["requests"]
    assert [r["request"] for r in rows] == [r["request"] for r in listed] and rows
    assert all(r["for_request"] == r["request"] and r["ref"] is None for r in rows)
    assert drop_down(sheet, "I2") == list(scheme.providers["cambridge_city"].areas)
    assert "flat" in drop_down(sheet, "K2")


def test_waiting_households_offer_the_answers_their_status_allows(workbooks):
    sheet = load(workbooks["cambridge_city"])[WAITING]
    rows = rows_of(sheet)
    assert [(r["request"], r["status"], r["look_again_on"]) for r in rows] == [
        ("RQ-0111", "on_hold", datetime(2026, 12, 10))]
    assert drop_down(sheet, "G2") == ["resume", "close"]
    assert "lost_contact" in drop_down(sheet, "H2")


# -- the answers back -----------------------------------------------------------------------------

def fill(path: Path, sheet_name: str, key, **cells) -> Path:
    """Type answers into the row whose first cell is `key`, as a person would (drop-down values,
    dates into date cells); save the workbook."""
    book = load(path)
    sheet = book[sheet_name]
    header = [c.value for c in sheet[1]]
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == key)
    for column, value in cells.items():
        sheet.cell(row, header.index(column) + 1).value = value
    book.save(path)
    return path


def state(db) -> dict:
    """Everything the answers can change, without the clock's timestamps."""
    from sqlmodel import select
    from reciprocal.storage import OfferRow, ProposalEventRow, ProposalRow, RequestRow
    with db.reading() as session:
        return {
            "proposals": sorted((p.id, p.request_ref, p.offer_ref, p.status, p.refused_by, p.viewing_on,
                                 p.tenancy_start, p.due_on) for p in session.exec(select(ProposalRow)).all()),
            # A case update is an event of no proposal (issue 21): sorted by its case instead.
            "events": sorted((e.proposal_id or 0, e.case_ref or "", e.to_status, e.on, e.role)
                             for e in session.exec(select(ProposalEventRow)).all()),
            "requests": sorted((r.ref, r.status, r.reconfirmed_on, r.look_again_on) for r in session.exec(select(RequestRow)).all()),
            "offers": sorted((o.ref, o.provider, o.status, o.for_request) for o in session.exec(select(OfferRow)).all()),
        }


def three_members_answer(workbooks, week) -> list[Path]:
    """cambridge_city confirms the nomination for RQ-0101, resumes RQ-0111 and offers a home for a
    household of its circulation list; peterborough_city refuses RQ-0102 (its home is re-offered);
    nene_bridge_homes confirms RQ-0107's nomination."""
    cam = workbooks["cambridge_city"]
    fill(cam, PROPOSALS, week["RQ-0101"]["id"], action="confirm nomination", answered_on=datetime(2026, 11, 24))
    fill(cam, WAITING, "RQ-0111", answer="resume", answered_on=datetime(2026, 11, 24))
    target = rows_of(load(cam)[HOUSEHOLDS])[0]
    fill(cam, HOUSEHOLDS, target["request"], ref="OF-2611-90", area="cambridge",
         bedrooms=target["bedrooms_needed"], property_type="house", step_free="yes", wheelchair_accessible="no",
         available_from=datetime(2026, 11, 30))
    fill(workbooks["peterborough_city"], PROPOSALS, week["RQ-0102"]["id"], action="refuse (offering landlord)",
         reason="nomination_not_accepted", note="rent arrears check", answered_on=datetime(2026, 11, 24))
    fill(workbooks["nene_bridge_homes"], PROPOSALS, week["RQ-0107"]["id"], action="confirm nomination",
         answered_on=datetime(2026, 11, 24))
    return [workbooks[m] for m in ("cambridge_city", "peterborough_city", "nene_bridge_homes")]


def the_same_by_commands(db, scheme, week, offered_for: str) -> None:
    from reciprocal.domain import ProposalStatus, RefusedBy, Role
    from reciprocal.domain import Offer, PropertyType
    day = date(2026, 11, 24)
    run.advance(db, scheme, week["RQ-0101"]["id"], day, Role.offering_landlord, ProposalStatus.nomination_confirmed)
    run.request_change(db, scheme, "resume", "RQ-0111", day)
    pot.add_records(db, [Offer(ref="OF-2611-90", provider="cambridge_city", area="cambridge", bedrooms=offered_for[1],
                               property_type=PropertyType.house, step_free=True, wheelchair_accessible=False,
                               available_from=date(2026, 11, 30), for_request=offered_for[0])], "--option", scheme,
                    today=day)
    run.refuse(db, scheme, week["RQ-0102"]["id"], day, RefusedBy.offering_landlord, "nomination_not_accepted",
               "rent arrears check")
    run.advance(db, scheme, week["RQ-0107"]["id"], day, Role.offering_landlord, ProposalStatus.nomination_confirmed)


@pytest.fixture
def twin(tmp_path, db_template, scheme):
    """A second fresh database, for the same week answered by commands."""
    import shutil
    from tests.conftest import ON_POSTGRES, pg_create_schema, pg_drop_database, resolve_url
    from reciprocal.storage import Database
    if ON_POSTGRES:
        url = pg_create_schema(scheme.id)
    else:
        url = str(tmp_path / "twin.db")
        shutil.copy2(db_template, url)
    database = Database(resolve_url(url))
    yield database
    database.engine.dispose()
    if ON_POSTGRES:
        pg_drop_database(url)


def test_three_workbooks_in_one_import_equal_the_same_answers_by_commands(db, twin, scheme, week, workbooks):
    from reciprocal.audits.answers import import_answers
    files = three_members_answer(workbooks, week)
    target = rows_of(load(workbooks["cambridge_city"])[HOUSEHOLDS])[0]
    result = import_answers(db, scheme, files)
    assert result.refused == [], [str(p) for f in result.files for p in f.problems]
    lines = [c.line() for f in result.files for c in f.changes]
    assert any("nomination_confirmed" in l and "RQ-0101" in l for l in lines), lines
    assert any(l.startswith("request RQ-0111: on_hold -> active") for l in lines), lines
    assert any(l.startswith("offer OF-2611-90") for l in lines), lines
    assert any("RQ-0102" in l and "refused" in l for l in lines), lines
    # The same answers typed as commands, in a database with the same week.
    the_week(twin, scheme)
    the_same_by_commands(twin, scheme, week, (target["request"], target["bedrooms_needed"]))
    assert state(db) == state(twin)
    # Importing the same files again changes nothing, and says each answer is already there.
    before = state(db)
    again = import_answers(db, scheme, files)
    assert again.refused == [] and all(f.changes == [] for f in again.files)
    assert sum(len(f.already) for f in again.files) == 4  # the offer is simply unchanged
    assert state(db) == before


def append_row(path: Path, sheet_name: str, values: dict) -> int:
    book = load(path)
    sheet = book[sheet_name]
    header = [c.value for c in sheet[1]]
    row = sheet.max_row + 1
    for column, value in values.items():
        sheet.cell(row, header.index(column) + 1).value = value
    book.save(path)
    return row


def refused_alone(db, scheme, path: Path) -> list[str]:
    """Import one file that must be refused whole: its problems, as printed; nothing written."""
    from reciprocal.audits.answers import import_answers
    before = state(db)
    result = import_answers(db, scheme, [path])
    assert [f.file for f in result.refused] == [path.name]
    assert state(db) == before
    return [str(p) for p in result.refused[0].problems]


@pytest.fixture
def cam(workbooks, week) -> Path:
    """cambridge_city's workbook with one good answer in it (which a refusal must not apply)."""
    return fill(workbooks["cambridge_city"], WAITING, "RQ-0111", answer="resume")


def test_an_action_outside_the_stage_is_refused_naming_file_sheet_row_and_column(db, scheme, week, cam):
    fill(cam, PROPOSALS, week["RQ-0101"]["id"], action="household accepts")
    assert refused_alone(db, scheme, cam) == [
        "cambridge_city-2026-11-24.xlsx, sheet 'Your proposals':2: action: 'household accepts' is not an action "
        "cambridge_city may take at stage proposed (confirm nomination, refuse (offering landlord))"]


def test_a_row_where_the_other_member_acts_is_outside_the_role(db, scheme, week, workbooks):
    # fenland referred RQ-0101: at `proposed` the offering member answers.
    fenland = workbooks["fenland"]
    row = append_row(fenland, PROPOSALS, {"proposal": week["RQ-0101"]["id"], "request": "RQ-0101",
                                          "stage": "proposed", "action": "confirm nomination"})
    assert refused_alone(db, scheme, fenland) == [
        f"fenland-2026-11-24.xlsx, sheet 'Your proposals':{row}: action: at stage proposed the offering member "
        f"answers, not fenland"]


def test_another_members_proposal_is_refused(db, scheme, week, cam):
    row = append_row(cam, PROPOSALS, {"proposal": week["RQ-0104"]["id"], "request": "RQ-0104",
                                      "stage": "proposed", "action": "confirm nomination"})
    assert refused_alone(db, scheme, cam) == [
        f"cambridge_city-2026-11-24.xlsx, sheet 'Your proposals':{row}: proposal: proposal "
        f"{week['RQ-0104']['id']} is not one of cambridge_city's proposals"]


def test_a_stage_that_moved_on_since_the_pack_is_refused(db, scheme, week, cam):
    from reciprocal.domain import ProposalStatus, Role
    run.advance(db, scheme, week["RQ-0101"]["id"], PACK_DAY, Role.offering_landlord,
                ProposalStatus.nomination_confirmed)  # by command, after the pack
    fill(cam, PROPOSALS, week["RQ-0101"]["id"], action="refuse (offering landlord)", reason="other")
    assert refused_alone(db, scheme, cam) == [
        f"cambridge_city-2026-11-24.xlsx, sheet 'Your proposals':2: stage: proposal {week['RQ-0101']['id']} has "
        f"moved on since the pack: it is nomination_confirmed now, not proposed"]


def test_an_answer_given_by_command_since_is_reported_not_applied_twice(db, scheme, week, cam):
    from reciprocal.audits.answers import import_answers
    from reciprocal.domain import ProposalStatus, Role
    run.advance(db, scheme, week["RQ-0101"]["id"], PACK_DAY, Role.offering_landlord,
                ProposalStatus.nomination_confirmed)
    fill(cam, PROPOSALS, week["RQ-0101"]["id"], action="confirm nomination")
    result = import_answers(db, scheme, [cam])
    assert result.refused == []
    assert result.files[0].already == [f"Your proposals row 2: proposal {week['RQ-0101']['id']}: "
                                       f"nomination_confirmed on 2026-11-24 is already in the trail"]
    assert [c.line() for c in result.files[0].changes] == ["request RQ-0111: on_hold -> active; back in the pot"]


def test_a_forged_member_cell_is_refused(db, scheme, week, cam):
    book = load(cam)
    book[FRONT]["B3"] = "peterborough_city"
    book.save(cam)
    assert refused_alone(db, scheme, cam) == [
        "cambridge_city-2026-11-24.xlsx, sheet 'Front':3: member: the member cell says 'peterborough_city', but "
        "the workbook was written for cambridge_city; nothing in it is applied"]


def test_a_duplicated_row_is_refused(db, scheme, week, cam):
    fill(cam, PROPOSALS, week["RQ-0101"]["id"], action="confirm nomination")
    book = load(cam)
    sheet = book[PROPOSALS]
    sheet.append([c.value for c in sheet[2]])
    book.save(cam)
    assert refused_alone(db, scheme, cam) == [
        f"cambridge_city-2026-11-24.xlsx, sheet 'Your proposals':3: proposal: proposal {week['RQ-0101']['id']} "
        f"is answered again (first on row 2)"]


def test_a_formula_odd_digits_and_control_characters_are_refused_all_at_once(db, scheme, week, cam):
    fill(cam, PROPOSALS, week["RQ-0101"]["id"], action='="confirm nomination"')
    fill(cam, WAITING, "RQ-0111", answered_on="２０２６-11-24")
    target = rows_of(load(cam)[HOUSEHOLDS])[0]["request"]
    fill(cam, HOUSEHOLDS, target, ref="OF-2611-91", area="cambridge", bedrooms="３", property_type="flat",
         available_from=datetime(2026, 11, 30), notes="keys at the office\u202e")
    problems = refused_alone(db, scheme, cam)
    where = "cambridge_city-2026-11-24.xlsx, sheet "
    assert f"{where}'Your proposals':2: action: the cell is a formula; type the answer itself" in problems
    assert f"{where}'Your waiting households':2: answered_on: '２０２６-11-24' is not a date (digits 0-9 only)" in problems
    assert f"{where}'Households you could house':2: notes: the cell holds control characters" in problems
    assert any(p.startswith(f"{where}'Households you could house':2: bedrooms:") for p in problems), problems


def test_every_problem_in_every_file_at_once_and_good_files_still_apply(db, scheme, week, workbooks, cam):
    from reciprocal.audits.answers import import_answers
    fill(cam, PROPOSALS, week["RQ-0101"]["id"], action="household accepts")
    peterborough = fill(workbooks["peterborough_city"], PROPOSALS, week["RQ-0102"]["id"],
                        action="refuse (offering landlord)", reason="no_such_reason")
    nene = fill(workbooks["nene_bridge_homes"], PROPOSALS, week["RQ-0107"]["id"], action="confirm nomination")
    result = import_answers(db, scheme, [cam, peterborough, nene])
    assert [f.file for f in result.refused] == [cam.name, peterborough.name]
    problems = [str(p) for f in result.refused for p in f.problems]
    assert len(problems) == 2 and "reason: 'no_such_reason' is not one of the scheme's refusal reasons" in problems[1]
    assert [c.line() for c in result.files[2].changes][0].startswith(f"proposal {week['RQ-0107']['id']} ")
    with db.reading() as session:
        from reciprocal.storage import RequestRow
        from sqlmodel import select
        assert session.exec(select(RequestRow.status).where(RequestRow.ref == "RQ-0111")).one() == "on_hold"


def test_the_command_prints_every_change_and_names_every_problem(db_url, scheme, week, workbooks, tmp_path):
    import json
    from tests.helpers import reciprocal
    files = three_members_answer(workbooks, week)
    done = reciprocal("answers", "import", *map(str, files), db=db_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cambridge_city-2026-11-24.xlsx (cambridge_city, pack of 2026-11-24):" in done.stdout
    assert "request RQ-0111: on_hold -> active" in done.stdout
    again = reciprocal("answers", "import", *map(str, files), "--format", "json", db=db_url, cwd=tmp_path)
    data = json.loads(again.stdout)
    assert again.returncode == 0 and data["changes"] == [] and len(data["files"]) == 3
    broken = fill(workbooks["fenland"], FRONT, "check", )  # untouched, then its check code forged:
    book = load(broken)
    book[FRONT]["B6"] = "0000"
    book.save(broken)
    refused = reciprocal("answers", "import", str(broken), db=db_url, cwd=tmp_path)
    assert refused.returncode != 0 and "fenland-2026-11-24.xlsx, sheet 'Front':6: check:" in refused.stderr
    assert "Traceback" not in refused.stderr and "internal error" not in refused.stderr


LIBREOFFICE = __import__("shutil").which("soffice")


@pytest.mark.skipif(LIBREOFFICE is None, reason="no LibreOffice: apt-get install libreoffice-calc")
def test_a_workbook_opened_and_saved_by_libreoffice_imports_the_same(db, twin, scheme, week, workbooks, tmp_path):
    import shutil
    import subprocess
    from reciprocal.audits.answers import import_answers
    files = three_members_answer(workbooks, week)
    # The same answers, through LibreOffice: opened and saved again as a workbook.
    saved = tmp_path / "saved"
    proc = subprocess.run([LIBREOFFICE, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                           "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(saved), *map(str, files)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    resaved = [saved / f.name for f in files]
    assert all(f.exists() and f.read_bytes() != g.read_bytes() for f, g in zip(resaved, files))
    # The twin imports the files as written; this database, as LibreOffice saved them.
    the_week(twin, scheme)
    direct = import_answers(twin, scheme, files)
    through = import_answers(db, scheme, resaved)
    assert through.refused == [], [str(p) for f in through.files for p in f.problems]
    assert [c.line() for f in through.files for c in f.changes] == [c.line() for f in direct.files for c in f.changes]
    assert state(db) == state(twin)
    shutil.rmtree(tmp_path / "lo", ignore_errors=True)


# -- the CSV twins --------------------------------------------------------------------------------

@pytest.fixture
def twins(db, scheme, week, tmp_path) -> dict[str, Path]:
    """Every CSV twin the pack writes beside the workbooks, by file name."""
    built = packs.packs(db, scheme, PACK_DAY)
    return {p.name: p for p in packs.write_packs(built, tmp_path / "csv", ("xlsx",), scheme) if p.suffix == ".csv"}


def fill_csv(path: Path, key, **cells) -> Path:
    """Type answers into the twin's row whose first cell is `key` (as text, as a CSV holds it)."""
    import csv
    with path.open(newline="", encoding="utf-8") as f:
        lines = list(csv.reader(f))
    header = lines[1]
    row = next(r for r in lines[2:] if r[0] == str(key))
    for column, value in cells.items():
        row[header.index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(lines)
    return path


def test_csv_twins_import_the_same_as_the_workbooks(db, twin, scheme, week, workbooks, twins):
    from reciprocal.audits.answers import import_answers
    assert {n for n in twins if n.startswith("cambridge_city-")} == {
        f"cambridge_city-2026-11-24-{t}.csv" for t in ("proposals", "households", "waiting")}
    first = twins["cambridge_city-2026-11-24-proposals.csv"].read_text().splitlines()[0]
    assert first == (f"# version=reciprocal answers workbook 1,scheme={scheme.id},member=cambridge_city,"
                     f"day=2026-11-24,sheet=proposals,check={check_code(scheme.id, 'cambridge_city', '2026-11-24')}")
    # The workbooks' answers (three members), imported into the twin database.
    the_week(twin, scheme)
    by_book = import_answers(twin, scheme, three_members_answer(workbooks, week))
    # The same answers typed into the CSV twins, imported here.
    target = rows_of(load(workbooks["cambridge_city"])[HOUSEHOLDS])[0]
    files = [
        fill_csv(twins["cambridge_city-2026-11-24-proposals.csv"], week["RQ-0101"]["id"],
                 action="confirm nomination", answered_on="2026-11-24"),
        fill_csv(twins["cambridge_city-2026-11-24-waiting.csv"], "RQ-0111", answer="resume", answered_on="24/11/2026"),
        fill_csv(twins["cambridge_city-2026-11-24-households.csv"], target["request"], ref="OF-2611-90",
                 area="cambridge", bedrooms=str(target["bedrooms_needed"]), property_type="house", step_free="yes",
                 wheelchair_accessible="no", available_from="2026-11-30"),
        fill_csv(twins["peterborough_city-2026-11-24-proposals.csv"], week["RQ-0102"]["id"],
                 action="refuse (offering landlord)", reason="nomination_not_accepted", note="rent arrears check",
                 answered_on="2026-11-24"),
        fill_csv(twins["nene_bridge_homes-2026-11-24-proposals.csv"], week["RQ-0107"]["id"],
                 action="confirm nomination", answered_on="2026-11-24"),
    ]
    by_csv = import_answers(db, scheme, files)
    assert by_csv.refused == [], [str(p) for f in by_csv.files for p in f.problems]
    assert (sorted(c.line() for f in by_csv.files for c in f.changes)
            == sorted(c.line() for f in by_book.files for c in f.changes))
    assert state(db) == state(twin)
    # Again: nothing applied twice.
    again = import_answers(db, scheme, files)
    assert all(f.changes == [] for f in again.files) and sum(len(f.already) for f in again.files) == 4


def test_a_bad_csv_cell_is_refused_naming_file_row_and_column_nothing_written(db, scheme, week, twins):
    waiting = fill_csv(twins["cambridge_city-2026-11-24-waiting.csv"], "RQ-0111", answer="resume")
    proposals = fill_csv(twins["cambridge_city-2026-11-24-proposals.csv"], week["RQ-0101"]["id"],
                         action="household accepts")
    assert refused_alone(db, scheme, proposals) == [
        "cambridge_city-2026-11-24-proposals.csv:3: action: 'household accepts' is not an action cambridge_city "
        "may take at stage proposed (confirm nomination, refuse (offering landlord))"]
    fill_csv(waiting, "RQ-0111", answered_on="２０２６-11-24", outcome="=1+1")
    assert refused_alone(db, scheme, waiting) == [
        "cambridge_city-2026-11-24-waiting.csv:3: outcome: the cell is a formula; type the answer itself",
        "cambridge_city-2026-11-24-waiting.csv:3: answered_on: '２０２６-11-24' is not a date (digits 0-9 only)"]


def test_a_csv_twin_is_bound_to_its_member_day_and_sheet(db, scheme, week, twins, tmp_path):
    path = twins["cambridge_city-2026-11-24-waiting.csv"]
    fill_csv(path, "RQ-0111", answer="resume")
    text = path.read_text()
    forged = tmp_path / "forged.csv"
    forged.write_text(text.replace("member=cambridge_city", "member=peterborough_city", 1))
    assert refused_alone(db, scheme, forged) == [
        "forged.csv:1: member: the member cell says 'peterborough_city', but the workbook was written for "
        "cambridge_city; nothing in it is applied"]
    renamed = tmp_path / "fenland-2026-11-24-waiting.csv"
    renamed.write_text(text)
    assert refused_alone(db, scheme, renamed) == [
        "fenland-2026-11-24-waiting.csv: the file is named for fenland on 2026-11-24, but its first line is "
        "cambridge_city's of 2026-11-24"]
    unbound = tmp_path / "cambridge_city-2026-11-24-proposals.csv"
    unbound.write_text(text)
    assert refused_alone(db, scheme, unbound) == [
        "cambridge_city-2026-11-24-proposals.csv: the file is named for the proposals sheet, but its first line "
        "is the waiting sheet's"]


# -- the configs judged again at the start ----------------------------------------------------------

def test_the_import_judges_the_configs_first_and_keeps_what_that_cancels(db, scheme, week, cam, tmp_path):
    """As every command that changes state: the live proposals judged again under the configs as
    they are now, in a transaction of their own, before any row; a refused file does not undo it."""
    from reciprocal.audits.answers import import_answers
    from tests.lifecycle.test_updates import suspended
    changed = suspended(tmp_path, "wicken_fen_homes", "cancel")
    fill(cam, PROPOSALS, week["RQ-0101"]["id"], action="household accepts")  # refused: outside the stage
    result = import_answers(db, changed, [cam])
    assert [f.file for f in result.refused] == [cam.name]
    [said] = [c for c in result.rejudged if c.request == "RQ-0104"]
    assert said.to_status == "cancelled" and "providers_active" in said.why
    assert views.proposal_view(db, week["RQ-0104"]["id"])["status"] == "cancelled"
    assert result.to_json()["changes"][0]["ref"] == str(week["RQ-0104"]["id"])


def test_the_command_prints_the_configs_cancellations_first(db_url, scheme, week, workbooks, tmp_path):
    from tests.helpers import reciprocal
    from tests.lifecycle.test_updates import suspended
    changed = suspended(tmp_path, "wicken_fen_homes", "cancel")
    files = three_members_answer(workbooks, week)
    assert changed.providers["wicken_fen_homes"].status == "suspended"
    done = reciprocal("answers", "import", *map(str, files), db=db_url, cwd=tmp_path, config=tmp_path / "configs")
    assert done.returncode == 0, done.stderr
    head, _, rest = done.stdout.partition("cambridge_city-2026-11-24.xlsx")
    assert "The configs as they are now, judged before the answers:" in head
    assert f"proposal {week['RQ-0104']['id']}" in head and "cancelled" in head


def test_a_workbook_with_two_proposals_at_one_stage_has_each_rows_drop_down(db, scheme, week):
    """A member acting on two proposals at one stage: `pack` failed (openpyxl took "G2 G3" for one
    cell) as soon as a member had two, which the answers benchmark met in its second week."""
    import io
    from openpyxl import load_workbook
    from reciprocal.audits.workbook import workbook_bytes
    pack = next(p for p in packs.packs(db, scheme, PACK_DAY) if p["member"] == "cambridge_city")
    mine = [p for p in pack["proposals"] if p.get("must_act") == "you"]
    pack["proposals"] = mine + [{**mine[0], "id": mine[0]["id"] + 100}]
    sheet = load_workbook(io.BytesIO(workbook_bytes(pack, scheme)))[PROPOSALS]
    assert drop_down(sheet, "G2") == drop_down(sheet, "G3") == list(STAGE_ACTIONS["proposed"])
