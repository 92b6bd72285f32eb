"""The domain in the users' words: offers, requests, proposals, moves, balances.

Plain frozen dataclasses, no ORM and no solver. Refs are pseudonymous case codes; the engine
never holds names, addresses or dates of birth.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Callable, Iterable, Mapping


class RequestKind(str, Enum):
    survivor = "survivor"
    perpetrator = "perpetrator"


class Risk(str, Enum):
    """Most urgent first: the order is fixed by the product (the risk gate and the priority order
    read it), never by a scheme's config."""

    high = "high"
    medium = "medium"
    standard = "standard"


# The most bedrooms an offer or request may state (intake refuses more), and so the largest size a
# scheme's ledger bands must cover.
MAX_BEDROOMS = 10


class PropertyType(str, Enum):
    flat = "flat"
    house = "house"
    bungalow = "bungalow"
    maisonette = "maisonette"
    studio = "studio"


class OfferStatus(str, Enum):
    available = "available"  # in the pot, from available_from until an optional available_until
    let = "let"  # let through the scheme: a proposal for it was signed
    withdrawn = "withdrawn"
    let_outside_scheme = "let_outside_scheme"


class RequestStatus(str, Enum):
    referred = "referred"  # awaiting its landlord's approval
    active = "active"  # in the pot and circulated
    on_hold = "on_hold"  # with a reason and a date to look again
    stale = "stale"  # not reconfirmed within the scheme's period: skipped until reconfirmed
    review = "review"  # its reasonable refusals reached the scheme's limit
    moved = "moved"  # moved through the scheme: a proposal for it was signed
    closed = "closed"  # with an outcome (RequestOutcome)


class RequestOutcome(str, Enum):
    """Why a request was closed without a move through the scheme."""

    moved_other_route = "moved_other_route"  # Housing Moves, choice-based lettings, a transfer...
    no_longer_needs_to_move = "no_longer_needs_to_move"
    lost_contact = "lost_contact"
    withdrawn = "withdrawn"


class ProposalStatus(str, Enum):
    """A proposal's stage (docs/config.md, Lifecycle terms), or how it ended."""

    proposed = "proposed"
    nomination_confirmed = "nomination_confirmed"  # the offering landlord agrees
    viewing = "viewing"  # a viewing is set
    accepted = "accepted"  # the household says yes
    signed = "signed"  # tenancy signed: the move
    refused = "refused"  # by the household, the offering landlord or the referring landlord
    lapsed = "lapsed"  # a stage passed its due date with no answer
    cancelled = "cancelled"  # the offer or request was withdrawn, closed or put on hold


LIVE_PROPOSAL = (ProposalStatus.proposed, ProposalStatus.nomination_confirmed, ProposalStatus.viewing,
                 ProposalStatus.accepted)
# The stage that follows each live stage; `accepted` is followed by signing (the move).
NEXT_STAGE = {ProposalStatus.proposed: ProposalStatus.nomination_confirmed,
              ProposalStatus.nomination_confirmed: ProposalStatus.viewing,
              ProposalStatus.viewing: ProposalStatus.accepted,
              ProposalStatus.accepted: ProposalStatus.signed}


class RefusedBy(str, Enum):
    household = "household"
    offering_landlord = "offering_landlord"
    referring_landlord = "referring_landlord"


class Role(str, Enum):
    """Who made a change, as the proposal trail records it."""

    coordinator = "coordinator"
    household = "household"
    offering_landlord = "offering_landlord"
    referring_landlord = "referring_landlord"
    engine = "engine"  # a round's proposal, a lapse at its due date, a cancellation it caused


class RoundStatus(str, Enum):
    """Rounds are weekly matching events: `run` once solved. `open` and `closed` are the states of
    rounds made before proposals lived across rounds (migration 0003)."""

    run = "run"
    open = "open"
    closed = "closed"


