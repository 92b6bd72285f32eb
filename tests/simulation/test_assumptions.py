"""Every assumption the simulated process makes, stated with its source
(`reciprocal.simulation.assumptions`), changed from the command line with an error that names it,
varied for the sensitivity table; and the calibration against the seed years and the sensitivity
table itself (`reciprocal.simulation.calibration`), on few seeds: their shape and the seed
figures, not whether the model lies inside the ranges (docs/simulation.md reports that)."""
from __future__ import annotations

import dataclasses

import pytest

from reciprocal.simulation.assumptions import ASSUMED, SENSITIVE, Assumptions
from reciprocal.simulation.calibration import Check, calibrate, sensitivity

RANGE_KEYS = {"median", "p5", "p95", "min", "max", "values"}


def test_described_lists_every_assumption_with_its_value_meaning_and_source():
    described = Assumptions().described()
    assert [d["name"] for d in described] == [f.name for f in dataclasses.fields(Assumptions)] == list(SENSITIVE)
    assert all(d["meaning"] and d["source"] and d["value"] for d in described)
    by_name = {d["name"]: d for d in described}
    assert "Cambridgeshire" in by_name["approved_share"]["source"]  # a seed figure, said so
    assert by_name["approved_share"]["value"] == f"{11 / 17:g}"
    assert by_name["hold_length"]["value"] == "2-6" and by_name["hold_length"]["source"] == ASSUMED
    assert by_name["review_weeks"]["value"] == "4"


def test_with_changes_reads_each_kind_of_value():
    changed = Assumptions().with_changes({"hold_rate": "0.5", "review_weeks": "6", "view_days": "3-9",
                                          "tenancy_days": "4", "offer_response": "1.5"})
    assert (changed.hold_rate, changed.review_weeks, changed.view_days, changed.tenancy_days,
            changed.offer_response) == (0.5, 6, (3, 9), (4, 4), 1.5)
    assert Assumptions().with_changes({}) == Assumptions()
    assert Assumptions().hold_rate == 0.01  # the defaults are untouched


@pytest.mark.parametrize("name, text", [
    ("hold_rate", "lots"), ("hold_rate", "1.5"), ("hold_rate", "-0.1"), ("review_weeks", "2.5"),
    ("review_weeks", "-1"), ("view_days", "9-3"), ("view_days", "a-b"), ("view_days", "-2"),
])
def test_a_bad_value_names_the_assumption_the_value_and_what_it_is_now(name, text):
    now = {d["name"]: d["value"] for d in Assumptions().described()}[name]
    with pytest.raises(ValueError) as error:
        Assumptions().with_changes({name: text})
    assert str(error.value) == f"assumption {name}: '{text}' is not a valid value (now {now})"


def test_an_unknown_assumption_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown assumption 'hold_rat' \(known: approved_share, .*hold_rate"):
        Assumptions().with_changes({"hold_rat": "0.5"})


def test_varied_halves_and_doubles_within_bounds():
    base = Assumptions()
    assert base.varied("hold_rate", 2).hold_rate == 0.02 and base.varied("hold_rate", 0.5).hold_rate == 0.005
    assert base.varied("answer_share", 2).answer_share == 1.0  # a share stays a share
    assert base.varied("answer_response", 8).answer_response == 2.0  # a response is not a share
    assert base.varied("review_weeks", 0.5).review_weeks == 2 and base.varied("review_weeks", 2).review_weeks == 8
    assert base.varied("review_weeks", 0.01).review_weeks == 1  # whole weeks, at least one
    assert base.varied("view_days", 2).view_days == (4, 22) and base.varied("view_days", 0.5).view_days == (1, 6)
    for name in SENSITIVE:  # every assumption can be varied both ways into a valid value
        for factor in (0.5, 2.0):
            varied = base.varied(name, factor)
            text = {d["name"]: d["value"] for d in varied.described()}[name]
            again = getattr(base.with_changes({name: text}), name)  # shown to 6 figures
            assert again == pytest.approx(getattr(varied, name), rel=1e-5), (name, factor)
    assert base == Assumptions()


@pytest.fixture(scope="module")
def checks(scheme) -> list[Check]:
    return calibrate(scheme, seeds=2)


def test_calibration_sets_each_seed_figure_beside_the_models_range(checks):
    figures = {(c.setting, c.measure): c.seed_figure for c in checks}
    assert figures == {("default", "referrals"): 17, ("default", "circulated"): 11,
                       ("default", "homes_offered"): 4, ("default", "households_moved"): 4,
                       ("stress", "circulated"): round(1401 / 7.5, 1),
                       ("stress", "households_moved"): round(277 / 7.5, 1),
                       ("stress", "moves_for_households"): round(198 / 7.5, 1)}
    for c in checks:
        assert set(c.model) == RANGE_KEYS and len(c.model["values"]) == 2
        assert c.model["p5"] <= c.model["median"] <= c.model["p95"]
        assert c.inside == (c.model["p5"] <= c.seed_figure <= c.model["p95"])
        assert c.label.startswith("Cambridgeshire" if c.setting == "default" else "London")


def test_calibration_runs_todays_practice_on_each_seed_volume(scheme, checks):
    from reciprocal.simulation.compare import Column, compare
    today = [Column("today", "today", scheme.gives_count_from, "today's practice")]
    for setting in ("default", "stress"):
        per_seed = compare(scheme, setting, 2, 52, today).per_seed["today"]
        for c in checks:
            if c.setting == setting:
                assert c.model["values"] == [f[c.measure] for f in per_seed], c.label


def test_sensitivity_reports_moves_with_each_assumption_halved_and_doubled(scheme):
    said = []
    base, rows = sensitivity(scheme, seeds=1, names=("hold_rate", "review_weeks"), progress=said.append)
    assert set(base) == {"default", "stress"} and all(set(base[s]) == RANGE_KEYS for s in base)
    assert [r.name for r in rows] == ["hold_rate", "review_weeks"]
    hold = rows[0]
    assert (hold.value, hold.source) == ("0.01", ASSUMED) and hold.meaning
    assert set(hold.moves) == {"default", "stress"}
    assert all(set(hold.moves[s]) == {"halved", "doubled"} for s in hold.moves)
    assert all(len(hold.moves[s][how]["values"]) == 1 for s in hold.moves for how in ("halved", "doubled"))
    assert any("hold_rate doubled, stress" in line for line in said)
