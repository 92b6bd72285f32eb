"""MoU configs (SPEC section 3): the shipped example loads, and every kind of broken config is
reported with file, line, key path and reason, all problems at once."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pydantic import ValidationError

from reciprocal.config import OBJECTIVE_NAMES, PriorityTerms, SchemeConfig, default_config_dir, load_scheme
from reciprocal.domain import MAX_BEDROOMS, Risk
from reciprocal.errors import ConfigError, IntegrityError

from tests.conftest import CONFIG_DIR
from tests.helpers import reciprocal

DISTRICTS = {
    "cambridge_city": ("cambridge", "Cambridge City Council"),
    "east_cambridgeshire": ("east_cambridgeshire", "East Cambridgeshire District Council"),
    "fenland": ("fenland", "Fenland District Council"),
    "huntingdonshire": ("huntingdonshire", "Huntingdonshire District Council"),
    "south_cambridgeshire": ("south_cambridgeshire", "South Cambridgeshire District Council"),
    "peterborough_city": ("peterborough", "Peterborough City Council"),
}
FENLAND = "mou_configs/providers/fenland.yaml"
SCHEME = "mou_configs/scheme.yaml"


# -- helpers ------------------------------------------------------------------------------------

@pytest.fixture
def cfg(tmp_path) -> Path:
    """A private copy of the shipped configs, to break."""
    target = tmp_path / "mou_configs"
    shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not unique in {path}"
    path.write_text(text.replace(old, new))


def append(path: Path, text: str) -> None:
    body = path.read_text()
    assert body.endswith("\n")
    path.write_text(body + text)


def problems_of(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_scheme(config_dir)
    return [str(p) for p in info.value.problems]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The real command in a process of its own (tests.helpers), in `cwd`; never a traceback."""
    return reciprocal(*args, db=cwd / "r.db", cwd=cwd, config=None)


# -- the shipped example ------------------------------------------------------------------------

def test_shipped_config_loads(scheme):
    assert len(scheme.providers) == 16
    assert len(scheme.config.areas) == 6
    assert scheme.id == "cambs-peterborough"
    assert list(scheme.config.matching.objectives) == list(OBJECTIVE_NAMES)


def test_shipped_neighbour_graph_is_symmetric_and_connected(scheme):
    areas = scheme.config.areas
    for area, spec in areas.items():
        assert area not in spec.neighbours
        for n in spec.neighbours:
            assert n in areas
            assert area in areas[n].neighbours, f"{area} -> {n} is not symmetric"
    import networkx as nx
    assert nx.is_connected(scheme.area_graph)
    # Real borders: Cambridge touches only South Cambridgeshire; Peterborough does not touch it.
    assert set(areas["cambridge"].neighbours) == {"south_cambridgeshire"}
    assert "cambridge" not in scheme.within_buffer(["peterborough"], hops=1)


def test_shipped_config_has_the_six_real_districts(scheme):
    for pid, (area, name) in DISTRICTS.items():
        provider = scheme.providers[pid]
        assert provider.kind == "local_authority"
        assert provider.name == name
        assert provider.areas == [area]
        assert area in scheme.config.areas
    kinds = [p.kind for p in scheme.providers.values()]
    assert kinds.count("local_authority") == 6
    assert kinds.count("housing_association") == 10


def test_every_housing_association_is_clearly_fictional(scheme):
    associations = [p for p in scheme.providers.values() if p.kind == "housing_association"]
    assert len(associations) == 10
    for p in associations:
        assert "(fictional)" in p.name, p.name


def test_provider_file_names_match_ids():
    for path in (CONFIG_DIR / "providers").glob("*.yaml"):
        assert path.read_text().startswith(f"id: {path.stem}\n")


# -- each kind of broken config, with the exact line reported ------------------------------------

def test_unknown_key_in_provider_file(cfg):
    append(cfg / "providers/fenland.yaml", "colour: blue\n")
    assert problems_of(cfg) == [f"{FENLAND}:19: colour: unknown key"]


def test_wrong_type(cfg):
    append(cfg / "providers/fenland.yaml", "max_debt: two\n")
    assert problems_of(cfg) == [
        f"{FENLAND}:19: max_debt: Input should be a valid integer, unable to parse string as an integer"]


def test_wrong_type_nested_in_scheme(cfg):
    edit(cfg / "scheme.yaml", "max_debt: 2 ", "max_debt: two ")
    assert problems_of(cfg) == [
        f"{SCHEME}:38: fairness.max_debt: Input should be a valid integer, unable to parse string "
        f"as an integer"]


