"""What `solve_round` does around the solver, counted rather than timed (issue 24): judging the pairs,
checking the answer and explaining it each do their work once per round, not once per pair or per
proposal, and say the same as the per-pair forms they stand for.

- the rules whose verdict is the offer's area alone are judged per area, never pair by pair, and
  their lookups equal their pair forms;
- the checker names bedroom bands to rule 9 only when the scheme limits bands, counts a net change
  only for an account in breach, and says what fails proposal by proposal, rule by rule;
- the explanations read rule 9's rows over the chosen pairs only, and the objectives' weights from
  their columns, never one call per proposal.
"""
from __future__ import annotations

import dataclasses
import random
from collections import Counter
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings

import matching.check
import matching.objectives
from matching import check
from matching.engine import solve_round
from matching.explain import explain_unmatched
from matching.flow import solve_flow
from matching.instance import MatchingInstance, build_instance
from matching.offer_table import RequestTable, build_offer_table
from matching.pairs import eligible_pairs, exclusion_counts
from matching.rules import PAIR_RULES, MatchContext
from reciprocal.simulation.generator import generate

from tests.conftest import ROUND_DAY
from tests.engine.regional import regional_round
from tests.rules.test_masks import near_twin_round_st
from tests.strategies import scheme_variant_st

AREA_RULES = ("safety_buffer", "perpetrator_safety", "reach")


def _counting(fn, calls: Counter, name: str):
    def counted(*args, **kwargs):
        calls[name] += 1
        return fn(*args, **kwargs)
    return counted


def _with_band_limit(scheme, limit: int):
    fairness = scheme.config.fairness.model_copy(update={"band_max_debt": limit})
    return dataclasses.replace(scheme, config=scheme.config.model_copy(update={"fairness": fairness}))


# -- judging the pairs ---------------------------------------------------------------------------

def _regional_with_counted_masks():
    """The regional round's context, requests and offers (by ref), offer table, and the pair rules
    with each mask counting its calls in `calls`."""
    instance = generate("regional", 1)
    requests = sorted(instance.requests, key=lambda r: r.ref)
    offers = sorted(instance.offers, key=lambda o: o.ref)
    table = build_offer_table(instance.scheme, instance.on, offers)
    calls: Counter = Counter()
    rules = [dataclasses.replace(rule, mask=_counting(rule.mask, calls, rule.name)) for rule in PAIR_RULES]
    return MatchContext(instance.scheme, instance.on), requests, offers, table, rules, calls


def test_area_rules_are_judged_per_area_not_pair_by_pair():
    """On the regional round (reach, safety buffers and perpetrators all present), the masks of the
    rules whose verdict is the offer's area are never called while the pairs are judged, and the
    pairs are exactly those every rule's mask passes."""
    ctx, requests, offers, table, rules, calls = _regional_with_counted_masks()
    reqs = RequestTable(requests, table)
    pair_request, pair_offer = eligible_pairs(ctx, reqs, table, rules)
    assert all(calls[name] == 0 for name in AREA_RULES), calls
    assert calls["size"] > 0
    # The same pairs as every mask over the whole table at once.
    r, o = np.arange(len(requests))[:, None], np.arange(len(offers))[None, :]
    ok = np.ones((len(requests), len(offers)), dtype=bool)
    for rule in PAIR_RULES:
        m = rule.mask(ctx, reqs, r, table, o)
        if m is not None:
            ok &= m
    expected_r, expected_o = np.nonzero(ok)
    np.testing.assert_array_equal(pair_request, expected_r)
    np.testing.assert_array_equal(pair_offer, expected_o)


def test_exclusions_by_area_rules_are_counted_per_area():
    """Households with no compatible home: each area rule's exclusions are counted from its lookup
    area by area (its mask never called), the same counts as its pair form gives."""
    ctx, requests, offers, table, rules, calls = _regional_with_counted_masks()
    which = list(range(0, len(requests), 50))
    counts = exclusion_counts(ctx, RequestTable(requests, table), table, which, rules)
    assert all(calls[name] == 0 for name in AREA_RULES), calls
    for i in which:
        for rule in PAIR_RULES:
            expected = sum(not rule.check(ctx, requests[i], o) for o in offers)
            assert counts[i].get(rule.name, 0) == expected, (i, rule.name)
    assert any(counts[i].get("reach") for i in which) and any(counts[i].get("safety_buffer") for i in which)