class ChecklistStatus(str, Enum):
    outstanding = "outstanding"
    done = "done"


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
    available_until: date | None = None
    status: OfferStatus = OfferStatus.available
    # The household this home is offered for (docs/config.md): proposed to it first when every
    # hard rule allows, else it joins the pot and the round says why.
    for_request: str | None = None


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
    status: RequestStatus = RequestStatus.active

    def waiting_days(self, on: date) -> int:
        return max(0, (on - self.referred_on).days)


OFFER_FIELDS = ("ref", "provider", "area", "bedrooms", "property_type", "floor", "step_free",
                "wheelchair_accessible", "tenancy_offered", "weekly_rent", "available_from",
                "restrictions", "notes", "available_until", "for_request")
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


# -- ledger accounts, the effect of moves on them, and the debt limit (rule 9) ------------------
#
# One sign convention everywhere: a balance is homes given minus the provider's own tenants housed
# by others. A move adds +1 to the offer's landlord (it gives a home) and -1 to the request's
# landlord (its tenant is rehoused), in the provider's total account and, where the move's bedroom
# band is known, in that band's account. Every piece of code that asks "what do these moves do to
# the ledger?" or "who is past their debt limit?" asks it here: the checker, the explanations, the
# baseline policies, the lifecycle's re-solve and close, the simulation and the benchmarks.


@dataclass(frozen=True)
class Account:
    """A ledger account: a provider's total (`band` None), or its account in one bedroom band."""

    provider: str
    band: str | None = None

    def __str__(self) -> str:
        return self.provider if self.band is None else f"{self.provider} in band {self.band}"

    @property
    def order(self) -> tuple:
        """Totals before bands, then by provider and band: the order limits are repaired in."""
        return (self.band is not None, self.provider, self.band or "")


def move_effect(from_provider: str, to_provider: str, band: str | None = None) -> Counter:
    """What one move does to the ledger: Account -> change in balance."""
    effect: Counter = Counter({Account(to_provider): 1, Account(from_provider): -1})
    if band is not None:
        effect[Account(to_provider, band)] += 1
        effect[Account(from_provider, band)] -= 1
    return effect


def _moved(total: dict, from_provider: str, to_provider: str, band: str | None) -> None:
    """`move_effect` added into `total`, keyed by (provider, band): each key in the order that
    `Counter.update(move_effect(...))` meets it, zeros kept. A move within one provider (no hard
    rule lets one be proposed) counts as `move_effect` counts it: its one key's -1."""
    if from_provider == to_provider:
        total[(to_provider, None)] = total.get((to_provider, None), 0) - 1
        if band is not None:
            total[(to_provider, band)] = total.get((to_provider, band), 0)
        return
    total[(to_provider, None)] = total.get((to_provider, None), 0) + 1
    total[(from_provider, None)] = total.get((from_provider, None), 0) - 1
    if band is not None:
        total[(to_provider, band)] = total.get((to_provider, band), 0) + 1
        total[(from_provider, band)] = total.get((from_provider, band), 0) - 1


def _received(total: dict, from_provider: str, band: str | None) -> None:
    """A move's receiving leg added into `total` (as `receiving_effect` counts it)."""
    total[(from_provider, None)] = total.get((from_provider, None), 0) - 1
    if band is not None:
        total[(from_provider, band)] = total.get((from_provider, band), 0) - 1


def _accounts(total: dict) -> Counter:
    # Each account made once, not once per move: a round checks 12,909 moves (issue 24).
    return Counter({Account(provider, band): change for (provider, band), change in total.items()})


def ledger_effect(moves: Iterable[tuple[str, str, str | None]]) -> Counter:
    """What a set of moves (from_provider, to_provider, band or None) does to the ledger, summed:
    `move_effect` of each, added up (`tests/rules/test_ledger_effect.py` holds them equal)."""
    total: dict = {}
    for from_provider, to_provider, band in moves:
        _moved(total, from_provider, to_provider, band)
    return _accounts(total)


