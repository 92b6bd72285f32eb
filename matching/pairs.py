"""Judging many (request, offer) pairs by every pair rule at once, with the rules' mask forms.

One code path for the round (`matching.instance.build_instance`) and for circulation
(`matching.circulation`). The offers are judged area by area: every offer of one area against
every request that could take a home there (the rules whose verdict is the offer's area alone,
such as `reach` and `safety_buffer`, say so with a per-area lookup, `Rule.by_area`, applied to whole
areas), one block of requests by offers per area, each other rule's mask computed over the whole
block. At national scale that is some 300 blocks instead of one mask call per rule and per
request: the per-request loop spent most of its 3.5 s in NumPy call overhead on small arrays.

Rule logic lives in `matching.rules` only; nothing here knows what a rule asks.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from matching.offer_table import OfferTable, RequestTable
from matching.rules import PAIR_RULES, MatchContext, Rule

# The most pairs judged at once (a block's masks are this many bools each): an area with many
# offers and many requests within reach is judged a slice of its requests at a time.
BLOCK_PAIRS = 1 << 22


def eligible_pairs(ctx: MatchContext, reqs: RequestTable, table: OfferTable,
                   rules: Sequence[Rule] = PAIR_RULES) -> tuple[np.ndarray, np.ndarray]:
    """(request index, offer index) of every pair passing every rule, as int32 arrays, sorted by
    request and, for each request, by offer."""
    _same_table(reqs, table)
    # Per area (the last: offers in areas the scheme does not know), the offers there.
    blocks = list(table.offers_by_area) + [np.flatnonzero(table.area < 0)]
    # Per area, the requests its offers can pass the area rules for (`Rule.by_area`: a verdict that
    # is the offer's area alone): those rules are judged here, whole areas at once, and only these
    # requests are judged by the others, block by block. Each lookup is kept as (row, allowed by
    # area), so that an area's verdict for every request is one gather.
    by_area = [(row, np.ascontiguousarray(allowed.T)) for row, allowed in
               filter(None, (rule.by_area(ctx, reqs) for rule in rules if rule.by_area is not None))]
    everyone = np.arange(reqs.size)
    judged = [rule for rule in rules if rule.by_area is None]
    n = max(table.size, 1)
    # A pair's key, request index * n + offer index, sorted to order the pairs; in 32 bits where it
    # fits (20,000 by 20,000 does), half the memory to sort.
    key_type = np.uint32 if reqs.size * n <= 1 << 32 else np.int64
    found: list[np.ndarray] = []  # per block, the key of each pair found
    for k, offers in enumerate(blocks):
        if not offers.size:
            continue
        every = everyone
        if by_area:
            candidates = by_area[0][1][k][by_area[0][0]]
            for row, allowed in by_area[1:]:
                candidates &= allowed[k][row]
            every = np.flatnonzero(candidates)
        step = max(1, BLOCK_PAIRS // offers.size)
        for start in range(0, every.size, step):
            which = every[start:start + step]
            r, o = which[:, None], offers[None, :]
            ok = np.ones((which.size, offers.size), dtype=bool)
            for rule in judged:
                m = rule.mask(ctx, reqs, r, table, o)
                if m is not None:
                    ok &= m
                    if not ok.any():
                        break
            rows, cols = np.nonzero(ok)
            if rows.size:
                found.append((which * n).astype(key_type)[rows] + offers.astype(key_type)[cols])
    # Blocks are areas; a request's pairs come from several: order them by request, then offer.
    # Each block's keys are already in order, so a merge sort (NumPy's stable sort: timsort, which
    # finds those runs) takes a quarter of quicksort's time on them.
    key = np.concatenate(found) if found else np.zeros(0, key_type)
    del found
    key.sort(kind="stable")
    request, offer = np.divmod(key, key_type(n))
    return request.astype(np.int32), offer.astype(np.int32)


def exclusion_counts(ctx: MatchContext, reqs: RequestTable, table: OfferTable, which: Sequence[int],
                     rules: Sequence[Rule] = PAIR_RULES) -> dict[int, Counter]:
    """For each request index in `which`: how many of all the table's offers each rule excludes (an
    offer may count under several rules)."""
    _same_table(reqs, table)
    which = np.asarray(which, dtype=np.int64)
    out: dict[int, Counter] = {int(i): Counter() for i in which}
    n = table.size
    # An area rule (`Rule.by_area`) passes a request's offers area by area: count them so.
    in_area = np.bincount(np.where(table.area < 0, len(table.areas), table.area), minlength=len(table.areas) + 1)
    step = max(1, BLOCK_PAIRS // max(n, 1))
    o = np.arange(n, dtype=np.int64)[None, :]
    for start in range(0, which.size, step):
        part = which[start:start + step]
        r = part[:, None]
        for rule in rules:
            if rule.by_area is not None:
                lookup = rule.by_area(ctx, reqs)
                if lookup is None:
                    continue
                row, allowed = lookup
                passed = allowed[row[part]].astype(np.int64) @ in_area
            else:
                m = rule.mask(ctx, reqs, r, table, o)
                if m is None:
                    continue
                passed = np.count_nonzero(np.broadcast_to(m, (part.size, n)), axis=1)
            for i, p in zip(part.tolist(), passed.tolist()):
                if n - p:
                    out[i][rule.name] = n - p
    return out


def _same_table(reqs: RequestTable, table: OfferTable) -> None:
    # Its columns may hold this table's indices (areas, providers, tenancy kinds).
    if reqs.table is not table:
        raise ValueError("a RequestTable is judged only against the offer table it was built for")