def test_duplicate_yaml_key(cfg):
    append(cfg / "providers/fenland.yaml", "kind: housing_association\n")
    assert problems_of(cfg) == [f"{FENLAND}:19: kind: duplicate key 'kind' (first on line 3)"]


def test_provider_names_an_area_the_scheme_lacks(cfg):
    edit(cfg / "providers/fenland.yaml", "areas: [fenland]", "areas: [fenland, norfolk]")
    assert problems_of(cfg) == [
        f"{FENLAND}:4: areas[1]: unknown area 'norfolk' (the scheme has: cambridge, "
        f"south_cambridgeshire, east_cambridgeshire, fenland, huntingdonshire, peterborough)"]


def test_two_files_with_one_id(cfg):
    shutil.copy(cfg / "providers/fenland.yaml", cfg / "providers/fenland_copy.yaml")
    assert problems_of(cfg) == [
        "mou_configs/providers/fenland_copy.yaml:1: id: provider id 'fenland' is also used by "
        f"{FENLAND}"]


def test_file_name_must_match_id(cfg):
    (cfg / "providers/fenland.yaml").rename(cfg / "providers/fen.yaml")
    assert problems_of(cfg) == [
        "mou_configs/providers/fen.yaml:1: id: file name must be fenland.yaml to match its id"]


def test_unknown_objective(cfg):
    edit(cfg / "scheme.yaml", "    - preference_fit\n", "    - preference_fit\n    - happiness\n")
    assert problems_of(cfg) == [
        f"{SCHEME}:49: matching.objectives: unknown objective(s) happiness; known: high_risk_moved, "
        f"households_moved, longest_waiting, ledger_imbalance, preference_fit"]


def test_objective_listed_twice(cfg):
    edit(cfg / "scheme.yaml", "    - preference_fit\n", "    - preference_fit\n    - households_moved\n")
    assert problems_of(cfg) == [f"{SCHEME}:49: matching.objectives: an objective is listed twice: households_moved"]


def test_asymmetric_neighbours(cfg):
    # Peterborough no longer lists Fenland, though Fenland lists Peterborough.
    edit(cfg / "scheme.yaml", "neighbours: [huntingdonshire, fenland]", "neighbours: [huntingdonshire]")
    assert problems_of(cfg) == [
        f"{SCHEME}:20: areas.fenland.neighbours[2]: neighbours must be symmetric: 'peterborough' "
        f"does not list 'fenland'"]


def test_neighbour_that_is_not_an_area(cfg):
    edit(cfg / "scheme.yaml", "neighbours: [south_cambridgeshire]\n",
         "neighbours: [south_cambridgeshire, norfolk]\n")
    assert problems_of(cfg) == [f"{SCHEME}:11: areas.cambridge.neighbours[1]: unknown area 'norfolk'"]


def test_tabs_for_indentation(cfg):
    edit(cfg / "providers/fenland.yaml", "offer_commitment:\n  offers_per_year",
         "offer_commitment:\n\toffers_per_year")
    assert problems_of(cfg) == [
        f"{FENLAND}:15: not valid YAML: tabs are not allowed for indentation; use spaces"]


def test_alias_is_refused_at_the_line_that_uses_it(cfg):
    edit(cfg / "providers/fenland.yaml", "offers_per_year: 2", "offers_per_year: &n 2")
    append(cfg / "providers/fenland.yaml", "max_debt: *n\n")
    assert problems_of(cfg) == [
        f"{FENLAND}:19: max_debt: anchors and aliases are not allowed in MoU configs"]


def test_merge_key_is_refused(cfg):
    edit(cfg / "providers/fenland.yaml", "grants:\n", "base: &g {secure: secure}\ngrants:\n  <<: *g\n")
    found = problems_of(cfg)
    assert f"{FENLAND}:8: grants: merge keys (<<) are not allowed in MoU configs" in found
    assert f"{FENLAND}:6: base: unknown key" in found


def test_file_over_one_megabyte_is_refused(cfg):
    path = cfg / "providers/fenland.yaml"
    text = path.read_text()
    pad = 1_000_001 - len(text.encode()) - len("# \n")
    path.write_text(text + "# " + "x" * pad + "\n")
    assert path.stat().st_size == 1_000_001
    assert problems_of(cfg) == [
        f"{FENLAND}: file is 1,000,001 bytes; MoU configs are limited to 1,000,000 bytes"]


def test_file_of_exactly_one_megabyte_is_accepted(cfg):
    path = cfg / "providers/fenland.yaml"
    text = path.read_text()
    path.write_text(text + "# " + "x" * (1_000_000 - len(text.encode()) - 3) + "\n")
    assert path.stat().st_size == 1_000_000
    assert len(load_scheme(cfg).providers) == 16


