"""Honest ranges (issue 22 step 3): median with the nearest-rank 5th-95th percentile range over
seeds, and whether two policies' ranges overlap."""
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
