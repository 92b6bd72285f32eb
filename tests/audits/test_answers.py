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
