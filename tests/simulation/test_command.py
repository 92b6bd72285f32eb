"""`reciprocal simulate` as a board runs it: the one model, every policy, medians with ranges."""
from __future__ import annotations

import io
import json
import re

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

import cli.simulate
from reciprocal.simulation.compare import HEADLINE, MEASURES, compare
from reciprocal.simulation_report import render_comparison


@pytest.fixture()
def run():
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("simulate")(cli.simulate.simulate)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["simulate", *args])


@pytest.fixture(scope="module")
def stress(scheme):
    return compare(scheme, "stress", seeds=3, weeks=12)


def test_no_options_prints_every_policy_with_its_median_and_range(run):
    done = run("--seeds", "3", "--weeks", "12")
    assert done.exit_code == 0, done.output
    for _, label in HEADLINE:
        assert label in done.stdout, label
    for column in ("today's practice", "first come, first served", "engine, gives from proposed (the scheme's)",
                   "engine, gives from signed"):
        assert column in done.stdout, column
    assert "seeds 1-3" in done.stdout and "5th to 95th percentile" in done.stdout


def test_json_lists_every_column_measure_and_assumption_with_its_source(run, tmp_path):
    page = tmp_path / "sim.html"
    done = run("--seeds", "2", "--weeks", "8", "--setting", "stress", "--format", "json", "--out", str(page))
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["seeds"] == 2 and data["setting"] == "stress" and data["weeks"] == 8
    assert [c["key"] for c in data["columns"]] == ["today", "fcfs", "engine:proposed", "engine:nomination_confirmed",
                                                     "engine:accepted", "engine:signed"]
    for column in data["figures"].values():
        assert set(column) == {key for key, _ in MEASURES}
        assert len(column["households_moved"]["values"]) == 2
    sources = {a["name"]: a["source"] for a in data["assumptions"]}
    assert sources["approved_share"].startswith("Cambridgeshire") and sources["hold_rate"] == "assumption"
    assert page.exists() and "<svg" in page.read_text()


def test_an_assumption_and_the_volumes_change_from_the_command_line(run):
    done = run("--seeds", "1", "--weeks", "8", "--format", "json", "--assume", "answer_share=0",
               "--assume", "sign_days=5-9", "--offers-per-year", "40", "--policies", "engine",
               "--gives-count-from", "signed")
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    values = {a["name"]: a["value"] for a in data["assumptions"]}
    assert values["answer_share"] == "0" and values["sign_days"] == "5-9"
    assert data["rates"]["offers_per_year"] == 40 and "set on the command line" in data["rates"]["basis"]
    assert list(data["figures"]) == ["engine:signed"]
    assert data["figures"]["engine:signed"]["offered_for_households"]["median"] == 0


@pytest.mark.parametrize("args,named", [
    (["--setting", "lavish"], "--setting"),
    (["--policies", "engine,lottery"], "--policies"),
    (["--gives-count-from", "viewing"], "--gives-count-from"),
    (["--assume", "kindness=1"], "unknown assumption 'kindness'"),
    (["--assume", "hold_rate=often"], "assumption hold_rate"),
    (["--assume", "hold_rate"], "NAME=VALUE"),
    (["--since", "2026-12-01"], "needs --replay"),
    (["--calibration", "--sensitivity"], "choose one"),
    (["--calibration", "--weeks", "8"], "not with --calibration"),
    (["--calibration", "--out", "x.html"], "--out"),
    (["--sensitivity", "--policies", "engine"], "not with --sensitivity"),
    (["--replay", "--setting", "stress"], "not with --replay: the stored year sets them"),
    (["--replay", "--seed", "3"], "--seed"),
    (["--requests-per-year", "inf"], "--requests-per-year"),
    (["--assume", "sign_days=0-3000000"], "assumption sign_days"),
    (["--assume", "offer_response=inf"], "assumption offer_response"),
])
def test_bad_arguments_are_refused_by_name(run, args, named):
    done = run(*args)
    assert done.exit_code == 2 and named in done.output, done.output
    assert "Traceback" not in done.output


def test_the_table_fits_80_columns_and_stays_markdown_when_wide(stress):
    narrow = render_comparison(stress, 80)
    assert all(len(line) <= 80 for line in narrow.splitlines()), narrow
    assert "today: today's practice" in narrow and "* the scheme's own rule 9" in narrow
    wide = render_comparison(stress)
    header = next(line for line in wide.splitlines() if line.startswith("| measure"))
    assert [cell.strip() for cell in header.split("|")[1:4]] == ["measure", "today's practice",
                                                                 "first come, first served"]
    middle = render_comparison(stress, 140)
    assert all(len(line) <= 140 for line in middle.splitlines()), middle
    everything = render_comparison(stress, 80, every=True)
    for _, label in MEASURES:
        assert label.split()[0] in everything


