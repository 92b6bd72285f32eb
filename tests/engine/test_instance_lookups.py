"""`MatchingInstance`'s lookups over the pairs, held to plain restatements: `chosen_mask` (looked up
in the sorted pairs) on the regional round and the rule 9 rows of `debt_limits` (grouped by a radix
sort of the members' codes) on the national one."""
from __future__ import annotations

import numpy as np

from matching.instance import build_instance
from matching.rules import MatchContext
from reciprocal.simulation.generator import generate

from tests.engine.regional import regional_round


def test_chosen_mask_marks_exactly_the_chosen_eligible_pairs():
    _, inst, _ = regional_round()
    rng = np.random.default_rng(7)
    picked = rng.choice(inst.n_pairs, 500, replace=False)
    chosen = [inst.pairs[k] for k in picked] + [(0, len(inst.offers) - 1), (1, 0)]
    eligible = set(inst.pairs)
    expected = np.array([pair in set(chosen) for pair in inst.pairs])
    np.testing.assert_array_equal(inst.chosen_mask(chosen), expected)
    assert inst.chosen_mask([]).sum() == 0
    assert sum((i, j) in eligible for i, j in chosen) == int(inst.chosen_mask(chosen).sum())


def test_debt_limit_rows_list_each_members_placements_and_gives():
    """On the national round (1,501 members: codes past 8 bits), for a sample of members."""
    instance = generate("national", 1)
    inst = build_instance(MatchContext(instance.scheme, instance.on), instance.requests,
                          instance.offers, instance.balances)
    placed_by = np.array([r.provider for r in inst.requests])[inst.pair_request]
    given_by = np.array([o.provider for o in inst.offers])[inst.pair_offer]
    limits = inst.debt_limits()
    assert len(limits) == len(inst.scheme.providers)
    for limit in limits[::60] + limits[-3:]:
        provider = limit.account.provider
        np.testing.assert_array_equal(np.sort(limit.placed), np.flatnonzero(placed_by == provider))
        expected = np.flatnonzero(given_by == provider) if inst.gives_fund else []
        np.testing.assert_array_equal(np.sort(limit.given), expected)
