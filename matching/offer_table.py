"""The open offers, and the requests judged against them, as NumPy columns, so that a rule can judge
many (request, offer) pairs at once. Built once per round; the rules' `mask` forms read them (see
`matching.rules`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable, Hashable, Sequence

import numpy as np

from reciprocal.config import Scheme
from reciprocal.domain import Offer, Request


@dataclass
class OfferTable:
    areas: list[str]
    area_index: dict[str, int]
    provider_index: dict[str, int]
    ref_index: dict[str, int]
    tenancy_index: dict[str, int]
    provider: np.ndarray  # int32, index into provider_index (-1: unknown provider)
    area: np.ndarray  # int32, index into areas (-1: unknown area)
    bedrooms: np.ndarray  # int16
    step_free: np.ndarray  # bool
    wheelchair: np.ndarray  # bool
    available_from: np.ndarray  # int64 date ordinal
    no_perpetrator: np.ndarray  # bool
    min_age: np.ndarray  # int16, the highest age floor among the offer's restrictions (0: none)
    accepts_perpetrator: np.ndarray  # bool, the offering provider's MoU term
    provider_active: np.ndarray  # bool, the offering provider is active on the round's date
    granted_rank: np.ndarray  # int16 [offer, tenancy kind held]: rank granted (-1: no grant)
    offers_by_area: list[np.ndarray]  # per area, indices of the offers there

    @property
    def size(self) -> int:
        return len(self.provider)

    def area_mask(self, allowed: frozenset[str] | set[str], negate: bool = False) -> np.ndarray:
        """Per area index: True where the area is in `allowed` (or not in it, if negate)."""
        mask = np.zeros(len(self.areas) + 1, dtype=bool)  # last slot: unknown area (-1)
        for a in allowed:
            if a in self.area_index:
                mask[self.area_index[a]] = True
        if negate:
            mask = ~mask
            mask[-1] = False
        return mask


def build_offer_table(scheme: Scheme, on: date, offers: list[Offer]) -> OfferTable:
    areas = list(scheme.config.areas)
    area_index = {a: k for k, a in enumerate(areas)}
    providers = sorted(scheme.providers)
    provider_index = {p: k for k, p in enumerate(providers)}
    tenancies = list(scheme.config.tenancy_kinds)
    tenancy_index = {t: k for k, t in enumerate(tenancies)}
    n = len(offers)
    provider = np.array([provider_index.get(o.provider, -1) for o in offers], dtype=np.int32)
    area = np.array([area_index.get(o.area, -1) for o in offers], dtype=np.int32)
    min_age = np.zeros(n, dtype=np.int16)
    no_perp = np.zeros(n, dtype=bool)
    for j, o in enumerate(offers):
        for r in o.restrictions:
            if r == "no_perpetrator":
                no_perp[j] = True
            elif r.startswith("age_"):
                min_age[j] = max(min_age[j], int(r[4:6]))
    accepts = np.array([scheme.providers[p].accepts_perpetrator_moves for p in providers] + [False])
    active = np.array([scheme.is_active(p, on) for p in providers] + [False])
    # rank granted per provider and held tenancy kind, then per offer (tenancy_offered overrides)
    per_provider = np.full((len(providers) + 1, len(tenancies)), -1, dtype=np.int16)
    for p, k in provider_index.items():
        for held, granted in scheme.providers[p].grants.items():
            if held in tenancy_index:
                rank = scheme.tenancy_rank(granted)
                per_provider[k, tenancy_index[held]] = -1 if rank is None else rank
    granted_rank = per_provider[provider].copy() if n else np.zeros((0, len(tenancies)), np.int16)
    for j, o in enumerate(offers):
        if o.tenancy_offered:
            rank = scheme.tenancy_rank(o.tenancy_offered)
            granted_rank[j, :] = -1 if rank is None else rank
    by_area = [np.flatnonzero(area == k) for k in range(len(areas))]
    return OfferTable(
        areas=areas, area_index=area_index, provider_index=provider_index,
        ref_index={o.ref: j for j, o in enumerate(offers)}, tenancy_index=tenancy_index,
        provider=provider, area=area,
        bedrooms=np.array([o.bedrooms for o in offers], dtype=np.int16),
        step_free=np.array([o.step_free for o in offers], dtype=bool),
        wheelchair=np.array([o.wheelchair_accessible for o in offers], dtype=bool),
        available_from=np.array([o.available_from.toordinal() for o in offers], dtype=np.int64),
        no_perpetrator=no_perp, min_age=min_age,
        accepts_perpetrator=accepts[provider] if n else np.zeros(0, bool),
        provider_active=active[provider] if n else np.zeros(0, bool),
        granted_rank=granted_rank, offers_by_area=by_area)


class RequestTable:
    """Requests as NumPy columns, for judging them against one `OfferTable` in one `MatchContext`.

    The table holds no rule logic: a rule's mask asks for each column it needs by a name of its own,
    with the function that computes the value from one request (`column`), or the row of a
    per-area lookup (`by_area`), and gets it computed once per table. So a rule's logic stays in
    its mask beside its pair form (`matching.rules`) while many masks over many blocks of pairs
    cost one pass over the requests each. Since a computed column may depend on the context and
    on the offer table's indices (areas, providers, tenancy kinds), a RequestTable is built for one
    context and one offer table, and is judged against only those (`matching.pairs`)."""

    def __init__(self, requests: Sequence[Request], table: OfferTable) -> None:
        self.requests = list(requests)
        self.table = table
        self._columns: dict[str, object] = {}

    @property
    def size(self) -> int:
        return len(self.requests)

    def derived(self, name: str, compute: Callable[[], object]):
        """`compute()`, computed on first use of `name` and kept."""
        try:
            return self._columns[name]
        except KeyError:
            value = self._columns[name] = compute()
            return value

    def column(self, name: str, value: Callable[[Request], object], dtype=bool) -> np.ndarray:
        """`value(request)` for every request, as an array (computed on first use of `name`)."""
        return self.derived(name, lambda: np.fromiter(map(value, self.requests), dtype=dtype,
                                                      count=len(self.requests)))

    def by_area(self, name: str, areas: Callable[[Request], Hashable],
                negate: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """A per-area lookup for each request: `(row, allowed)` such that
        `allowed[row[i], table.area[j]]` says whether offer j's area passes for request i.

        `areas(request)` gives the set of areas allowed (with `negate`: the set refused, every
        other area of the scheme allowed); an offer in an area the scheme does not know is never
        allowed, except that None allows every offer, wherever it is. Requests giving the same set
        share a row."""
        def lookup() -> tuple[np.ndarray, np.ndarray]:
            rows: dict[Hashable, int] = {}
            row = np.fromiter(map(lambda key: rows.setdefault(key, len(rows)), map(areas, self.requests)),
                              dtype=np.int64, count=len(self.requests))
            allowed = np.empty((max(len(rows), 1), len(self.table.areas) + 1), dtype=bool)
            for key, k in rows.items():
                allowed[k] = True if key is None else self.table.area_mask(key, negate=negate)
            return row, allowed

        return self.derived(name, lookup)

    def by_buffers(self, name: str, areas: Callable[[Request], tuple[str, ...] | None],
                   buffer: Callable[[str], frozenset[str]], negate: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """`by_area(name, lambda q: the union of buffer(a) for a in areas(q), negate)`, for a set
        that is the union of each of a request's areas' own sets (a safety buffer around several
        areas, reach from several preferred areas): each area's row is made once, and a request's
        row is the OR of its areas' rows, not a union of sets and a row made per distinct union
        (8,000 of them at national scale). None from `areas` allows every offer, wherever it is."""
        def lookup() -> tuple[np.ndarray, np.ndarray]:
            rows: dict[Hashable, int] = {}
            row = np.fromiter(map(lambda key: rows.setdefault(key, len(rows)), map(areas, self.requests)),
                              dtype=np.int64, count=len(self.requests))
            own: dict[str, int] = {}  # area -> its row of `near`
            by_length: dict[int, tuple[list[int], list[list[int]]]] = {}  # areas per key -> (rows, their areas)
            everywhere = []
            for key, k in rows.items():
                if key is None:
                    everywhere.append(k)
                    continue
                at = by_length.setdefault(len(key), ([], []))
                at[0].append(k)
                at[1].append([own.setdefault(a, len(own)) for a in key])
            near = np.zeros((len(own) + 1, len(self.table.areas) + 1), dtype=bool)
            for a, k in own.items():
                near[k] = self.table.area_mask(buffer(a))
            allowed = np.zeros((max(len(rows), 1), len(self.table.areas) + 1), dtype=bool)
            for keys, members in by_length.values():
                allowed[keys] = near[np.array(members, dtype=np.int64).reshape(len(keys), -1)].any(axis=1)
            if negate:
                allowed = ~allowed
                allowed[:, -1] = False  # an area the scheme does not know is never allowed
            allowed[everywhere] = True
            return row, allowed

        return self.derived(name, lookup)
