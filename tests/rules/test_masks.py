"""The rules' mask forms, and the round's pairs built with them, against the pair forms.

`matching.pairs` judges a block of requests by a block of offers at once and computes what a mask
needs from a request once per table, sharing it between requests that give the same value
(`RequestTable.column`, `RequestTable.by_area`). A mistake there would merge requests that differ
in a way some rule cares about: a safety buffer or a perpetrator's survivor area read from another
household. So the rounds here are made of near-twins: a few households, each copied with ONE field
changed (landlord, kind, tenancy, needs, avoided or preferred areas, risk, age, survivor details),
judged under random scheme terms with past declines, and homes in areas the scheme does not know.

- every rule's mask equals its pair form on every pair, over a block and pair by pair;
- `build_instance` keeps exactly the pairs `is_eligible` passes, grouped by request (sorted by
  ref) in increasing offer index (sorted by ref), and for each request with none, how many offers
  each rule excludes, counted with the pair forms.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import fields, replace
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching.pairs
from matching.instance import build_instance
from matching.offer_table import RequestTable, build_offer_table
from matching.pairs import BLOCK_PAIRS
from matching.rules import PAIR_RULES, MatchContext, is_eligible
from reciprocal.domain import Request

from tests.conftest import ROUND_DAY
from tests.strategies import offer_st, request_st, scheme_variant_st

# Every field of a request a rule could read: a near-twin differs from its original in one.
TWIN_FIELDS = [f.name for f in fields(Request) if f.name not in ("ref", "status")]


@st.composite
def near_twin_round_st(draw, max_originals: int = 4, max_twins: int = 10, max_offers: int = 12):
    originals = [draw(request_st(f"RQ-{k}")) for k in range(draw(st.integers(1, max_originals)))]
    requests = list(originals)
    for k in range(draw(st.integers(0, max_twins))):
        original = draw(st.sampled_from(originals))
        name = draw(st.sampled_from(TWIN_FIELDS))
        donor = draw(request_st("RQ-DONOR"))
        requests.append(replace(original, ref=f"RQ-T{k}", **{name: getattr(donor, name)}))
    offers = [draw(offer_st(f"OF-{k}")) for k in range(draw(st.integers(0, max_offers)))]
    # Now and then a home in an area the scheme does not know (it can never be shown safe).
    offers = [replace(o, area="atlantis") if draw(st.integers(0, 9)) == 0 else o for o in offers]
    requests = draw(st.permutations(requests))
    declined = frozenset(draw(st.lists(st.tuples(st.sampled_from([r.ref for r in requests]),
                                                 st.sampled_from([o.ref for o in offers] or ["OF-X"])),
                                       max_size=4)))
    return requests, offers, declined


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(scheme=scheme_variant_st(), round_=near_twin_round_st())
def test_every_mask_equals_its_pair_form_on_every_pair(scheme, round_):
    requests, offers, declined = round_
    ctx = MatchContext(scheme, ROUND_DAY, declined)
    table = build_offer_table(scheme, ROUND_DAY, offers)
    reqs = RequestTable(requests, table)
    shape = (len(requests), len(offers))
    r_block = np.arange(len(requests))[:, None]
    o_block = np.arange(len(offers))[None, :]
    r_pairs, o_pairs = (a.ravel() for a in np.broadcast_arrays(r_block, o_block))
    for rule in PAIR_RULES:
        expected = np.array([[rule.check(ctx, q, o) for o in offers] for q in requests],
                            dtype=bool).reshape(shape)
        block = rule.mask(ctx, reqs, r_block, table, o_block)
        block = np.ones(shape, bool) if block is None else np.broadcast_to(block, shape)
        assert (block == expected).all(), (rule.name, block, expected)
        pairs = rule.mask(ctx, reqs, r_pairs, table, o_pairs)
        pairs = np.ones(r_pairs.shape, bool) if pairs is None else np.broadcast_to(pairs, r_pairs.shape)
        assert (pairs == expected.ravel()).all(), rule.name


@SETTINGS
@given(scheme=scheme_variant_st(), round_=near_twin_round_st(), block=st.sampled_from([1, 7, BLOCK_PAIRS]))
def test_build_instance_keeps_exactly_the_eligible_pairs_in_order(scheme, round_, block):
    """Also with areas judged a few requests at a time (`BLOCK_PAIRS`), as a crowded area is."""
    requests, offers, declined = round_
    ctx = MatchContext(scheme, ROUND_DAY, declined)
    with mock.patch.object(matching.pairs, "BLOCK_PAIRS", block):
        inst = build_instance(ctx, requests, offers, {})
    by_ref_r = sorted(requests, key=lambda r: r.ref)
    by_ref_o = sorted(offers, key=lambda o: o.ref)
    assert [r.ref for r in inst.requests] == [r.ref for r in by_ref_r]
    assert [o.ref for o in inst.offers] == [o.ref for o in by_ref_o]
    expected = [(i, j) for i, q in enumerate(by_ref_r) for j, o in enumerate(by_ref_o)
                if is_eligible(ctx, q, o)]
    assert inst.pairs == expected
    assert inst.pair_request.dtype == np.int32 and inst.pair_offer.dtype == np.int32
    matched = {i for i, _ in expected}
    excluded = {i: Counter({rule.name: n for rule in PAIR_RULES
                            if (n := sum(not rule.check(ctx, q, o) for o in by_ref_o))})
                for i, q in enumerate(by_ref_r) if i not in matched}
    assert inst.excluded == excluded
