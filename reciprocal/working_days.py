"""Working days in England and Wales, for the due dates of proposal stages (docs/config.md, Lifecycle terms).

A stage entered on day D with N working days to answer is due on the N-th working day after D:
Saturdays, Sundays and the bank holidays of England and Wales (Christmas, Easter, the May and
August bank holidays, and the substitute days when one falls at a weekend) do not count. The
calendar comes from the maintained `holidays` package rather than a hand-written table, so a new
year's bank holidays (or a one-off, such as a coronation) arrive with a package update.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

# England and Wales share one set of bank holidays; Scotland and Northern Ireland differ.
REGION = ("GB", "ENG")

# The days the engine works with: a round's horizon, stage due dates and waiting times are all
# computed from them, and a day such as 9999-12-31 would overflow that arithmetic. Any date a
# user gives (an option or a file's cell) outside this range is refused with `day_problem`.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2199, 12, 31)


def day_problem(day: date) -> str | None:
    """Why `day` cannot be used, or None."""
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"{day.isoformat()} is outside the dates the engine works with ({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})"


@lru_cache(maxsize=64)
def bank_holidays(year: int) -> frozenset[date]:
    country, subdivision = REGION
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (`start` itself is not counted); `start` when 0."""
    day = start
    left = days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when `end` is not after it)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count
