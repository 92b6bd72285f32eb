"""Contribution targets: what each member owes the scheme, and how long it has been at its limit.

Replayed as of a day, keeping no state of its own. Homes owed are the ledger's (entries taken in
order of the day they take effect, `effective_dates`). A member is **at its limit** when it owes
at least one home and its **counted** balance (rule 9's: the ledger plus its live proposals as the
scheme counts them, `reciprocal.ledger.counted`) is at or beyond `-max_debt` (its own max_debt,
else the scheme's), read at the end of each day: rule 9 then places none of its tenants until it
is back within. `at_limit_since` is the first day of the run of days it has been at (or past) its
limit up to the day asked about, so a member that comes back within its limit and reaches it
again starts a new run.

Members at their limit for more than `fairness.board_after_weeks_at_limit` whole weeks are listed
for the board (`for_the_board`); `audit fairness` and `report quarterly` both list them from here.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from reciprocal.config import Scheme
from reciprocal.ledger import effective_dates, entries
from reciprocal.ledger.counted import at_limit, positions


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


__all__ = ["Contribution", "at_limit", "contributions", "for_the_board"]


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
    for day in sorted(changes):
        balance.update(changes[day])
    counted = positions(session, scheme, on)
    return {p: Contribution(p, on, balance[p], limits.get(p), counted[p].at_limit_since if p in counted else None)
            for p in sorted(providers)}


def for_the_board(positions: dict[str, Contribution], weeks: int) -> list[dict]:
    """Members at their limit for more than `weeks` whole weeks, longest first (then most owed)."""
    listed = [c for c in positions.values() if c.weeks_at_limit is not None and c.weeks_at_limit > weeks]
    listed.sort(key=lambda c: (-c.weeks_at_limit, -c.homes_owed, c.provider))
    return [{"provider": c.provider, "at_limit_since": c.at_limit_since.isoformat(),
             "weeks_at_limit": c.weeks_at_limit, "homes_owed": c.homes_owed, "max_debt": c.max_debt}
            for c in listed]
