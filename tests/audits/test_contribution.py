"""Contribution targets (`reciprocal.ledger.contribution`): homes owed, the day a member reached its
debt limit, weeks at it, and the members listed for the board by `audit fairness` and
`report quarterly`; and the scheme's `fairness.board_after_weeks_at_limit`.

The history is written by hand, move by move, with both ledger legs (on SQLite or PostgreSQL):

| member (max_debt)         | what happens                                  | at its limit         |
| ------------------------- | --------------------------------------------- | -------------------- |
| fenland (2)               | tenants moved out 2026-01-05 and 2026-01-12   | from 2026-01-12      |
| huntingdonshire (2)       | two out 01-05; gives 02-02; one more out 02-16 | 01-05 to 02-01, 02-16 on |
| mereside_homes (own 1)    | one out 01-05                                 | from 2026-01-05      |
| nene_bridge_homes (own 3) | two out 01-05: owes 2, one short of its limit | never                |
| lark_rise_housing (2)     | two out 01-05; one corrected (written 02-23)  | 01-05 to 02-22       |

Every home is peterborough_city's, except the one huntingdonshire gives (to a cambridge_city
household). The scheme's default: listed after more than 8 whole weeks.
"""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from reciprocal.audits import fairness
from reciprocal.audits.quarterly import quarterly
from reciprocal.config import json_schema, load_scheme
from reciprocal.ledger import correct_move, record_move
from reciprocal.ledger.contribution import at_limit, contributions, for_the_board
from reciprocal.storage import MoveRow, ProposalRow, RoundRow

from tests.conftest import CONFIG_DIR
from tests.history import ledger_clock
from tests.intake.test_config import SCHEME, cfg, edit, problems_of  # noqa: F401 (cfg: a fixture)

D = date
MOVES = [  # household's landlord, new landlord, day
    ("fenland", "peterborough_city", D(2026, 1, 5)), ("fenland", "peterborough_city", D(2026, 1, 12)),
    ("huntingdonshire", "peterborough_city", D(2026, 1, 5)),
    ("huntingdonshire", "peterborough_city", D(2026, 1, 5)),
    ("cambridge_city", "huntingdonshire", D(2026, 2, 2)),
    ("huntingdonshire", "peterborough_city", D(2026, 2, 16)),
    ("mereside_homes", "peterborough_city", D(2026, 1, 5)),
    ("nene_bridge_homes", "peterborough_city", D(2026, 1, 5)),
    ("nene_bridge_homes", "peterborough_city", D(2026, 1, 5)),
    ("lark_rise_housing", "peterborough_city", D(2026, 1, 5)),
    ("lark_rise_housing", "peterborough_city", D(2026, 1, 5)),  # move 11: corrected on 02-23
]
CORRECTED_ON = D(2026, 2, 23)
AS_OF = D(2026, 3, 16)  # fenland: 63 days (9 weeks) at its limit; mereside_homes: 70 (10 weeks)


@pytest.fixture
def history(db):
    with db.transaction() as session:
        for n, (old, new, day) in enumerate(MOVES, start=1):
            rnd = RoundRow(on=day, status="closed")
            session.add(rnd)
            session.flush()
            proposal = ProposalRow(round_id=rnd.id, request_ref=f"RQ-{n}", offer_ref=f"OF-{n}",
                                   from_provider=old, to_provider=new, status="moved")
            session.add(proposal)
            session.flush()
            move = MoveRow(round_id=rnd.id, proposal_id=proposal.id, request_ref=f"RQ-{n}",
                           offer_ref=f"OF-{n}", from_provider=old, to_provider=new, kind="survivor",
                           bedrooms=2, band="2 bed", moved_on=day)
            session.add(move)
            session.flush()
            record_move(session, move)
    with ledger_clock(CORRECTED_ON), db.transaction() as session:
        correct_move(session, 11, "counted under the old bilateral agreement")
    return db


def positions(db, scheme, on: date):
    with db.reading() as session:
        return contributions(session, scheme, on)


