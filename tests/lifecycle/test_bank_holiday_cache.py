"""The bank holidays worked out once are kept in the user's cache (issue 24, `reciprocal.working_days`):
the cached calendar is the package's, to the day; an edit or an upgrade of the package, a corrupt
file, another year's dates or a file others may read are ignored and the calendar is worked out
again; without a cache folder of its own the answer is the same."""
from __future__ import annotations

import json
import os
import stat
import sys
from datetime import date

import pytest

from reciprocal import working_days
from tests.helpers import count_calls
from reciprocal.working_days import add_working_days, bank_holidays


@pytest.fixture
def asked(tmp_path, monkeypatch) -> list[int]:
    """Every year worked out by the package (not read from the cache), with a cache folder of its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    seen: list[int] = count_calls(monkeypatch, working_days, "_from_package")
    _forget()
    yield seen
    _forget()


def _forget() -> None:
    """What this process remembers, so that the next call reads the cache (as a new command would)."""
    bank_holidays.cache_clear()
    working_days._package_key.cache_clear()


def _cache_file(tmp_path):
    files = list((tmp_path / "cache" / "reciprocal" / "working-days").glob("*.json"))
    assert len(files) == 1, files
    return files[0]


def test_a_year_worked_out_once_comes_from_the_cache_the_same(asked, tmp_path):
    first = {year: bank_holidays(year) for year in (2026, 2027)}
    _forget()
    again = {year: bank_holidays(year) for year in (2026, 2027)}
    assert asked == [2026, 2027]  # the second time, both from the cache
    assert again == first == {year: working_days._from_package(year) for year in (2026, 2027)}
    assert date(2026, 12, 28) in again[2026]  # Boxing Day's substitute
    _forget()
    assert add_working_days(date(2026, 12, 23), 3) == date(2026, 12, 30)  # Christmas, Boxing Day (observed)


def test_the_cache_is_readable_by_its_owner_only(asked, tmp_path):
    bank_holidays(2026)
    assert stat.S_IMODE(_cache_file(tmp_path).stat().st_mode) == 0o600
    assert stat.S_IMODE(_cache_file(tmp_path).parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("stored", [
    "not json at all {",
    json.dumps([1, 2, 3]),
    "KEPT_KEY_WITH_YEARS:" + json.dumps({"2026": ["2025-12-25"]}),  # another year's date
    "KEPT_KEY_WITH_YEARS:" + json.dumps({"2026": "2026-12-25"}),  # not a list
    "KEPT_KEY_WITH_YEARS:" + json.dumps({"2026": ["2026-02-30"]}),  # not a date
    "KEPT_KEY_WITH_YEARS:" + json.dumps({"2026": []}) + "FORMAT:2",  # another format
], ids=["garbage", "a list", "another year", "not a list", "not a date", "another format"])
def test_a_corrupt_cache_is_ignored_and_rebuilt(asked, tmp_path, stored):
    right = bank_holidays(2026)
    path = _cache_file(tmp_path)
    if stored.startswith("KEPT_KEY_WITH_YEARS:"):
        years, _, fmt = stored.removeprefix("KEPT_KEY_WITH_YEARS:").partition("FORMAT:")
        kept = json.loads(path.read_text())
        stored = json.dumps({**kept, "years": json.loads(years), "format": int(fmt or kept["format"])})
    path.write_text(stored)
    _forget()
    assert bank_holidays(2026) == right
    assert asked == [2026, 2026]
    _forget()
    assert bank_holidays(2026) == right and asked == [2026, 2026]  # rebuilt: read from the cache again


def test_a_cache_others_may_read_is_ignored(asked, tmp_path):
    bank_holidays(2026)
    os.chmod(_cache_file(tmp_path), 0o644)
    _forget()
    bank_holidays(2026)
    assert asked == [2026, 2026]


def test_an_edit_or_an_upgrade_of_the_package_changes_the_key(tmp_path, monkeypatch):
    """The key is the package's files as found on the path (the real one is not imported)."""
    package = tmp_path / "site" / "holidays"
    (package / "countries").mkdir(parents=True)  # no groups/, calendars/ or mixins/: still a key
    (package / "__init__.py").write_text("")
    (package / "version.py").write_text("__version__ = '1'\n")
    country = package / "countries" / "united_kingdom.py"
    country.write_text("# the calendar\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "holidays", raising=False)

    def key():
        working_days._package_key.cache_clear()
        return working_days._package_key()
    try:
        before = key()
        assert before is not None and key() == before
        os.utime(country, ns=(country.stat().st_atime_ns, country.stat().st_mtime_ns + 1_000_000_000))
        touched = key()
        (package / "version.py").write_text("__version__ = '2'\n")  # an upgrade
        upgraded = key()
        (package / "countries" / "france.py").write_text("")  # another country's calendar: not ours
        assert len({before, touched, upgraded}) == 3 and key() == upgraded
    finally:
        working_days._package_key.cache_clear()


def test_without_a_private_cache_folder_the_calendar_is_the_same(asked, tmp_path):
    (tmp_path / "cache").mkdir(mode=0o755)
    (tmp_path / "cache" / "reciprocal").mkdir(mode=0o755)
    (tmp_path / "cache" / "reciprocal" / "working-days").mkdir(mode=0o755)  # others may enter
    os.chmod(tmp_path / "cache" / "reciprocal" / "working-days", 0o755)
    right = bank_holidays(2026)
    _forget()
    assert bank_holidays(2026) == right == working_days._from_package(2026)
    assert asked == [2026, 2026, 2026]
    assert list((tmp_path / "cache" / "reciprocal" / "working-days").iterdir()) == []