def test_missing_required_key(cfg):
    edit(cfg / "providers/fenland.yaml", "joined: 2019-04-01\n", "")
    assert problems_of(cfg) == [f"{FENLAND}:1: joined: required key is missing"]


def break_several(cfg: Path) -> list[str]:
    """Four problems in four files; returns the exact lines expected, in report order."""
    edit(cfg / "scheme.yaml", "max_debt: 2 ", "max_debt: two ")
    edit(cfg / "providers/cambridge_city.yaml", "areas: [cambridge]", "areas: [cambridge, atlantis]")
    append(cfg / "providers/fenland.yaml", "colour: blue\n")
    append(cfg / "providers/peterborough_city.yaml", "status: suspended\n")
    return [
        f"{SCHEME}:38: fairness.max_debt: Input should be a valid integer, unable to parse string as "
        f"an integer",
        "mou_configs/providers/cambridge_city.yaml:4: areas[1]: unknown area 'atlantis' (the scheme has: "
        "cambridge, south_cambridgeshire, east_cambridgeshire, fenland, huntingdonshire, peterborough)",
        f"{FENLAND}:19: colour: unknown key",
        "mou_configs/providers/peterborough_city.yaml:19: status: duplicate key 'status' "
        "(first on line 16)",
    ]


def test_several_errors_in_several_files_are_reported_at_once(cfg):
    expected = break_several(cfg)
    with pytest.raises(ConfigError) as info:
        load_scheme(cfg)
    error = info.value
    assert [str(p) for p in error.problems] == expected
    assert {p.source for p in error.problems} == {
        SCHEME, "mou_configs/providers/cambridge_city.yaml", FENLAND,
        "mou_configs/providers/peterborough_city.yaml"}
    assert all(p.line and p.field for p in error.problems)
    assert error.exit_code == 2
    lines = error.message.splitlines()
    assert lines[0] == f"4 problem(s) in the MoU configs in {cfg}"
    assert lines[1:] == [f"  {e}" for e in expected]


def test_missing_scheme_file(tmp_path):
    problems = problems_of(tmp_path)
    assert problems == [f"{tmp_path / 'scheme.yaml'}: scheme.yaml not found"]


# -- the commands -------------------------------------------------------------------------------