def with_weeks(scheme, weeks: int):
    fairness_terms = scheme.config.fairness.model_copy(update={"board_after_weeks_at_limit": weeks})
    config = scheme.config.model_copy(update={"fairness": fairness_terms})
    return type(scheme)(config, scheme.providers, scheme.source)


# -- the replay -----------------------------------------------------------------------------------

def test_a_member_listed_only_after_more_than_the_schemes_weeks_at_its_limit(history, scheme):
    assert scheme.config.fairness.board_after_weeks_at_limit == 8
    for on, weeks, listed in [(D(2026, 1, 11), None, False), (D(2026, 1, 12), 0, False),
                              (D(2026, 3, 9), 8, False), (D(2026, 3, 15), 8, False),
                              (D(2026, 3, 16), 9, True)]:
        fenland = positions(history, scheme, on)["fenland"]
        assert fenland.weeks_at_limit == weeks, on
        assert fenland.at_limit_since == (None if weeks is None else D(2026, 1, 12))
        board = for_the_board(positions(history, scheme, on), 8)
        assert ("fenland" in [b["provider"] for b in board]) is listed, on


def test_coming_back_within_the_limit_resets_the_day_it_was_reached(history, scheme):
    since = {on: positions(history, scheme, on)["huntingdonshire"].at_limit_since
             for on in (D(2026, 1, 4), D(2026, 1, 5), D(2026, 2, 1), D(2026, 2, 2), D(2026, 2, 15),
                        D(2026, 2, 16), AS_OF)}
    assert since == {D(2026, 1, 4): None, D(2026, 1, 5): D(2026, 1, 5), D(2026, 2, 1): D(2026, 1, 5),
                     D(2026, 2, 2): None, D(2026, 2, 15): None,
                     D(2026, 2, 16): D(2026, 2, 16), AS_OF: D(2026, 2, 16)}
    assert positions(history, scheme, AS_OF)["huntingdonshire"].weeks_at_limit == 4


def test_a_correction_takes_a_member_off_its_limit_on_the_day_it_is_written(history, scheme):
    before = positions(history, scheme, CORRECTED_ON.replace(day=22))["lark_rise_housing"]
    after = positions(history, scheme, CORRECTED_ON)["lark_rise_housing"]
    assert (before.balance, before.at_limit_since) == (-2, D(2026, 1, 5))
    assert (after.balance, after.homes_owed, after.at_limit_since) == (-1, 1, None)


def test_each_member_is_held_to_its_own_max_debt(history, scheme):
    now = positions(history, scheme, AS_OF)
    mereside, nene = now["mereside_homes"], now["nene_bridge_homes"]
    assert (mereside.max_debt, mereside.homes_owed, mereside.at_limit_since) == (1, 1, D(2026, 1, 5))
    assert (nene.max_debt, nene.homes_owed, nene.at_limit_since) == (3, 2, None)


def test_homes_owed_is_the_debt_and_nothing_for_a_giver(history, scheme):
    now = positions(history, scheme, AS_OF)
    assert {p: c.homes_owed for p, c in now.items() if c.homes_owed} == {
        "fenland": 2, "huntingdonshire": 2, "mereside_homes": 1, "nene_bridge_homes": 2,
        "lark_rise_housing": 1, "cambridge_city": 1}
    assert now["peterborough_city"].balance == 9 and now["peterborough_city"].homes_owed == 0


def test_owing_nothing_is_never_at_the_limit():
    assert not at_limit(0, 0)
    assert at_limit(-1, 0) and at_limit(-2, 2) and at_limit(-3, 2)
    assert not at_limit(-1, 2) and not at_limit(-5, None)


