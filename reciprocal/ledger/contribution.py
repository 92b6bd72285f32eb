"""Contribution targets: what each member owes the scheme, and how long it has been at its limit.

Replayed from the ledger as of a day, keeping no state of its own: entries are taken in order of
the day they take effect (`effective_dates`: a move's legs on the move's day) and balances are
read at the end of each day, as `audit fairness` reads its lowest balance. A member is **at its
limit** when it owes at least one home and its balance is at or beyond `-max_debt` (its own
max_debt, else the scheme's): rule 9 then places none of its tenants until it gives a home.
`at_limit_since` is the first day of the run of days it has been at its limit up to the day asked
about, so a member that comes back within its limit and reaches it again starts a new run.

Members at their limit for more than `fairness.board_after_weeks_at_limit` whole weeks are listed
for the board (`for_the_board`); `audit fairness` and `report quarterly` both list them from here.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from reciprocal.config import Scheme
from reciprocal.domain import debt_headroom
from reciprocal.ledger import effective_dates, entries


@dataclass(frozen=True)
class Contribution:
    """One member's position as of `on`."""

    provider: str
    on: date
    balance: int
    max_debt: int | None  # None: not a member in the configs, so no limit applies
    at_limit_since: date | None

    @property
    def homes_owed(self) -> int:
        """Homes it must give for its balance to be even."""
        return max(0, -self.balance)

    @property
    def weeks_at_limit(self) -> int | None:
        """Whole weeks from `at_limit_since` to `on`; None when it is not at its limit."""
        return None if self.at_limit_since is None else (self.on - self.at_limit_since).days // 7


def at_limit(balance: int, max_debt: int | None) -> bool:
    """Owes at least one home and has no headroom left under rule 9. A member with max_debt 0
    and an even balance is not counted: it owes nothing, so there is nothing to report."""
    return max_debt is not None and balance < 0 and debt_headroom(balance, max_debt) == 0


def contributions(session: Session, scheme: Scheme, on: date) -> dict[str, Contribution]:
    """Every member's (and any other ledger provider's) position at the end of day `on`."""
    day_of = effective_dates(session)
    changes: dict[date, Counter] = defaultdict(Counter)
    providers = set(scheme.providers)
    for e in entries(session):
        providers.add(e.provider)
        if day_of[e.id] <= on:
            changes[day_of[e.id]][e.provider] += e.amount
    limits = {p: scheme.max_debt(p) for p in scheme.providers}
    balance: Counter = Counter()
    since: dict[str, date] = {}
    for day in sorted(changes):
        balance.update(changes[day])
        for provider in changes[day]:
            if not at_limit(balance[provider], limits.get(provider)):
                since.pop(provider, None)
            else:
                since.setdefault(provider, day)
    return {p: Contribution(p, on, balance[p], limits.get(p), since.get(p)) for p in sorted(providers)}


def for_the_board(positions: dict[str, Contribution], weeks: int) -> list[dict]:
    """Members at their limit for more than `weeks` whole weeks, longest first (then most owed)."""
    listed = [c for c in positions.values() if c.weeks_at_limit is not None and c.weeks_at_limit > weeks]
    listed.sort(key=lambda c: (-c.weeks_at_limit, -c.homes_owed, c.provider))
    return [{"provider": c.provider, "at_limit_since": c.at_limit_since.isoformat(),
             "weeks_at_limit": c.weeks_at_limit, "homes_owed": c.homes_owed, "max_debt": c.max_debt}
            for c in listed]