def receiving_effect(moves: Iterable[tuple[str, str, str | None]]) -> Counter:
    """Only the receiving legs of a set of moves: what the moves can do to the ledger before any
    of the homes given in return is signed. Rule 9 holds at every moment, in whatever order live
    proposals are signed, refused or lapse, exactly when this effect keeps every account within
    its limit (a home given counts once its move is signed, never in advance)."""
    total: dict = {}
    for from_provider, _to_provider, band in moves:
        _received(total, from_provider, band)
    return _accounts(total)


# Rule 9 counts a live proposal's two legs from different stages: the placement of the request's
# landlord's tenant from `proposed`, the home the offer's landlord gives from the scheme's
# `fairness.gives_count_from` stage (one of these; `signed`: only once the move is in the ledger).
GIVES_COUNT_FROM = ("proposed", "nomination_confirmed", "accepted", "signed")
_STAGE_ORDER = {"proposed": 0, "nomination_confirmed": 1, "viewing": 2, "accepted": 3, "signed": 4}


def give_counted(stage: str, gives_count_from: str) -> bool:
    """Whether a live proposal at `stage` counts the home it gives, under the scheme's rule."""
    return _STAGE_ORDER[getattr(stage, "value", stage)] >= _STAGE_ORDER[gives_count_from]


def counted_effect(live: Iterable[tuple[str, str, str | None, str]], gives_count_from: str) -> Counter:
    """Rule 9's count of live proposals (from_provider, to_provider, band or None, stage): each
    placement from `proposed`, each home given from the scheme's `gives_count_from` stage. The
    ledger's balances after this effect are the balances the debt limit is judged on."""
    total: dict = {}
    for from_provider, to_provider, band, stage in live:
        if give_counted(stage, gives_count_from):
            _moved(total, from_provider, to_provider, band)
        else:
            _received(total, from_provider, band)
    return _accounts(total)


def limit_breaches(start: Mapping[Account, int], made: Iterable[tuple[str, str, str | None]],
                   limit_of: Callable[[Account], int | None], gives_count_from: str) -> list[Account]:
    """Rule 9 when proposals are made (a round's, or a re-offer): the accounts whose tenants the
    new proposals `made` place past the limit, totals first. `start` is the counted balance before
    them (ledger plus `counted_effect` of the live proposals). An account with a new placement
    must not be past its limit before them, and must be within it after them, counting the homes
    it gives in them when gives count from `proposed` (new proposals are at that stage). An
    account that only gives is never in breach: giving a home is always allowed."""
    made = list(made)
    placed = receiving_effect(made)
    counted = ledger_effect(made) if give_counted("proposed", gives_count_from) else placed
    over = [account for account, change in placed.items()
            if change < 0 and _places_past_limit(start, account, limit_of(account), counted[account])]
    return sorted(over, key=lambda a: a.order)


def _places_past_limit(start: Mapping[Account, int], account: Account, limit: int | None, counted: int) -> bool:
    """Rule 9 for one account given new placements: past its limit before them, or past it after
    them (`counted`: their net change as the scheme counts it)."""
    if limit is None:
        return False
    room = start.get(account, 0) + limit
    return room < 0 or room + counted < 0


class LimitCheck:
    """`limit_breaches` one proposal at a time, for policies that build a batch greedily: `fits`
    says whether adding a move to the batch so far leaves `limit_breaches(start, batch + [move])`
    empty, given that every move added so far fitted; `add` puts it in the batch. Adding a move can
    only lower its placing account's count (and raise the giver's), so only the placing accounts
    need checking: linear in the batch, where calling `limit_breaches` each time is quadratic."""

    def __init__(self, start: Mapping[Account, int], limit_of: Callable[[Account], int | None],
                 gives_count_from: str) -> None:
        self.start, self.limit_of = start, limit_of
        self.funds = give_counted("proposed", gives_count_from)
        self.counted: Counter = Counter()

    def _effect(self, move: tuple[str, str, str | None]) -> Counter:
        return move_effect(*move) if self.funds else receiving_effect([move])

    def fits(self, move: tuple[str, str, str | None]) -> bool:
        effect = self._effect(move)
        return not any(_places_past_limit(self.start, account, self.limit_of(account),
                                          self.counted[account] + effect[account])
                       for account in receiving_effect([move]))

    def add(self, move: tuple[str, str, str | None]) -> None:
        self.counted.update(self._effect(move))


