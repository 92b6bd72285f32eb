"""Working days in England and Wales, for the due dates of proposal stages (docs/config.md, Lifecycle terms).

A stage entered on day D with N working days to answer is due on the N-th working day after D:
Saturdays, Sundays and the bank holidays of England and Wales (Christmas, Easter, the May and
August bank holidays, and the substitute days when one falls at a weekend) do not count. The
calendar comes from the maintained `holidays` package rather than a hand-written table, so a new
year's bank holidays (or a one-off, such as a coronation) arrive with a package update.

Importing that package loads every country's calendar (300 modules, about 0.1 s of CPU), which
every command that works out a due date would pay. So each year's bank holidays, once worked out,
are kept in the user's cache folder (`reciprocal.user_cache`), keyed on the package's own files
(their names, sizes and modification times: an upgrade or an edit of it invalidates the lot) and
on the region; a cache that does not parse or holds anything but that year's dates is ignored and
rebuilt. Commands that only read a date the user typed (`day_problem`) never load the package.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from reciprocal.user_cache import private_folder, read_private, write_private

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


# The bank holidays cache's format; a cache of another format is ignored.
CALENDAR_FORMAT = 1


@lru_cache(maxsize=64)
def bank_holidays(year: int) -> frozenset[date]:
    """England and Wales' bank holidays in `year`: from the user's cache, else from the package
    (and then kept in the cache for the next command)."""
    key = _package_key()
    path = _calendar_file(key) if key is not None else None
    stored = _stored_calendar(path, key) if path is not None else {}
    days = _days_of(year, stored.get(str(year)))
    if days is None:
        days = _from_package(year)
        if path is not None:
            stored[str(year)] = sorted(d.isoformat() for d in days)
            write_private(path, json.dumps({"format": CALENDAR_FORMAT, "key": key, "years": stored}))
    return days


def _from_package(year: int) -> frozenset[date]:
    import holidays  # loads every country: only when the cache cannot answer
    country, subdivision = REGION
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


@lru_cache(maxsize=1)
def _package_key() -> str | None:
    """What the calendar was worked out by: the region and the `holidays` package's files that make
    England's calendar (its own modules, the UK's, the religious and calendar groups, the mixins:
    name, size, modification time), found without importing it; None if it cannot be found."""
    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(list(spec.submodule_search_locations)[0])
    digest = hashlib.sha256(repr((CALENDAR_FORMAT, REGION, str(package))).encode())
    try:
        for folder in (package, *(package / name for name in ("countries", "groups", "calendars", "mixins"))):
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except FileNotFoundError:  # a release laid out otherwise: its absence is part of the key
                digest.update(f"{folder.name}: none;".encode())
                continue
            for entry in entries:
                if entry.name.endswith(".py") and (folder.name != "countries"
                                                   or entry.name in ("__init__.py", "united_kingdom.py")):
                    info = entry.stat()
                    digest.update(f"{folder.name}/{entry.name}:{info.st_size}:{info.st_mtime_ns};".encode())
    except OSError:
        return None
    return digest.hexdigest()


def _calendar_file(key: str) -> Path | None:
    """One file per key, so that two installations (two virtualenvs) do not overwrite each other's."""
    folder = private_folder("working-days")
    return folder / f"bank-holidays-{key[:32]}.json" if folder is not None else None


def _stored_calendar(path: Path, key: str) -> dict:
    """The years the cache holds for this key (ISO dates as stored), or {} if it holds none."""
    raw = read_private(path)
    try:
        stored = json.loads(raw) if raw is not None else None
    except (ValueError, UnicodeDecodeError):
        return {}
    if (not isinstance(stored, dict) or stored.get("format") != CALENDAR_FORMAT or stored.get("key") != key
            or not isinstance(stored.get("years"), dict)):
        return {}
    return stored["years"]


def _days_of(year: int, stored) -> frozenset[date] | None:
    """A year's stored bank holidays, if they are a list of that year's dates; else None."""
    if not isinstance(stored, list) or not all(isinstance(d, str) for d in stored):
        return None
    try:
        days = frozenset(date.fromisoformat(d) for d in stored)
    except ValueError:
        return None
    return days if all(d.year == year for d in days) else None


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
