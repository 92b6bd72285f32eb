"""The domain in the users' words: offers, requests, proposals, moves, balances.

Plain frozen dataclasses, no ORM and no solver. Refs are pseudonymous case codes; the engine
never holds names, addresses or dates of birth.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum


class RequestKind(str, Enum):
    survivor = "survivor"
    perpetrator = "perpetrator"


class Risk(str, Enum):
    high = "high"
    medium = "medium"
    standard = "standard"


class PropertyType(str, Enum):
    flat = "flat"
    house = "house"
    bungalow = "bungalow"
    maisonette = "maisonette"
    studio = "studio"


class OfferStatus(str, Enum):
    open = "open"
    let = "let"
    withdrawn = "withdrawn"


class RequestStatus(str, Enum):
    open = "open"
    moved = "moved"
    withdrawn = "withdrawn"


class ProposalStatus(str, Enum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    cancelled = "cancelled"  # the offer or request was withdrawn while the round was open
    moved = "moved"  # accepted and committed when the round closed


LIVE_PROPOSAL = (ProposalStatus.pending, ProposalStatus.accepted)


class RoundStatus(str, Enum):
    open = "open"
    closed = "closed"


# Restrictions an offer may carry, and the age bands a request may give where one needs it.
AGE_BANDS = ("16-24", "25-34", "35-44", "45-54", "55-64", "65+")
RESTRICTIONS = ("no_perpetrator", "age_55_plus", "age_65_plus")


def age_band_floor(band: str | None) -> int | None:
    if band is None:
        return None
    return int(band.split("-")[0].rstrip("+"))


@dataclass(frozen=True)
class Offer:
    """An empty home a provider puts into the pot."""

    ref: str
    provider: str
    area: str
    bedrooms: int
    property_type: PropertyType
    available_from: date
    floor: int | None = None
    step_free: bool = False
    wheelchair_accessible: bool = False
    tenancy_offered: str | None = None
    weekly_rent: float | None = None
    restrictions: tuple[str, ...] = ()
    notes: str = ""
    status: OfferStatus = OfferStatus.open


@dataclass(frozen=True)
class Request:
    """A property request for one household of a provider (its current landlord)."""

    ref: str
    provider: str
    kind: RequestKind
    current_tenancy: str
    bedrooms_needed: int
    referred_on: date
    risk: Risk = Risk.standard
    max_bedrooms: int | None = None
    needs_step_free: bool = False
    needs_wheelchair: bool = False
    avoid_areas: tuple[str, ...] = ()
    preferred_areas: tuple[str, ...] = ()
    age: str | None = None
    survivor_area: str | None = None
    survivor_consent: bool = False
    safety_decision_on: date | None = None
    status: RequestStatus = RequestStatus.open

    def waiting_days(self, on: date) -> int:
        return max(0, (on - self.referred_on).days)


OFFER_FIELDS = ("ref", "provider", "area", "bedrooms", "property_type", "floor", "step_free",
                "wheelchair_accessible", "tenancy_offered", "weekly_rent", "available_from",
                "restrictions", "notes")
REQUEST_FIELDS = ("ref", "provider", "kind", "current_tenancy", "bedrooms_needed", "max_bedrooms",
                  "needs_step_free", "needs_wheelchair", "avoid_areas", "preferred_areas", "risk",
                  "referred_on", "age", "survivor_area", "survivor_consent", "safety_decision_on")


@dataclass(frozen=True)
class Move:
    """An accepted proposal, committed: the household moved from one provider to another's home."""

    request: str
    offer: str
    from_provider: str  # the request's landlord: owes a home to the scheme
    to_provider: str  # the offer's landlord: is owed one
    bedrooms: int
    round_id: int | None = None


@dataclass
class Balances:
    """Per provider: homes given to other members' tenants minus own tenants housed by others."""

    total: dict[str, int] = field(default_factory=dict)
    by_band: dict[str, dict[str, int]] = field(default_factory=dict)

    def of(self, provider: str) -> int:
        return self.total.get(provider, 0)


def debt_headroom(balance: int, max_debt: int) -> int:
    """Rule 9, fairness_debt_limit: how many more homes (net, this round) a provider's tenants
    may receive. A provider already at or past `-max_debt` gets no further tenants placed except
    as many as it gives in the same round."""
    return max(0, balance + max_debt)


def hold_backs_for_debt_limit(moves: list[tuple[str, str, tuple]], balances: dict[str, int],
                              max_debt: dict[str, int]) -> list[int]:
    """Rule 9 at the moment of commitment: which of a round's accepted moves to hold back.

    `moves` are (from_provider, to_provider, priority key), a larger key meaning lower priority.
    A round is solved within every debt limit, but a decline or lapse on the giving side of an
    exchange can leave a provider receiving more than its headroom. Its lowest-priority moves are
    held back one at a time (which may take room from the provider that would have given the home,
    so the check repeats) until every provider in `max_debt` is within its limit. Returns the
    indices held back, in the order they were chosen."""
    live = set(range(len(moves)))
    held: list[int] = []
    while True:
        net: dict[str, int] = {}
        for k in live:
            frm, to, _ = moves[k]
            net[frm] = net.get(frm, 0) + 1
            net[to] = net.get(to, 0) - 1
        over = sorted(p for p, n in net.items()
                      if p in max_debt and n > debt_headroom(balances.get(p, 0), max_debt[p]))
        if not over:
            return held
        victim = max((k for k in live if moves[k][0] == over[0]), key=lambda k: moves[k][2])
        live.discard(victim)
        held.append(victim)
