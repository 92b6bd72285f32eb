"""The terminal at scale and at 80 columns (issue 12): a round summarises before it lists, lists
stop at --limit (JSON never does), and tables fit the width without cutting an id or a member's
name."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest
from rich.console import Console

from cli import render
from tests.conftest import CONFIG_DIR, DEMO_DATA, copy_database, drop_database
from tests.helpers import reciprocal, reciprocal_many

from reciprocal.config import load_scheme

UNMATCHED = 60


@pytest.fixture(scope="module")
def crowded(tmp_path_factory, db_template):
    """The demo week plus 60 households needing six bedrooms, which no home has: a round whose
    unmatched list is far longer than the default limit."""
    work = tmp_path_factory.mktemp("crowded")
    db = copy_database(db_template, work)
    providers = sorted(load_scheme(CONFIG_DIR).providers)
    extra = work / "requests.csv"
    with (DEMO_DATA / "requests.csv").open() as source, extra.open("w", newline="") as target:
        rows = list(csv.DictReader(source))
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        for k in range(UNMATCHED):
            writer.writerow({**rows[0], "ref": f"RQ-9{k:03d}", "provider": providers[k % len(providers)],
                             "bedrooms_needed": "6", "avoid_areas": "", "preferred_areas": ""})
    for args in (("offer", "import", str(DEMO_DATA / "offers.csv")), ("request", "import", str(extra))):
        assert reciprocal(*args, db=db, cwd=work).returncode == 0
    run = reciprocal("round", "run", "--on", "2026-11-23", "--limit", "5", db=db, cwd=work)
    assert run.returncode == 0, run.stderr
    shown = reciprocal_many([("round", "show", "1", "--format", "json"), ("round", "show", "1", "--all")],
                            db=db, cwd=work)
    yield {"run": run.stdout, "json": json.loads(shown[0].stdout), "all": shown[1].stdout}
    drop_database(db)


def test_a_crowded_round_prints_a_summary_and_a_bounded_list(crowded):
    text = crowded["run"]
    lines = text.splitlines()
    assert len(lines) < 60, text
    assert "Unmatched, by reason: no_compatible_offer " in text
    assert "Unmatched, by member: " in text
    assert "Objectives: all 5 levels proven optimal" in text
    assert sum("RQ-9" in line for line in lines) <= 5
    unmatched = len(crowded["json"]["unmatched"])
    assert f"... and {unmatched - 5} more: --all to list every one, --limit N to list N." in text
    # the summary comes before the lists
    assert text.index("Unmatched, by reason") < text.index("Proposals (")


def test_json_lists_every_unmatched_household_with_its_landlord(crowded):
    unmatched = crowded["json"]["unmatched"]
    refs = {u["request"] for u in unmatched}
    assert {f"RQ-9{k:03d}" for k in range(UNMATCHED)} <= refs
    assert all(u["provider"] for u in unmatched)


def test_all_lists_every_one(crowded):
    assert all(f"RQ-9{k:03d}" in crowded["all"] for k in range(UNMATCHED))
    assert "more: --all" not in crowded["all"]


# -- width, in process ----------------------------------------------------------------------------

@pytest.fixture
def screen(monkeypatch):
    def at(width: int) -> io.StringIO:
        buffer = io.StringIO()
        monkeypatch.setattr(render, "out", Console(file=buffer, width=width, highlight=False,
                                                   soft_wrap=True, color_system=None))
        return buffer
    return at


OFFERS = [["OF-2611-05", "granta_vale_housing", "south_cambridgeshire", 2, "bungalow", True, True,
           "2026-11-23", "age_55_plus", None, "available"],
          ["OF-2611-09", "east_cambridgeshire", "east_cambridgeshire", 2, "maisonette", False, False,
           "2027-02-01", None, "RQ-0101", "withdrawn"]]
OFFER_COLUMNS = ["ref", "provider", "area", "beds", "type", "step free", "wheelchair", "available",
                 "restrictions", "for request", "status"]


@pytest.mark.parametrize("width", [60, 80, 100, 140, 200])
def test_tables_fit_the_width_and_never_cut_a_name(screen, width):
    buffer = screen(width)
    render.table("Offers", OFFER_COLUMNS, OFFERS)
    text = buffer.getvalue()
    assert "…" not in text
    assert all(len(line) <= width for line in text.splitlines()), text
    for value in ("OF-2611-05", "granta_vale_housing", "south_cambridgeshire", "east_cambridgeshire",
                  "2027-02-01", "age_55_plus", "maisonette", "withdrawn"):
        assert value in text, (value, text)


def test_a_narrow_terminal_gets_one_block_per_row(screen):
    buffer = screen(80)
    render.table("Offers", OFFER_COLUMNS, OFFERS)
    lines = buffer.getvalue().splitlines()
    assert lines[1].startswith("ref OF-2611-05 · provider granta_vale_housing")
    assert lines[0] == "Offers"


def test_a_wide_terminal_gets_a_framed_table(screen):
    buffer = screen(200)
    render.table("Offers", OFFER_COLUMNS, OFFERS)
    assert re.search(r"│ OF-2611-05 │ granta_vale_housing +│ south_cambridgeshire +│", buffer.getvalue())


def test_objectives_not_proven_optimal_are_named_plainly(screen):
    buffer = screen(80)
    levels = [{"name": "high_risk_moved", "sense": "max", "value": 3, "bound": 3, "gap": 0.0, "status": "OPTIMAL"},
              {"name": "households_moved", "sense": "max", "value": 5, "bound": 6, "gap": 0.2,
               "status": "FEASIBLE"}]
    render.round_view({"round": 1, "on": "2026-11-23", "proposals": [], "unmatched": [], "objectives": levels,
                       "solve_seconds": 1.0})
    text = " ".join(buffer.getvalue().split())
    assert "Objective 2 (households_moved) NOT proven optimal: FEASIBLE, value 5, proven bound 6" in text
    assert "Objectives, in order" in text  # the table is shown without --bounds