def past_limit_by(balance: int, max_debt: int) -> int:
    """How many homes an account's counted balance is past its debt limit (0 when within): a
    counted give that fell through can leave it there; it then gets no placements until back."""
    return max(0, -(balance + max_debt))


def debt_headroom(balance: int, max_debt: int) -> int:
    """Rule 9, fairness_debt_limit: how many more of an account's tenants may be placed from a
    balance. An account at or past `-max_debt` gets no further tenants placed until a home it
    gives is signed."""
    return max(0, balance + max_debt)


def room_left(balance: int, change: int, max_debt: int) -> int:
    """Homes (net) an account's tenants may still receive after `change` to `balance`; negative
    exactly when the change breaks rule 9."""
    return debt_headroom(balance, max_debt) + change


def over_debt_limit(start: Mapping[Account, int], effect: Mapping[Account, int],
                    limit_of: Callable[[Account], int | None]) -> list[Account]:
    """The accounts `effect` takes past their debt limit from `start`, totals first. `limit_of`
    gives an account's max_debt, or None where no limit applies (a provider outside the scheme,
    a band account when the scheme sets no band limit)."""
    over = []
    for account, change in effect.items():
        limit = limit_of(account)
        if limit is not None and room_left(start.get(account, 0), change, limit) < 0:
            over.append(account)
    return sorted(over, key=lambda a: a.order)


@dataclass
class Balances:
    """Per provider: homes given to other members' tenants minus own tenants housed by others,
    in total and by bedroom band."""

    total: dict[str, int] = field(default_factory=dict)
    by_band: dict[str, dict[str, int]] = field(default_factory=dict)

    def of(self, provider: str) -> int:
        return self.total.get(provider, 0)

    def get(self, account: Account, default: int = 0) -> int:
        if account.band is None:
            return self.total.get(account.provider, default)
        return self.by_band.get(account.provider, {}).get(account.band, default)

    def after(self, effect: Mapping[Account, int]) -> "Balances":
        """The balances once `effect` is applied (a new object; this one is unchanged)."""
        total = dict(self.total)
        by_band = {p: dict(b) for p, b in self.by_band.items()}
        for account, change in effect.items():
            if account.band is None:
                total[account.provider] = total.get(account.provider, 0) + change
            else:
                bands = by_band.setdefault(account.provider, {})
                bands[account.band] = bands.get(account.band, 0) + change
        return Balances(total, by_band)


def hold_backs_for_debt_limit(moves: list[tuple[str, str, str | None, tuple]], start: Mapping[Account, int],
                              limit_of: Callable[[Account], int | None]) -> list[int]:
    """Rule 9 at the moment of commitment: which of a set of accepted moves to hold back.

    `moves` are (from_provider, to_provider, band or None, priority key), a larger key meaning
    lower priority. A round is solved within every debt limit, but a decline or lapse on the giving
    side of an exchange can leave an account receiving more than its headroom. The first account
    past its limit (totals first) loses its lowest-priority receiving move, one at a time (which
    may take room from the account that would have given the home, so the check repeats) until no
    account is past its limit. Returns the indices held back, in the order they were chosen."""
    effects = [move_effect(frm, to, band) for frm, to, band, _ in moves]
    live = set(range(len(moves)))
    held: list[int] = []
    while True:
        effect: Counter = Counter()
        for k in live:
            effect.update(effects[k])
        over = over_debt_limit(start, effect, limit_of)
        if not over:
            return held
        victim = max((k for k in live if effects[k][over[0]] < 0), key=lambda k: moves[k][3])
        live.discard(victim)
        held.append(victim)
