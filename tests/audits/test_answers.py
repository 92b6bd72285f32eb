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
    pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    pot.import_requests(db, scheme, DEMO_DATA / "requests.csv")
    round_id = run.run_round(db, scheme, ROUND_DAY).round_id
    run.request_change(db, scheme, "hold", "RQ-0111", ROUND_DAY, reason="waiting for a safety plan",
                       until=date(2026, 12, 10))
    return {p["request"]: p for p in views.round_view(db, round_id)["proposals"]}


@pytest.fixture
def workbooks(db, scheme, week, tmp_path) -> dict[str, Path]:
    built = packs.packs(db, scheme, PACK_DAY)
    written = packs.write_packs(built, tmp_path / "packs", ("xlsx",), scheme)
    return {p.name.rsplit("-", 3)[0]: p for p in written}


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
            "events": sorted((e.proposal_id, e.to_status, e.on, e.role) for e in session.exec(select(ProposalEventRow)).all()),
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
    for b in (twin,):
        pot.import_offers(b, scheme, DEMO_DATA / "offers.csv")
        pot.import_requests(b, scheme, DEMO_DATA / "requests.csv")
        run.run_round(b, scheme, ROUND_DAY)
        run.request_change(b, scheme, "hold", "RQ-0111", ROUND_DAY, reason="waiting for a safety plan",
                           until=date(2026, 12, 10))
    the_same_by_commands(twin, scheme, week, (target["request"], target["bedrooms_needed"]))
    assert state(db) == state(twin)
    # Importing the same files again changes nothing, and says each answer is already there.
    before = state(db)
    again = import_answers(db, scheme, files)
    assert again.refused == [] and all(f.changes == [] for f in again.files)
    assert sum(len(f.already) for f in again.files) == 4  # the offer is simply unchanged
    assert state(db) == before