def test_the_calibration_sets_each_seed_year_beside_the_model(run):
    done = run("--calibration", "--seeds", "2", "--format", "json")
    assert done.exit_code == 0, done.output
    checks = {c["label"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["Cambridgeshire: referrals"]["seed_figure"] == 17
    assert checks["Cambridgeshire: moves"]["seed_figure"] == 4
    assert checks["London, a year: moves"]["seed_figure"] == 36.9
    assert all(isinstance(c["inside"], bool) for c in checks.values())
    table = run("--calibration", "--seeds", "2")
    assert table.exit_code == 0
    assert re.search(r"^\| Cambridgeshire: requests circulated +\| +11 \|", table.stdout, re.M), table.stdout


@pytest.mark.parametrize("terminal", [True, False])
def test_a_progress_line_while_seeds_run_only_on_a_terminal(monkeypatch, run, terminal):
    screen = io.StringIO()
    monkeypatch.setattr(cli.simulate, "err", Console(file=screen, force_terminal=terminal, width=160))
    done = run("--seeds", "2", "--weeks", "4", "--policies", "today")
    assert done.exit_code == 0, done.output
    if terminal:
        assert "seed 2 of 2" in screen.getvalue()
    else:
        assert screen.getvalue() == ""


def test_each_policy_is_also_set_against_the_engine_seed_by_seed(stress):
    """Paired differences: the streams are the same, so a policy's figure minus the engine's on
    each seed says more than two overlapping ranges."""
    differences = stress.differences()
    own = stress.own()
    assert own == "engine:proposed" and own not in differences and set(differences) == {
        c.key for c in stress.columns} - {own}
    for key, diff in differences.items():
        mine = [f["households_moved"] for f in stress.per_seed[key]]
        theirs = [f["households_moved"] for f in stress.per_seed[own]]
        assert diff["households_moved"]["values"] == [a - b for a, b in zip(mine, theirs)]
    text = render_comparison(stress, 80)
    assert "Against the engine under the scheme's own rule, seed by seed" in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_the_first_seed_is_said(stress, scheme):
    later = compare(scheme, "default", seeds=2, weeks=4, first_seed=4)
    assert "seeds 4-5" in render_comparison(later, 140) and later.to_json()["first_seed"] == 4
    assert "seeds 1-3" in render_comparison(stress, 140)


def test_the_overlap_note_names_the_column_compared_with(scheme):
    from reciprocal.simulation.compare import columns
    signed_only = compare(scheme, "stress", seeds=3, weeks=12,
                          cols=columns(scheme, ("today", "engine"), ("signed",)))
    text = render_comparison(signed_only, 80)
    assert "the scheme's own rule 9" not in text and "(the scheme's)" not in text
    if "~ its 5-95% range overlaps" in text:
        assert "overlaps that of today's practice" in text


def test_hand_policies_on_a_scheme_with_band_limits_are_refused_before_anything_runs(run, tmp_path, scheme):
    import shutil

    import yaml
    folder = tmp_path / "banded"
    shutil.copytree(scheme.source, folder)
    data = yaml.safe_load((folder / "scheme.yaml").read_text())
    data["fairness"]["band_max_debt"] = 1
    (folder / "scheme.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("simulate")(cli.simulate.simulate)
    runner = CliRunner()
    env = {"RECIPROCAL_CONFIG_DIR": str(folder)}
    done = runner.invoke(app, ["simulate", "--seeds", "1", "--weeks", "2"], env=env)
    assert done.exit_code == 2 and "fairness.band_max_debt" in done.output and "--policies" in done.output
    calibration = runner.invoke(app, ["simulate", "--calibration", "--seeds", "1"], env=env)
    assert calibration.exit_code == 2 and "--calibration" in calibration.output
    engine = runner.invoke(app, ["simulate", "--seeds", "1", "--weeks", "2", "--policies", "engine",
                                 "--gives-count-from", "signed", "--format", "json"], env=env)
    assert engine.exit_code == 0, engine.output


def test_calibration_and_sensitivity_tables_fit_80_columns():
    from reciprocal.simulation.calibration import Check, Sensitivity
    from reciprocal.simulation.ranges import spread
    from reciprocal.simulation_report import render_calibration, render_sensitivity
    checks = [Check("London, a year: moves through a home offered for the household", "stress",
                    "moves_for_households", 26.4, spread([7, 13, 19]))]
    rows = [Sensitivity("household_refusal", "0.15", "", "assumption",
                        {s: {"halved": spread([20, 21, 22]), "doubled": spread([18, 19, 20])}
                         for s in ("default", "stress")})]
    for text in (render_calibration(checks, 80), render_sensitivity({"default": spread([0, 1, 3]),
                                                                       "stress": spread([15, 21, 29])}, rows, 80)):
        assert all(len(line) <= 80 for line in text.splitlines()), text
