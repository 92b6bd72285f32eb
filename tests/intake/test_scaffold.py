"""`reciprocal config init`: a new scheme's folder that validates as written, CSV templates the
readers accept, ids checked as config ids are, and never a file overwritten."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reciprocal.config import LifecycleTerms, MatchingTerms, PriorityTerms, RoundTerms, load_scheme
from reciprocal.intake.readers import OFFER_COLUMNS, REQUEST_COLUMNS, read_offers, read_requests
from reciprocal.scaffold import ScaffoldError, parse_ids, plan, scheme_id_for, write

from tests.helpers import reciprocal

JOINED = date(2026, 11, 28)


def scaffold(folder, areas=("north", "south"), members=("north_council", "riverside_homes")):
    return write(folder, plan("new-scheme", None, list(areas), list(members), JOINED))


def test_the_written_folder_loads_with_the_models_defaults(tmp_path):
    scaffold(tmp_path / "s")
    scheme = load_scheme(tmp_path / "s")
    assert scheme.id == "new-scheme"
    assert list(scheme.config.areas) == ["north", "south"]
    assert all(a.neighbours == [] for a in scheme.config.areas.values())
    assert sorted(scheme.providers) == ["north_council", "riverside_homes"]
    assert scheme.providers["north_council"].areas == ["north", "south"]
    assert scheme.providers["north_council"].joined == JOINED
    assert scheme.config.matching == MatchingTerms()
    assert scheme.config.priority == PriorityTerms()
    assert scheme.config.rounds == RoundTerms()
    assert scheme.config.lifecycle == LifecycleTerms()
    covered = sorted(n for b in scheme.config.fairness.bands for n in range(b.min_bedrooms, b.max_bedrooms + 1))
    assert covered == list(range(11))  # bands cover 0..10 bedrooms exactly once
    text = (tmp_path / "s" / "scheme.yaml").read_text()
    assert "symmetrically" in text and "docs/config.md" in text


def test_ids_that_yaml_would_read_as_other_things_stay_strings(tmp_path):
    scaffold(tmp_path / "s", areas=("no", "1", "null", "on"), members=("true", "2"))
    scheme = load_scheme(tmp_path / "s")
    assert list(scheme.config.areas) == ["no", "1", "null", "on"]
    assert sorted(scheme.providers) == ["2", "true"]


def test_templates_hold_every_column_required_first_and_the_readers_accept_them(tmp_path):
    folder = tmp_path / "s"
    scaffold(folder)
    for name, columns in (("offers.csv", OFFER_COLUMNS), ("requests.csv", REQUEST_COLUMNS)):
        header = (folder / "templates" / name).read_text().strip().split(",")
        assert sorted(header) == sorted(c.name for c in columns)
        required = [c.name for c in columns if c.required]
        assert header[:len(required)] == required
    scheme = load_scheme(folder)
    offers = folder / "templates" / "offers.csv"
    with offers.open("a", newline="") as handle:
        handle.write("OF-1,north_council,north,2,flat,2026-12-01" + "," * 9 + "\r\n")
    assert [o.ref for _, o in read_offers(offers, scheme)] == ["OF-1"]
    requests = folder / "templates" / "requests.csv"
    with requests.open("a", newline="") as handle:
        handle.write("RQ-1,riverside_homes,survivor,secure,2,high,2026-11-01" + "," * 9 + "\r\n")
    assert [r.ref for _, r in read_requests(requests, scheme)] == ["RQ-1"]
    readme = (folder / "templates" / "README.txt").read_text()
    assert all(c.name in readme for c in OFFER_COLUMNS + REQUEST_COLUMNS)


def test_an_existing_scheme_is_never_overwritten_and_nothing_is_written(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "scheme.yaml").write_text("mine\n")
    with pytest.raises(ScaffoldError) as info:
        scaffold(folder)
    assert "scheme.yaml: already exists" in info.value.message
    assert (folder / "scheme.yaml").read_text() == "mine\n"
    assert sorted(p.name for p in folder.rglob("*")) == ["scheme.yaml"]


def test_a_dangling_link_where_a_file_goes_is_named_and_nothing_is_written(tmp_path):
    """Issue 20 item 13: scheme.yaml was written, then the dangling link ended in an internal
    error. Everything is checked first; a link, a file where a folder goes, each is named."""
    folder = tmp_path / "s"
    (folder / "providers").mkdir(parents=True)
    (folder / "providers" / "north_council.yaml").symlink_to(tmp_path / "nowhere.yaml")
    (folder / "templates").write_text("a file where a folder goes\n")
    with pytest.raises(ScaffoldError) as info:
        scaffold(folder)
    said = [str(p) for p in info.value.problems]
    assert said == [f"{folder / 'templates'}: is a file or a link, not a folder; config init writes only "
                    f"into real folders",
                    f"{folder / 'providers' / 'north_council.yaml'}: already exists (a symbolic link); config "
                    f"init never overwrites a file (choose a new folder, or move it away)"]
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == [
        "providers", "providers/north_council.yaml", "templates"]
    assert not (tmp_path / "nowhere.yaml").exists()


def test_a_failure_while_writing_removes_what_was_written(tmp_path, monkeypatch):
    folder = tmp_path / "new" / "s"
    real_open = Path.open

    def open_until_templates(self, *args, **kwargs):
        if self.parent.name == "templates":
            raise OSError(28, "No space left on device", str(self))
        return real_open(self, *args, **kwargs)
    monkeypatch.setattr(Path, "open", open_until_templates)
    with pytest.raises(ScaffoldError) as info:
        scaffold(folder)
    assert "No space left on device" in str(info.value) and "config init wrote nothing" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # the files written and the folders made are gone


def test_ids_are_checked_as_config_ids():
    ids, problems = parse_ids("north, South Cambs,north,../x", "--areas", ())
    assert ids == ["north", "South Cambs", "north", "../x"]
    assert [p.field for p in problems] == [None, None, None]
    text = [str(p) for p in problems]
    assert any("'South Cambs' is not an id" in t for t in text)
    assert any("'../x' is not an id" in t for t in text)
    assert any("'north' is listed twice" in t for t in text)
    assert parse_ids(None, "--areas", ("a",)) == (["a"], [])
    assert parse_ids(" , ", "--members", ())[1][0].message == "give at least one id"


def test_scheme_id_comes_from_the_folder_name(tmp_path):
    assert scheme_id_for(tmp_path / "My Scheme") == "my-scheme"


def test_cli_init_then_validate_and_a_second_init_refuses(tmp_path):
    folder = tmp_path / "kent"
    made = reciprocal("config", "init", str(folder), "--areas", "ashford,dover", "--members",
                      "ashford_bc,dover_dc,orbit_homes", db=None, config=None, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "providers/orbit_homes.yaml" in made.stdout and "config validate" in made.stdout
    valid = reciprocal("config", "validate", db=None, config=folder, cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr
    assert "kent" in valid.stdout and "2 areas, 3 providers" in valid.stdout
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    again = reciprocal("config", "init", str(folder), db=None, config=None, cwd=tmp_path)
    assert again.returncode == 2
    assert "scheme.yaml: already exists" in again.stderr and "wrote nothing" in again.stderr
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    bad = reciprocal("config", "init", str(tmp_path / "x"), "--members", "Bad Member", db=None,
                     config=None, cwd=tmp_path)
    assert bad.returncode == 2 and "'Bad Member' is not an id" in bad.stderr
    assert not (tmp_path / "x").exists()
