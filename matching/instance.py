"""The translation layer: domain objects in, solver input out.

`build_instance` turns a round's open requests and offers, the ledger's balances and the scheme's
terms into index maps, the eligible pairs (every pair that passed every pair rule, judged with the
rules' `mask` forms over NumPy columns by `matching.pairs`) and per-provider debt headroom. For a
request with no eligible offer it also keeps how many offers each rule excluded, which is what
"why not matched" is read from. The model never sees anything but a `MatchingInstance`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from reciprocal.config import Scheme
from reciprocal.domain import Offer, Request, Risk

from matching.offer_table import OfferTable, RequestTable, build_offer_table
from matching.pairs import eligible_pairs, exclusion_counts
from matching.rules import MatchContext
from reciprocal.domain import Account, Balances, debt_headroom, give_counted


@dataclass
class MatchingInstance:
    ctx: MatchContext
    requests: list[Request]
    offers: list[Offer]
    pair_request: np.ndarray  # int32 request index of each eligible pair
    pair_offer: np.ndarray  # int32 offer index of each eligible pair
    balances: dict[str, int]  # ledger balance per provider (plus live proposals, on a re-solve)
    headroom: dict[str, int]  # rule 9: net homes each provider's tenants may still receive
    excluded: dict[int, Counter] = field(default_factory=dict)  # request with no eligible offer -> rule -> offers excluded
    # Rule 9 per bedroom band, when the scheme sets band_max_debt: band Account -> headroom.
    band_headroom: dict[Account, int] = field(default_factory=dict)
    # Pairs fixed before optimising: homes offered for their household (`matching.pinning`).
    pinned: list[int] = field(default_factory=list)
    # Rule 9: accounts (totals and bands) already past their limit, a counted give having fallen
    # through: none of their tenants is placed until they are back within it.
    past_limit: frozenset[Account] = frozenset()
    # The counted balances (totals and bands) the round starts from: rule 9 is judged from them.
    start: Balances = field(default_factory=Balances)
    # How many interchangeable homes each offer stands for (None: one each). Only the flow
    # engine's grouped view of a round sets it (`matching.flow._group_interchangeable_offers`).
    offer_copies: np.ndarray | None = None

    @property
    def gives_fund(self) -> bool:
        """Rule 9 with `gives_count_from: proposed`: a home a member gives in this round counts
        towards its headroom in this round, so its gives fund its placements."""
        return give_counted("proposed", self.scheme.gives_count_from)

    def debt_limits(self, pairs: tuple[np.ndarray, np.ndarray] | None = None) -> list["DebtLimit"]:
        """Rule 9 as rows over the eligible pairs, one per limited account (every solver path
        writes these same rows): placed - given <= room, given counted only when gives fund; no
        placement at all for an account past its limit.

        `pairs` (request indices, offer indices): the rows over those pairs instead, their indices
        into them; over a round's chosen pairs, `room_left` of a choice of all of them is the room
        the solution leaves each account."""
        pair_request, pair_offer = (self.pair_request, self.pair_offer) if pairs is None else pairs
        n_pairs = len(pair_request)
        providers = list(self.scheme.providers)
        code = {p: k for k, p in enumerate(providers)}
        outside = len(providers)  # a record of a member no longer in the configs: no limit
        req_code = np.array([code.get(r.provider, outside) for r in self.requests] or [0], dtype=np.int64)
        off_code = np.array([code.get(o.provider, outside) for o in self.offers] or [0], dtype=np.int64)
        placed_by = req_code[pair_request] if n_pairs else np.zeros(0, dtype=np.int64)
        given_by = off_code[pair_offer] if n_pairs else np.zeros(0, dtype=np.int64)
        bands = [b.name for b in self.scheme.config.fairness.bands] if self.band_headroom else []
        if bands:
            band_code = {b: k for k, b in enumerate(bands)}
            off_band = np.array([band_code[self.scheme.band_of(o.bedrooms)] for o in self.offers] or [0],
                                dtype=np.int64)
            pair_band = off_band[pair_offer] if n_pairs else np.zeros(0, dtype=np.int64)
        none = np.zeros(0, dtype=np.int64)

        def groups(keys: np.ndarray, n: int) -> list[np.ndarray]:
            # A stable sort of 16-bit keys where they fit (NumPy sorts those by radix, in linear
            # time: 2 million pairs at national scale).
            narrow = keys.astype(np.uint16) if n <= 1 << 16 else keys
            order = np.argsort(narrow, kind="stable")
            return np.split(order, np.searchsorted(keys[order], np.arange(1, n)))

        n_p = len(providers) + 1
        placed = groups(placed_by, n_p)
        given = groups(given_by, n_p) if self.gives_fund else [none] * n_p
        limits = []
        for p, k in code.items():
            account = Account(p)
            limits.append(DebtLimit(account, self.headroom.get(p, 0), account in self.past_limit,
                                    placed[k], given[k]))
        if bands:
            n_b = len(bands)
            placed_b = groups(placed_by * n_b + pair_band, n_p * n_b)
            given_b = groups(given_by * n_b + pair_band, n_p * n_b) if self.gives_fund else [none] * (n_p * n_b)
            for account, room in self.band_headroom.items():
                k = code[account.provider] * n_b + bands.index(account.band)
                limits.append(DebtLimit(account, room, account in self.past_limit, placed_b[k], given_b[k]))
        return limits

    def chosen_mask(self, chosen: list[tuple[int, int]]) -> np.ndarray:
        """The pairs `chosen` (request index, offer index) as a 0/1 choice over the eligible pairs."""
        n_o = max(1, len(self.offers))
        keys = self.pair_request.astype(np.int64) * n_o + self.pair_offer
        picked = np.array([i * n_o + j for i, j in chosen], dtype=np.int64)
        if len(keys) > 1 and not (keys[1:] > keys[:-1]).all():
            return np.isin(keys, picked)
        # The pairs are sorted by request and offer (`build_instance`): look the chosen up.
        mask = np.zeros(len(keys), dtype=bool)
        at = np.minimum(np.searchsorted(keys, picked), max(len(keys) - 1, 0))
        found = at[keys[at] == picked] if len(keys) else at[:0]
        mask[found] = True
        return mask

    @property
    def scheme(self) -> Scheme:
        return self.ctx.scheme

    @property
    def objective_names(self) -> list[str]:
        return self.scheme.config.matching.objectives

    @cached_property
    def pairs(self) -> list[tuple[int, int]]:
        return list(zip(self.pair_request.tolist(), self.pair_offer.tolist()))

    @property
    def n_pairs(self) -> int:
        return len(self.pair_request)

    @cached_property
    def waiting(self) -> np.ndarray:
        return np.array([r.waiting_days(self.ctx.on) for r in self.requests], dtype=np.int64)

    @cached_property
    def high_risk(self) -> np.ndarray:
        return np.array([r.risk == Risk.high for r in self.requests], dtype=bool)

    def is_high_risk(self, i: int) -> bool:
        return bool(self.high_risk[i])

    def waiting_days(self, i: int) -> int:
        return int(self.waiting[i])

    def preference_score(self, i: int, j: int) -> int:
        """1 for a home in a preferred area, 1 for exactly the bedrooms needed."""
        r, o = self.requests[i], self.offers[j]
        return int(o.area in r.preferred_areas) + int(o.bedrooms == r.bedrooms_needed)

    @cached_property
    def pair_preference(self) -> np.ndarray:
        """preference_score for every eligible pair, computed on columns."""
        return self.preference_at(self.pair_request, self.pair_offer)

    def preference_at(self, requests: np.ndarray, offers: np.ndarray) -> np.ndarray:
        """preference_score of each pair (requests[k], offers[k]), computed on columns (int64)."""
        score = np.zeros(len(requests), dtype=np.int64)
        if not len(requests):
            return score
        table = self.table
        need, preferred = self._preference_columns
        score += table.bedrooms[offers] == need[requests]
        score += preferred[requests, table.area[offers]]
        return score

    @cached_property
    def _preference_columns(self) -> tuple[np.ndarray, np.ndarray]:
        # Per request: the bedrooms it needs, and whether each area (by the table's index; the
        # last: an area the scheme does not know) is one it prefers.
        table = self.table
        need = np.array([r.bedrooms_needed for r in self.requests], dtype=np.int16)
        preferred = np.zeros((len(self.requests), len(table.areas) + 1), dtype=bool)
        for i, r in enumerate(self.requests):
            for a in r.preferred_areas:
                if a in table.area_index:
                    preferred[i, table.area_index[a]] = True
        return need, preferred

    @cached_property
    def table(self) -> OfferTable:
        return build_offer_table(self.scheme, self.ctx.on, self.offers)


@dataclass(frozen=True)
class DebtLimit:
    """One account's rule 9 row: sum(placed) - sum(given) <= room over the chosen pairs, and
    sum(placed) == 0 when `shut` (the account is past its limit)."""

    account: Account
    room: int
    shut: bool
    placed: np.ndarray  # indices of the pairs that place one of the account's tenants
    given: np.ndarray  # indices of the pairs that give one of its homes (empty unless gives fund)

    def room_left(self, chosen: np.ndarray) -> int:
        """Placements still allowed beside a 0/1 choice over the pairs (negative: the row is
        broken if any is placed); -1 for an account past its limit."""
        if self.shut:
            return -1
        return self.room - int(chosen[self.placed].sum()) + int(chosen[self.given].sum())

    def breached_by(self, chosen: np.ndarray) -> bool:
        """Whether a 0/1 choice over the pairs breaks this row."""
        return bool(chosen[self.placed].any()) and self.room_left(chosen) < 0


def build_instance(ctx: MatchContext, requests: list[Request], offers: list[Offer],
                   balances: dict[str, int],
                   band_balances: dict[str, dict[str, int]] | None = None) -> MatchingInstance:
    """Judge every (request, offer) pair by every pair rule.

    `balances` are the ledger's balances plus the effect of proposals already live in this round
    (for a re-solve after a decline), so the debt limit holds over the whole round."""
    scheme = ctx.scheme
    requests = sorted(requests, key=lambda r: r.ref)
    offers = sorted(offers, key=lambda o: o.ref)
    table = build_offer_table(scheme, ctx.on, offers)
    reqs = RequestTable(requests, table)
    pair_request, pair_offer = eligible_pairs(ctx, reqs, table)
    matched = np.zeros(len(requests), dtype=bool)
    matched[pair_request] = True
    excluded = exclusion_counts(ctx, reqs, table, np.flatnonzero(~matched))
    headroom = {p: debt_headroom(balances.get(p, 0), scheme.max_debt(p)) for p in scheme.providers}
    start = Balances(dict(balances), band_balances or {})
    past = [Account(p) for p in scheme.providers if balances.get(p, 0) + scheme.max_debt(p) < 0]
    bands = band_headroom(scheme, band_balances or {})
    past += [a for a in bands if start.get(a) + scheme.debt_limit(a) < 0]
    inst = MatchingInstance(ctx, requests, offers, pair_request, pair_offer, dict(balances), headroom,
                            excluded, bands, past_limit=frozenset(past), start=start)
    inst.__dict__["table"] = table
    return inst


def band_headroom(scheme: Scheme, band_balances: dict[str, dict[str, int]]) -> dict[Account, int]:
    """Rule 9 per band account when the scheme sets `fairness.band_max_debt`; else empty."""
    if scheme.config.fairness.band_max_debt is None:
        return {}
    start = Balances(by_band=band_balances)
    accounts = [Account(p, band.name) for p in scheme.providers for band in scheme.config.fairness.bands]
    return {a: debt_headroom(start.get(a), scheme.debt_limit(a)) for a in accounts}