def test_buffer_lookups_make_one_row_per_area_not_per_union():
    """The safety buffer's and reach's masks read lookups in which each area's row is made once,
    however many distinct unions of areas the households give, and agree with the pair forms."""
    instance = generate("regional", 1)
    ctx = MatchContext(instance.scheme, instance.on)
    offers = sorted(instance.offers, key=lambda o: o.ref)
    table = build_offer_table(instance.scheme, instance.on, offers)
    reqs = RequestTable(instance.requests, table)
    rules = [rule for rule in PAIR_RULES if rule.name in ("safety_buffer", "reach")]
    r, o = np.arange(len(instance.requests))[:, None], np.arange(len(offers))[None, :]
    calls: Counter = Counter()
    with mock.patch.object(type(table), "area_mask", _counting(type(table).area_mask, calls, "rows")):
        masks = {rule.name: rule.mask(ctx, reqs, r, table, o) for rule in rules}
    n_areas = len(instance.scheme.config.areas)
    unions = {tuple(sorted(q.avoid_areas)) for q in instance.requests} | \
        {tuple(sorted(q.preferred_areas)) for q in instance.requests}
    assert calls["rows"] <= 2 * n_areas < len(unions)
    for rule in rules:
        for i, q in enumerate(instance.requests[::25]):
            expected = [rule.check(ctx, q, f) for f in offers]
            assert masks[rule.name][i * 25].tolist() == expected, rule.name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scheme=scheme_variant_st(), round_=near_twin_round_st())
def test_every_area_lookup_equals_its_pair_form(scheme, round_):
    """The contract that lets `eligible_pairs` judge an area rule per area: its lookup's verdict
    is its pair form's, on every pair (near-twin households, homes in unknown areas)."""
    requests, offers, declined = round_
    ctx = MatchContext(scheme, ROUND_DAY, declined)
    table = build_offer_table(scheme, ROUND_DAY, offers)
    reqs = RequestTable(requests, table)
    area_rules = [rule for rule in PAIR_RULES if rule.by_area is not None]
    assert sorted(rule.name for rule in area_rules) == sorted(AREA_RULES)
    for rule in area_rules:
        lookup = rule.by_area(ctx, reqs)
        for i, q in enumerate(requests):
            for j, f in enumerate(offers):
                verdict = True if lookup is None else bool(lookup[1][lookup[0][i], table.area[j]])
                assert verdict == rule.check(ctx, q, f), (rule.name, q, f)


# -- the checker ---------------------------------------------------------------------------------

def _round_answer(seed: int = 1):
    instance, inst, objectives = regional_round(seed)
    chosen = solve_flow(inst, objectives).chosen
    return instance, inst, [(inst.requests[i].ref, inst.offers[j].ref) for i, j in chosen]


def test_the_checker_names_bands_to_rule_9_only_when_the_scheme_limits_them():
    instance, inst, pairs = _round_answer()
    seen = []

    def recording(start, made, *args):
        made = list(made)
        seen.append({band for _, _, band in made})
        return original(start, made, *args)

    original = matching.check.limit_breaches
    with mock.patch.object(matching.check, "limit_breaches", recording):
        check.violations(inst.ctx, instance.requests, instance.offers, instance.balances, pairs)
        banded = MatchContext(_with_band_limit(instance.scheme, 2), instance.on)
        check.violations(banded, instance.requests, instance.offers, instance.balances, pairs)
    assert seen[0] == {None}
    assert None not in seen[1] and len(seen[1]) > 1


def test_the_checker_counts_a_net_change_only_for_an_account_in_breach():
    instance, inst, pairs = _round_answer()
    calls: Counter = Counter()
    counted = _counting(matching.check.ledger_effect, calls, "ledger_effect")
    with mock.patch.object(matching.check, "ledger_effect", counted):
        assert check.violations(inst.ctx, instance.requests, instance.offers, instance.balances, pairs) == []
        assert calls["ledger_effect"] == 0
        # Every member one home from its limit: the round's answer now breaks rule 9, said with
        # each account's net change.
        tight = {p: -inst.scheme.max_debt(p) + 1 for p in inst.scheme.providers}
        broken = check.violations(inst.ctx, instance.requests, instance.offers, tight, pairs)
    assert calls["ledger_effect"] == 1
    assert broken and all(b.startswith("fairness_debt_limit: ") and "net change " in b for b in broken)


def test_the_checker_says_what_fails_proposal_by_proposal_rule_by_rule():
    """A wrong answer (random pairs, repeats, refs not in the pot): the same list as judging each
    proposal by each rule in turn."""
    instance, inst, pairs = _round_answer()
    rng = random.Random(5)
    wrong = [(rng.choice(instance.requests).ref, rng.choice(instance.offers).ref) for _ in range(400)]
    wrong += pairs[:20] + [("RQ-NOPE", pairs[0][1]), (pairs[1][0], "OF-NOPE")] + pairs[:3]
    rng.shuffle(wrong)
    req = {r.ref: r for r in instance.requests}
    off = {o.ref: o for o in instance.offers}
    expected = []
    for r, o in wrong:
        if r not in req or o not in off:
            expected.append(f"one_proposal_each: {r} -> {o} is not an open request and offer")
            continue
        expected += [f"{rule.name}: {r} -> {o}" for rule in PAIR_RULES if not rule.check(inst.ctx, req[r], off[o])]
    found = check.violations(inst.ctx, instance.requests, instance.offers, instance.balances, wrong)
    assert found[:len(expected)] == expected
    assert len(expected) > 400  # most random pairs break several rules
    assert any(f.startswith("one_proposal_each: request ") for f in found[len(expected):])


