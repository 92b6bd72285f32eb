"""Honest ranges (issue 22): median with the nearest-rank 5th-95th percentile range over seeds,
whether two policies' ranges overlap, and the comparison that reports every column over seeds on
the same streams (`reciprocal.simulation.compare`)."""
import math

from hypothesis import given
from hypothesis import strategies as st

from reciprocal.domain import GIVES_COUNT_FROM
from reciprocal.simulation import process
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.simulation.compare import MEASURES, columns, compare, setting_stream
from reciprocal.simulation.ranges import overlap, percentile, spread
from reciprocal.simulation.stages import counting_gives_from


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


@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=60), st.integers(1, 100))
def test_a_percentile_is_the_seed_value_at_its_nearest_rank(values, p):
    value = percentile(values, p)
    assert value in values
    rank = max(1, math.ceil(p / 100 * len(values)))
    assert sum(v < value for v in values) < rank <= sum(v <= value for v in values)


@given(st.lists(st.one_of(st.none(), st.integers(0, 500)), min_size=1, max_size=60))
def test_a_spread_orders_its_figures_and_keeps_every_seed(values):
    s = spread(values)
    assert s["values"] == values
    if all(v is None for v in values):
        assert s["median"] is None and not overlap(s, s)
    else:
        assert s["min"] <= s["p5"] <= s["median"] <= s["p95"] <= s["max"] and overlap(s, s)


@given(st.lists(st.integers(0, 50), min_size=1, max_size=30), st.lists(st.integers(0, 50), min_size=1, max_size=30))
def test_overlap_is_symmetric_and_means_no_range_lies_wholly_above_the_other(a, b):
    sa, sb = spread(a), spread(b)
    assert overlap(sa, sb) == overlap(sb, sa) == (not (sa["p5"] > sb["p95"] or sb["p5"] > sa["p95"]))


def test_the_columns_are_each_hand_policy_and_the_engine_under_every_debt_rule(scheme):
    cols = columns(scheme)
    assert [c.key for c in cols] == ["today", "fcfs"] + [f"engine:{g}" for g in GIVES_COUNT_FROM]
    assert [c.gives_count_from for c in cols[:2]] == [scheme.gives_count_from] * 2
    assert [c.label.endswith("(the scheme's)") for c in cols[2:]] == [g == scheme.gives_count_from
                                                                       for g in GIVES_COUNT_FROM]
    waiting = columns(scheme, policies=("engine_wait",), gives=("signed",))
    assert [(c.key, c.policy, c.gives_count_from) for c in waiting] == [("engine_wait:signed", "engine_wait", "signed")]


def test_the_comparison_reports_every_seeds_run_of_every_column(scheme):
    said = []
    data = compare(scheme, "stress", seeds=2, weeks=8, progress=said.append)
    assert (data.setting, data.seeds, data.weeks, data.scheme) == ("stress", 2, 8, scheme.id)
    assert len(said) == 2 * len(data.columns) and said[-1].startswith("seed 2 of 2, ")
    for c in data.columns:  # each seed's figures are that stream's single run of the column
        for seed in (1, 2):
            run_scheme, _, stream = setting_stream(scheme, "stress", 8, seed, Assumptions())
            done = process.run(counting_gives_from(run_scheme, c.gives_count_from), stream, c.policy)
            assert data.per_seed[c.key][seed - 1] == done.figures(), (c.key, seed)
        assert data.first_runs[c.key].figures() == data.per_seed[c.key][0]
    spreads = data.spreads()
    assert set(spreads) == {c.key for c in data.columns}
    assert all(set(spreads[c]) == {key for key, _ in MEASURES} for c in spreads)
    assert spreads["today"]["households_moved"]["values"] == [f["households_moved"] for f in data.per_seed["today"]]
    json = data.to_json()
    assert json["figures"] == spreads and [a["name"] for a in json["assumptions"]][0] == "approved_share"