def test_cli_config_validate_good(tmp_path):
    proc = run_cli("--config", str(CONFIG_DIR), "config", "validate", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "OK: Cambridgeshire & Peterborough Managed Reciprocal: 6 areas, 16 providers" in proc.stdout
    assert proc.stderr == ""


def test_cli_config_validate_reports_every_problem(cfg):
    expected = break_several(cfg)
    proc = run_cli("--config", str(cfg), "config", "validate", cwd=cfg.parent)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    # One problem per line (never wrapped), so editors and scripts can jump to file:line.
    assert lines == [f"4 problem(s) in the MoU configs in {cfg}", *[f"  {e}" for e in expected]]
    assert "OK" not in proc.stdout


def test_cli_config_schema_is_json_with_both_file_kinds(tmp_path):
    proc = run_cli("config", "schema", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert {"SchemeConfig", "ProviderConfig"} <= set(schema["$defs"])
    provider = schema["$defs"]["ProviderConfig"]
    assert provider["additionalProperties"] is False
    assert {"id", "name", "kind", "areas", "grants", "joined"} <= set(provider["required"])
    assert set(provider["properties"]["kind"]["enum"]) == {"local_authority", "housing_association"}
    assert "areas" in schema["$defs"]["SchemeConfig"]["properties"]


# -- issue 12: the risk order is the product's, bands cover every size once, every problem at once

REVERSED = "must be [high, medium, standard] (most urgent first) or left out: the order is fixed by the product"


def test_reversed_risk_levels_are_refused_with_file_line_and_key(cfg):
    edit(cfg / "scheme.yaml", "risk_levels: [high, medium, standard]", "risk_levels: [standard, medium, high]")
    [problem] = problems_of(cfg)
    assert problem.startswith(f"{SCHEME}:60: priority.risk_levels: {REVERSED}")
    assert "the risk gate and the priority order read it" in problem
    assert problem.endswith("(got [standard, medium, high])")


@pytest.mark.parametrize("levels", ["[high, medium]", "[high, high, medium, standard]", "[medium, high, standard]"])
def test_any_other_risk_list_is_refused(cfg, levels):
    edit(cfg / "scheme.yaml", "risk_levels: [high, medium, standard]", f"risk_levels: {levels}")
    [problem] = problems_of(cfg)
    assert problem.startswith(f"{SCHEME}:60: priority.risk_levels: {REVERSED}")


def test_risk_levels_may_be_left_out(cfg):
    edit(cfg / "scheme.yaml", "  risk_levels: [high, medium, standard]\n", "")
    scheme = load_scheme(cfg)
    assert [scheme.risk_rank(r) for r in (Risk.high, Risk.medium, Risk.standard)] == [0, 1, 2]


def test_a_scheme_built_in_code_cannot_have_another_risk_order(scheme):
    with pytest.raises(ValidationError, match="fixed by the product"):
        PriorityTerms(risk_levels=[Risk.standard, Risk.medium, Risk.high])
    data = scheme.config.model_dump()
    data["priority"]["risk_levels"] = ["standard", "medium", "high"]
    with pytest.raises(ValidationError, match="fixed by the product"):
        SchemeConfig.model_validate(data)


@pytest.mark.parametrize("old, new, sizes", [
    ("{name: 3+ bed, min_bedrooms: 3,", "{name: 3+ bed, min_bedrooms: 5,", "3 to 4 bedrooms"),
    ("min_bedrooms: 3, max_bedrooms: 20}", "min_bedrooms: 3, max_bedrooms: 9}", "10 bedrooms"),
])
def test_bands_with_a_gap_are_refused_naming_the_sizes(cfg, old, new, sizes):
    edit(cfg / "scheme.yaml", old, new)
    assert problems_of(cfg) == [
        f"{SCHEME}:39: fairness.bands: no band covers {sizes}; bands must cover 0 to 10 bedrooms exactly once"]


def test_overlapping_bands_are_refused_naming_the_sizes(cfg):
    edit(cfg / "scheme.yaml", "{name: 0-1 bed, min_bedrooms: 0, max_bedrooms: 1}",
         "{name: 0-1 bed, min_bedrooms: 0, max_bedrooms: 3}")
    assert problems_of(cfg) == [
        f"{SCHEME}:41: fairness.bands[1]: bands '0-1 bed' and '2 bed' overlap: both cover 2 bedrooms; "
        f"each size must be in exactly one band",
        f"{SCHEME}:42: fairness.bands[2]: bands '0-1 bed' and '3+ bed' overlap: both cover 3 bedrooms; "
        f"each size must be in exactly one band"]


def test_two_bands_with_one_name_are_refused(cfg):
    edit(cfg / "scheme.yaml", "{name: 2 bed,", "{name: 0-1 bed,")
    assert problems_of(cfg) == [
        f"{SCHEME}:41: fairness.bands[1].name: band name '0-1 bed' is also used by fairness.bands[0]"]


def test_without_bands_one_declared_band_holds_every_size(cfg):
    edit(cfg / "scheme.yaml", "  bands:\n    - {name: 0-1 bed, min_bedrooms: 0, max_bedrooms: 1}\n"
         "    - {name: 2 bed, min_bedrooms: 2, max_bedrooms: 2}\n"
         "    - {name: 3+ bed, min_bedrooms: 3, max_bedrooms: 20}\n", "")
    scheme = load_scheme(cfg)
    assert [(b.name, b.min_bedrooms, b.max_bedrooms) for b in scheme.config.fairness.bands] == [
        ("all", 0, MAX_BEDROOMS)]
    assert {scheme.band_of(n) for n in range(MAX_BEDROOMS + 1)} == {"all"}
    with pytest.raises(IntegrityError, match="no ledger band .* covers 11 bedrooms"):
        scheme.band_of(MAX_BEDROOMS + 1)


def test_a_scheme_built_in_code_cannot_have_a_gap_in_its_bands(scheme):
    data = scheme.config.model_dump()
    data["fairness"]["bands"] = data["fairness"]["bands"][:2]
    with pytest.raises(ValidationError, match="no band covers 3 to 10 bedrooms"):
        SchemeConfig.model_validate(data)


def break_everything(cfg: Path) -> list[str]:
    """One problem of each kind the issue found one per run, plus wrong types in two sections."""
    edit(cfg / "scheme.yaml", "neighbours: [huntingdonshire, fenland]", "neighbours: [huntingdonshire]")
    edit(cfg / "scheme.yaml", "    - preference_fit\n", "    - preference_fit\n    - households_moved\n")
    edit(cfg / "scheme.yaml", "{name: 2 bed, min_bedrooms: 2, max_bedrooms: 2}",
         "{name: 2 bed, min_bedrooms: 1, max_bedrooms: 2}")
    edit(cfg / "scheme.yaml", "max_debt: 2 ", "max_debt: two ")
    edit(cfg / "scheme.yaml", "offer_horizon_days: 28 ", "offer_horizon_days: soon ")
    edit(cfg / "providers/fenland.yaml", "areas: [fenland]", "areas: [fenland, norfolk]")
    return [
        f"{SCHEME}:20: areas.fenland.neighbours[2]: neighbours must be symmetric: 'peterborough' "
        f"does not list 'fenland'",
        f"{SCHEME}:38: fairness.max_debt: Input should be a valid integer, unable to parse string as "
        f"an integer",
        f"{SCHEME}:41: fairness.bands[1]: bands '0-1 bed' and '2 bed' overlap: both cover 1 bedroom; "
        f"each size must be in exactly one band",
        f"{SCHEME}:49: matching.objectives: an objective is listed twice: households_moved",
        f"{SCHEME}:65: rounds.offer_horizon_days: Input should be a valid integer, unable to parse "
        f"string as an integer",
        f"{FENLAND}:4: areas[1]: unknown area 'norfolk' (the scheme has: cambridge, "
        f"south_cambridgeshire, east_cambridgeshire, fenland, huntingdonshire, peterborough)",
    ]


def test_every_scheme_level_problem_is_reported_beside_type_errors(cfg):
    expected = break_everything(cfg)
    assert problems_of(cfg) == expected


def test_a_wrong_type_in_one_area_or_band_hides_nothing_in_the_others(cfg):
    edit(cfg / "scheme.yaml", "    name: Cambridge\n", "    name: [Cambridge]\n")
    edit(cfg / "scheme.yaml", "neighbours: [huntingdonshire, fenland]", "neighbours: [huntingdonshire]")
    edit(cfg / "scheme.yaml", "{name: 0-1 bed, min_bedrooms: 0,", "{name: 0-1 bed, min_bedrooms: none,")
    edit(cfg / "scheme.yaml", "{name: 2 bed, min_bedrooms: 2,", "{name: 2 bed, min_bedrooms: 3,")
    assert problems_of(cfg) == [
        f"{SCHEME}:10: areas.cambridge.name: Input should be a valid string",
        f"{SCHEME}:20: areas.fenland.neighbours[2]: neighbours must be symmetric: 'peterborough' "
        f"does not list 'fenland'",
        f"{SCHEME}:40: fairness.bands[0].min_bedrooms: Input should be a valid integer, unable to parse "
        f"string as an integer",
        f"{SCHEME}:41: fairness.bands[1]: min_bedrooms is above max_bedrooms",
    ]


def test_cli_config_validate_names_the_folder_and_reports_everything_in_one_run(cfg):
    expected = break_everything(cfg)
    proc = run_cli("--config", str(cfg), "config", "validate", cwd=cfg.parent)
    assert proc.returncode == 2
    assert proc.stdout.splitlines() == [f"MoU configs: {cfg}"]
    assert proc.stderr.splitlines() == [f"{len(expected)} problem(s) in the MoU configs in {cfg}",
                                        *[f"  {e}" for e in expected]]


def test_cli_config_validate_refuses_reversed_risk_levels(cfg):
    edit(cfg / "scheme.yaml", "risk_levels: [high, medium, standard]", "risk_levels: [standard, medium, high]")
    proc = run_cli("--config", str(cfg), "config", "validate", cwd=cfg.parent)
    assert proc.returncode == 2
    assert f"  {SCHEME}:60: priority.risk_levels: {REVERSED}" in proc.stderr
    assert "OK" not in proc.stdout


# -- which folder is in use ----------------------------------------------------------------------

def test_no_config_folder_is_an_error_naming_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECIPROCAL_CONFIG_DIR", raising=False)
    with pytest.raises(ConfigError) as info:
        load_scheme()
    assert "--config FOLDER" in info.value.message and "RECIPROCAL_CONFIG_DIR" in info.value.message
    assert [str(p) for p in info.value.problems] == [
        f"{tmp_path / 'mou_configs' / 'scheme.yaml'}: not found (looked here: no --config given and "
        f"$RECIPROCAL_CONFIG_DIR not set)"]


def test_the_environment_and_then_the_working_folder_name_the_configs(cfg, monkeypatch):
    monkeypatch.delenv("RECIPROCAL_CONFIG_DIR", raising=False)
    monkeypatch.chdir(cfg.parent)
    assert default_config_dir() == cfg
    monkeypatch.setenv("RECIPROCAL_CONFIG_DIR", str(CONFIG_DIR))
    assert default_config_dir() == CONFIG_DIR
