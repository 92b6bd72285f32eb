"""Honest ranges (issue 22 step 3): median with the nearest-rank 5th-95th percentile range over
seeds, and whether two policies' ranges overlap."""
import pytest

from reciprocal.simulation.ranges import overlap, percentile, spread


def test_percentiles_are_nearest_rank_seed_values():
    twenty = list(range(1, 21))  # 1..20, given out of order below
    assert percentile(twenty[::-1], 5) == 1 and percentile(twenty, 95) == 19
    fifty = list(range(1, 51))
    assert percentile(fifty, 5) == 3 and percentile(fifty, 95) == 48
    assert percentile([7], 5) == percentile([7], 95) == 7
    assert percentile([1, 2, 3, 4], 50) == 2


def test_spread_is_the_median_and_5_to_95_range_leaving_out_seeds_without_a_value():
    values = [10, None] + list(range(1, 10)) + [100] * 9 + [None]  # 19 known values
    s = spread(values)
    assert (s["median"], s["p5"], s["p95"], s["min"], s["max"]) == (10, 1, 100, 1, 100)
    assert s["values"] == values
    outlier = spread(list(range(1, 50)) + [1000])  # one wild seed of fifty moves neither end
    assert (outlier["median"], outlier["p5"], outlier["p95"], outlier["max"]) == (25.5, 3, 48, 1000)
    assert spread([None, None])["median"] is None and spread([None])["p95"] is None


def test_ranges_overlap_when_neither_lies_wholly_above_the_other():
    low, high = spread(list(range(1, 21))), spread(list(range(30, 50)))
    assert not overlap(low, high) and not overlap(high, low)
    touching = spread(list(range(19, 39)))  # its 5th percentile is low's 95th
    assert overlap(low, touching) and overlap(touching, low)
    inside = spread([5, 6, 7])
    assert overlap(low, inside) and overlap(inside, low)
    assert not overlap(low, spread([None]))


def _gives(values_by_choice: dict[str, list]) -> dict:
    from reciprocal.simulation.gives import COMPARED
    return {"scheme": "s", "setting": "stress", "seeds": 20, "weeks": 8, "requests_arrived": spread([40] * 20),
            "choices": {c: {key: spread(vals if key == "households_moved" else [0] * 20) for key in COMPARED}
                        for c, vals in values_by_choice.items()}}


def test_the_gives_table_shows_the_5_to_95_range_and_marks_overlap_with_the_column_to_its_left():
    from reciprocal.simulation_report import render_gives
    wild = list(range(1, 20)) + [1000]  # one wild seed: beyond the 95th percentile of 20
    apart = list(range(100, 120))
    near = list(range(110, 130))
    text = render_gives(_gives({"proposed": wild, "nomination_confirmed": apart, "accepted": near,
                                "signed": near}))
    row = next(line for line in text.splitlines() if line.startswith("| households moved"))
    assert row == ("| households moved (signed) | 10.5 (1 to 19) | 109.5 (100 to 118) |"
                   " 119.5 (110 to 128) ~ | 119.5 (110 to 128) |")
    assert "1000" not in text and "median over seeds (5th to 95th percentile)" in text
    assert "~ its 5-95% range overlaps the column to its left" in text
    assert "| member-weeks past a limit | 0 | 0 | 0 | 0 |" in text  # the same figure is not marked
    clear = render_gives(_gives({"proposed": wild, "nomination_confirmed": apart}))
    assert "~" not in clear


def test_the_circulation_table_shows_medians_and_marks_overlapping_columns(scheme):
    from reciprocal.simulation.circulating import compare_circulation
    from reciprocal.simulation_report import render_circulation
    data = compare_circulation(scheme, "default", seeds=3, weeks=8)
    moves = {mode: [s[mode]["moves"] for s in data["per_seed"]] for mode in ("pot", "circulation")}
    assert data["ranges"]["pot"]["moves"]["values"] == moves["pot"]  # JSON keeps every seed's value
    data["ranges"]["pot"]["offers"] = spread([1, 2, 3])
    data["ranges"]["circulation"]["offers"] = spread([3, 4, 5])
    data["ranges"]["pot"]["moves"] = spread([1, 1, 1])
    data["ranges"]["circulation"]["moves"] = spread([7, 8, 9])
    text = render_circulation(data)
    assert "| homes offered | 2 (1 to 3) | 4 (3 to 5) ~ |" in text
    assert "| households moved | 1 | 8 (7 to 9) |" in text
    assert "~ the two columns' 5-95% ranges overlap" in text and "median over 3 seeds" in text


@pytest.mark.parametrize("terminal", [True, False])
def test_a_progress_line_counts_the_seeds_only_on_a_terminal(monkeypatch, terminal):
    import io

    import typer
    from rich.console import Console
    from typer.testing import CliRunner

    import cli.simulate
    screen = io.StringIO()
    monkeypatch.setattr(cli.simulate, "err", Console(file=screen, force_terminal=terminal, width=160))
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("simulate")(cli.simulate.simulate)
    done = CliRunner().invoke(app, ["simulate", "--stages", "--compare-gives", "--seeds", "2", "--weeks", "4",
                                    "--setting", "stress"])
    assert done.exit_code == 0, done.output
    if terminal:
        assert "seed 2 of 2" in screen.getvalue() and "1/2" in screen.getvalue()
    else:
        assert screen.getvalue() == ""