# -- the explanations ----------------------------------------------------------------------------

def test_unmatched_reasons_read_rule_9_rows_over_the_chosen_pairs_only():
    instance, inst, objectives = regional_round()
    chosen = solve_flow(inst, objectives).chosen
    sizes = []
    original = MatchingInstance.debt_limits

    def recording(self, pairs=None):
        limits = original(self, pairs) if pairs is not None else original(self)
        sizes.append(self.n_pairs if pairs is None else len(pairs[0]))
        return limits

    with mock.patch.object(MatchingInstance, "debt_limits", recording):
        reasons = explain_unmatched(inst, chosen)
    assert sizes and max(sizes) == len(chosen) < inst.n_pairs
    assert Counter(r["reason_code"] for r in reasons.values())["provider_at_debt_limit"] > 0


def test_debt_limit_rows_over_given_pairs_index_those_pairs():
    _, inst, objectives = regional_round()
    chosen = solve_flow(inst, objectives).chosen
    rows = np.array([i for i, _ in chosen]), np.array([j for _, j in chosen])
    placed_by = [inst.requests[i].provider for i, _ in chosen]
    given_by = [inst.offers[j].provider for _, j in chosen]
    for limit in inst.debt_limits(rows):
        p = limit.account.provider
        assert sorted(limit.placed.tolist()) == [k for k, q in enumerate(placed_by) if q == p]
        assert sorted(limit.given.tolist()) == [k for k, q in enumerate(given_by) if q == p]


def test_proposals_are_explained_without_a_weight_call_per_proposal():
    """The objectives' contributions come from their columns (`Objective.weights_at`), equal to
    `pair_weight` pair by pair."""
    instance = generate("regional", 2)
    calls: Counter = Counter()
    patches = [mock.patch.object(cls, "pair_weight", _counting(cls.pair_weight, calls, cls.__name__))
               for cls in (matching.objectives.HighRiskMoved, matching.objectives.HouseholdsMoved,
                           matching.objectives.LongestWaiting, matching.objectives.PreferenceFit)]
    for p in patches:
        p.start()
    try:
        result = solve_round(instance.scheme, instance.on, instance.requests, instance.offers, instance.balances)
    finally:
        for p in patches:
            p.stop()
    assert result.proposals and sum(calls.values()) == 0, calls
    inst = build_instance(MatchContext(instance.scheme, instance.on), instance.requests, instance.offers,
                          instance.balances)
    index_r = {r.ref: i for i, r in enumerate(inst.requests)}
    index_o = {o.ref: j for j, o in enumerate(inst.offers)}
    for proposal in result.proposals[::7]:
        i, j = index_r[proposal["request"]], index_o[proposal["offer"]]
        assert proposal["objective_contributions"] == {
            obj.name: obj.pair_weight(inst, i, j)
            for obj in matching.objectives.objectives_for(instance.scheme.config.matching.objectives) if obj.linear}


def test_a_linear_objectives_value_is_read_from_its_columns():
    _, inst, objectives = regional_round()
    chosen = solve_flow(inst, objectives).chosen
    calls: Counter = Counter()
    linear = [obj for obj in objectives if obj.linear]
    expected = {obj.name: sum(obj.pair_weight(inst, i, j) for i, j in chosen) for obj in linear}
    patches = [mock.patch.object(type(obj), "pair_weight", _counting(type(obj).pair_weight, calls, obj.name))
               for obj in linear]
    for p in patches:
        p.start()
    try:
        values = {obj.name: obj.value(inst, chosen) for obj in linear}
        empty = {obj.name: obj.value(inst, []) for obj in linear}
    finally:
        for p in patches:
            p.stop()
    assert sum(calls.values()) == 0, calls
    assert values == expected and all(type(v) is int for v in values.values())
    assert set(empty.values()) == {0}


def test_a_home_offered_for_its_household_is_found_among_the_pairs_by_bisection():
    """`choose_pins` finds each pinned pair's index by bisection in the sorted pairs: no pass over
    all of them per home (counted as element comparisons of the pairs' request column)."""
    from matching.pinning import _pair_index

    _, inst, _ = regional_round()
    compared = Counter()

    class Counted(np.ndarray):
        def __eq__(self, other):
            compared["elements"] += self.size
            return np.asarray(self) == other

    rng = np.random.default_rng(3)
    sample = rng.choice(inst.n_pairs, 200, replace=False)
    pairs = inst.pairs
    inst.pair_request = inst.pair_request.view(Counted)
    for k in sample.tolist():
        assert _pair_index(inst, *pairs[k]) == k
    assert compared["elements"] < inst.n_pairs
    eligible = set(pairs)
    absent = next((i, j) for i in range(len(inst.requests)) for j in range(len(inst.offers)) if (i, j) not in eligible)
    assert _pair_index(inst, *absent) is None