def test_the_board_list_is_longest_first_and_follows_the_schemes_weeks(history, scheme):
    board = for_the_board(positions(history, scheme, AS_OF), 8)
    assert board == [
        {"provider": "mereside_homes", "at_limit_since": "2026-01-05", "weeks_at_limit": 10,
         "homes_owed": 1, "max_debt": 1},
        {"provider": "fenland", "at_limit_since": "2026-01-12", "weeks_at_limit": 9,
         "homes_owed": 2, "max_debt": 2}]
    report = fairness(history, with_weeks(scheme, 9), until=AS_OF)
    assert [b["provider"] for b in report["for_the_board"]] == ["mereside_homes"]
    assert report["board_after_weeks_at_limit"] == 9


# -- audit fairness -------------------------------------------------------------------------------

def run(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(app, ["--db", db_url, "--config", str(CONFIG_DIR), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_fairness_json_lists_the_board_and_each_members_position(history, db_url):
    report = json.loads(run(db_url, "audit", "fairness", "--until", "2026-03-16", "--format", "json"))
    assert [(b["provider"], b["weeks_at_limit"]) for b in report["for_the_board"]] == [
        ("mereside_homes", 10), ("fenland", 9)]
    assert report["scheme_measures"]["providers_for_the_board"] == ["mereside_homes", "fenland"]
    rows = {r["provider"]: r for r in report["providers"]}
    assert {k: rows["huntingdonshire"][k] for k in ("homes_owed", "at_limit_since", "weeks_at_limit",
                                                    "for_the_board")} == {
        "homes_owed": 2, "at_limit_since": "2026-02-16", "weeks_at_limit": 4, "for_the_board": False}
    assert rows["peterborough_city"]["at_limit_since"] is None
    # Offers owed: the commitment's figure, rounded down as offer_commitment_ok is, less offers made.
    for r in rows.values():
        if r["offers_expected"] is not None:
            assert r["offers_owed"] == max(0, int(r["offers_expected"]) - r["offers_made"])
            assert (r["offers_owed"] == 0) is r["offer_commitment_ok"]


def test_a_provider_sees_the_board_list_too(history, db_url):
    report = json.loads(run(db_url, "audit", "fairness", "--until", "2026-03-16", "--for-provider",
                            "fenland", "--format", "json"))
    assert [b["provider"] for b in report["for_the_board"]] == ["mereside_homes", "fenland"]
    assert list(report["balance_history"]["providers"]) == ["fenland"]


def test_fairness_csv_markdown_html_and_table_carry_the_board(history, db_url):
    base = ("audit", "fairness", "--until", "2026-03-16")
    csv_lines = run(db_url, *base, "--format", "csv").splitlines()
    header = csv_lines[0].split(",")
    assert {"homes_owed", "at_limit_since", "weeks_at_limit", "for_the_board", "offers_owed"} <= set(header)
    fenland = dict(zip(header, next(line for line in csv_lines if line.startswith("fenland,")).split(",")))
    assert (fenland["homes_owed"], fenland["at_limit_since"], fenland["weeks_at_limit"],
            fenland["for_the_board"]) == ("2", "2026-01-12", "9", "yes")
    title = "For the board: members at their debt limit for more than 8 week(s)"
    md = run(db_url, *base, "--format", "md")
    assert f"## {title}" in md
    assert "| mereside_homes | 2026-01-05 | 10 | 1 | 1 |" in md
    html = run(db_url, *base, "--format", "html")
    assert f"<h2>{title}</h2>" in html
    assert "<td>fenland</td><td>2026-01-12</td><td>9</td><td>2</td><td>2</td>" in html
    table = run(db_url, *base)
    assert title in table
    assert re.search(r"│ fenland +│ 2026-01-12 +│ 9 +│ 2 +│ 2 +│", table)


# -- report quarterly -----------------------------------------------------------------------------

def test_quarterly_lists_the_board_as_of_each_quarters_end(history, scheme):
    report = quarterly(history, scheme, 2025, today=D(2026, 11, 28))
    boards = {b["quarter"]: b for b in report["for_the_board"]}
    assert boards["Q3"] == {"quarter": "Q3", "as_of": "2025-12-31", "providers": []}
    # 2026-03-31: mereside_homes 85 days at its limit (12 weeks), fenland 78 (11), huntingdonshire 6.
    assert boards["Q4"]["as_of"] == "2026-03-31"
    assert [(b["provider"], b["weeks_at_limit"], b["homes_owed"]) for b in boards["Q4"]["providers"]] == [
        ("mereside_homes", 12, 1), ("fenland", 11, 2)]
    assert boards["year"] == boards["Q4"] | {"quarter": "year"}
    rows = {(r["quarter"], r["group"], r["name"]): r for r in report["rows"]}
    assert {k: rows["Q4", "provider", "fenland"][k] for k in ("homes_owed", "weeks_at_limit",
                                                              "for_the_board")} == {
        "homes_owed": 2, "weeks_at_limit": 11, "for_the_board": True}
    assert rows["Q4", "scheme", "all"]["homes_owed"] == 9
    assert rows["Q4", "area", "fenland"]["homes_owed"] is None


def test_quarterly_has_no_board_for_a_quarter_not_yet_begun(history, scheme):
    report = quarterly(history, scheme, 2026, today=D(2026, 5, 15))
    boards = {b["quarter"]: b for b in report["for_the_board"]}
    assert boards["Q1"]["as_of"] == "2026-05-15"
    assert [b["provider"] for b in boards["Q1"]["providers"]] == ["mereside_homes", "fenland",
                                                                 "huntingdonshire"]
    assert boards["Q2"] == {"quarter": "Q2", "as_of": None, "providers": []}
    q2 = next(r for r in report["rows"] if r["quarter"] == "Q2" and r["name"] == "fenland")
    assert (q2["homes_owed"], q2["for_the_board"]) == (None, None)


def test_quarterly_command_json_markdown_and_scope(history, db_url):
    base = ("report", "quarterly", "--year", "2025")
    report = json.loads(run(db_url, *base, "--format", "json"))
    q4 = next(b for b in report["for_the_board"] if b["quarter"] == "Q4")
    assert [b["provider"] for b in q4["providers"]] == ["mereside_homes", "fenland"]
    scoped = json.loads(run(db_url, *base, "--format", "json", "--for-provider", "fenland"))
    assert scoped["for_the_board"] == report["for_the_board"]
    md = run(db_url, *base, "--format", "md")
    assert "### For the board as of 2026-03-31: members at their debt limit for more than 8 week(s)" in md
    assert "| fenland | 2026-01-12 | 11 | 2 | 2 |" in md
    assert "fenland" in run(db_url, *base) and "For the board as of 2026-03-31" in run(db_url, *base)


# -- the scheme's number of weeks ----------------------------------------------------------------

LINE = "  board_after_weeks_at_limit: 8\n"


def test_the_shipped_scheme_sets_eight_weeks_and_the_schema_knows_the_key(scheme):
    assert scheme.config.fairness.board_after_weeks_at_limit == 8
    key = json.loads(json_schema())["$defs"]["FairnessTerms"]["properties"]["board_after_weeks_at_limit"]
    assert (key["default"], key["minimum"], key["maximum"]) == (8, 0, 520)


def test_weeks_default_to_eight_when_absent(cfg: Path):
    edit(cfg / "scheme.yaml", LINE, "")
    assert load_scheme(cfg).config.fairness.board_after_weeks_at_limit == 8


@pytest.mark.parametrize("value, message", [
    ("eight", "Input should be a valid integer"),
    ("-1", "Input should be greater than or equal to 0"),
    ("521", "Input should be less than or equal to 520"),
    ("yes", "Input should be a valid integer"),
    ("8.5", "Input should be a valid integer"),
])
def test_bad_weeks_are_refused_with_file_line_and_key(cfg: Path, value, message):
    edit(cfg / "scheme.yaml", LINE, f"  board_after_weeks_at_limit: {value}\n")
    assert problems_of(cfg) == [f"{SCHEME}:45: fairness.board_after_weeks_at_limit: {message}"]
