"""The MoU config cache (issue 24, `reciprocal.config_cache`): an unchanged scheme comes from the
cache, and any change to its files (an edit, a touch with the same content, a new or a removed
member file, a file replaced by a symlink) is read from the YAML again; a corrupt, foreign or
shared cache is ignored and rebuilt; a folder with problems reports them from its files, with
their lines, whatever the cache holds."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from reciprocal import config, config_cache
from reciprocal.errors import ConfigError

from tests.conftest import CONFIG_DIR
from tests.helpers import count_calls


@pytest.fixture
def cfg(tmp_path, monkeypatch) -> Path:
    """A private copy of the shipped configs, cached from the first file (the shipped scheme is
    below the size that is cached), with a cache folder of its own."""
    target = tmp_path / "mou_configs"
    shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(config_cache.CACHE_ENV, raising=False)
    monkeypatch.setattr(config_cache, "CACHE_FROM_FILES", 0)
    return target


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """Every folder read from its YAML (not from the cache), in order."""
    return count_calls(monkeypatch, config, "_read_configs")


def cache_file(tmp_path) -> Path:
    files = list((tmp_path / "cache" / "reciprocal" / "configs").glob("*.json"))
    assert len(files) == 1, files
    return files[0]


def test_an_unchanged_scheme_comes_from_the_cache_equal_to_its_files(cfg, reads, tmp_path):
    first = config.check_configs(cfg)
    second = config.check_configs(cfg)
    assert reads == [cfg]  # the second came from the cache
    assert second.scheme == first.scheme and second.provider_ids == first.provider_ids
    assert second.problems == []


def test_the_cache_is_readable_by_its_owner_only(cfg, tmp_path):
    config.check_configs(cfg)
    assert stat.S_IMODE(cache_file(tmp_path).stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_file(tmp_path).parent.stat().st_mode) == 0o700


def _edit(cfg: Path) -> None:
    path = cfg / "providers" / "fenland.yaml"
    path.write_text(path.read_text().replace("Fenland District Council", "Fenland District Councils"))


def _touch(cfg: Path) -> None:
    path = cfg / "providers" / "fenland.yaml"
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def _new_member(cfg: Path) -> None:
    text = (cfg / "providers" / "fenland.yaml").read_text()
    (cfg / "providers" / "fenland_two.yaml").write_text(
        text.replace("id: fenland", "id: fenland_two").replace("Fenland District Council", "Fenland Two"))


def _removed_member(cfg: Path) -> None:
    (cfg / "providers" / "wicken_fen_homes.yaml").unlink()


def _symlink(cfg: Path) -> None:
    """The same bytes and modification time, behind a symlink to a file elsewhere."""
    path = cfg / "providers" / "fenland.yaml"
    elsewhere = cfg.parent / "fenland-elsewhere.yaml"
    shutil.copy2(path, elsewhere)
    path.unlink()
    path.symlink_to(elsewhere)


@pytest.mark.parametrize("change", [_edit, _touch, _new_member, _removed_member, _symlink],
                         ids=["edit", "touch with the same content", "new member file", "removed member file",
                              "file replaced by a symlink"])
def test_any_change_to_the_files_is_read_again(change, cfg, reads):
    config.check_configs(cfg)
    change(cfg)
    fresh = config.check_configs(cfg)
    assert reads == [cfg, cfg]
    assert fresh.scheme == config._read_configs(cfg).scheme


def test_an_edit_is_seen(cfg):
    config.check_configs(cfg)
    _edit(cfg)
    assert config.load_scheme(cfg).providers["fenland"].name == "Fenland District Councils"


def test_a_new_problem_is_reported_from_the_file_with_its_line(cfg):
    config.check_configs(cfg)
    path = cfg / "providers" / "fenland.yaml"
    path.write_text(path.read_text().replace("areas: [fenland]", "areas: [fenland, norfolk]"))
    with pytest.raises(ConfigError) as raised:
        config.load_scheme(cfg)
    assert [(p.source, p.line, p.field) for p in raised.value.problems] == [
        ("mou_configs/providers/fenland.yaml", 4, "areas[1]")]


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"\xff\xfe", b'{"format": 1, "root": "/", "key": [], '
                                     b'"data": {}}', b'[1, 2]'],
                         ids=["empty", "not JSON", "not UTF-8", "another folder's", "not an object"])
def test_a_corrupt_or_foreign_cache_is_ignored_and_rebuilt(garbage, cfg, reads, tmp_path):
    first = config.check_configs(cfg)
    cache_file(tmp_path).write_bytes(garbage)
    assert config.check_configs(cfg).scheme == first.scheme
    config.check_configs(cfg)
    assert reads == [cfg, cfg]  # read again once, then from the rebuilt cache


def test_a_cache_whose_configs_do_not_validate_is_ignored(cfg, reads, tmp_path):
    first = config.check_configs(cfg)
    path = cache_file(tmp_path)
    text = path.read_text()
    assert '"max_debt": 2' in text
    path.write_text(text.replace('"max_debt": 2', '"max_debt": "lots"'))
    assert config.check_configs(cfg).scheme == first.scheme
    assert reads == [cfg, cfg]


def test_a_cache_for_another_folder_is_not_used(cfg, reads, tmp_path):
    config.check_configs(cfg)
    other = tmp_path / "other" / "mou_configs"
    shutil.copytree(cfg, other)
    config.check_configs(other)
    assert reads == [cfg, other]


def test_a_cache_others_may_read_or_another_user_owns_is_ignored(cfg, reads, tmp_path):
    config.check_configs(cfg)
    path = cache_file(tmp_path)
    path.chmod(0o644)
    config.check_configs(cfg)  # ignored, and replaced by a private one
    assert stat.S_IMODE(cache_file(tmp_path).stat().st_mode) == 0o600
    if os.getuid() == 0:  # only root can give a file away
        os.chown(cache_file(tmp_path), 12345, 12345)
        config.check_configs(cfg)
        assert reads == [cfg, cfg, cfg]
    else:
        assert reads == [cfg, cfg]


def test_a_cache_folder_others_may_enter_is_not_used(cfg, reads, tmp_path):
    config.check_configs(cfg)
    cache_file(tmp_path).parent.chmod(0o755)
    config.check_configs(cfg)
    assert reads == [cfg, cfg]


def test_the_cache_can_be_turned_off(cfg, reads, tmp_path, monkeypatch):
    monkeypatch.setenv(config_cache.CACHE_ENV, "off")
    config.check_configs(cfg)
    config.check_configs(cfg)
    assert reads == [cfg, cfg]
    assert not (tmp_path / "cache" / "reciprocal" / "configs").exists()


def test_a_small_scheme_is_not_cached(cfg, reads, tmp_path, monkeypatch):
    monkeypatch.setattr(config_cache, "CACHE_FROM_FILES", 100)
    config.check_configs(cfg)
    config.check_configs(cfg)
    assert reads == [cfg, cfg]
