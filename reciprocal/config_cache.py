"""The MoU configs of a large scheme, kept read: a cache of the validated configs, per user.

A national scheme has 1,500 member files; parsing and validating them takes every command about a
second. After a clean read, `reciprocal.config.check_configs` stores the validated configs here;
the next command reads them back if nothing has changed. What "nothing" means is the fingerprint:
every file's path, type (a symlink is not the file it replaced), size, modification time and
content hash, the list of files (a new or a removed member file changes it) and the code that
validates them. Any difference, and the configs are read from the YAML again. A folder with
problems is never stored, so its problems are always reported from the files themselves, with
their lines.

The cache lives in the user's cache folder (`$XDG_CACHE_HOME/reciprocal`, else
`~/.cache/reciprocal`), a folder only its owner may enter, each file readable by its owner only.
A cache that is not the user's own (another owner, readable or writable by others), that does not
parse, or that was written for another folder or another fingerprint is ignored and rebuilt.
`RECIPROCAL_CONFIG_CACHE=off` turns it off. Small schemes, read in a few milliseconds, are not
cached at all.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

from reciprocal.user_cache import private_folder, read_private, write_private
from reciprocal.yaml_source import _read_small_file

FORMAT = 1
# Below this many config files the YAML is read faster than the fingerprint pays for itself.
CACHE_FROM_FILES = 100
CACHE_ENV = "RECIPROCAL_CONFIG_CACHE"

Fingerprint = list[list]


def cache_folder() -> Path | None:
    """The user's own cache folder for configs, made if needed; None if caching is off or the
    folder is not private to this user (then nothing is read from it or written to it)."""
    if os.environ.get(CACHE_ENV, "").lower() in ("off", "0", "no", "false"):
        return None
    return private_folder("configs")


def _code() -> str:
    """The code that reads and validates the configs: a cache written by other code is not used."""
    from reciprocal import config, domain, yaml_source
    digest = hashlib.sha256()
    for module in (config, domain, yaml_source):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def fingerprint(root: Path, files: list[Path]) -> Fingerprint | None:
    """Every config file's path, type, size, modification time and content hash, in order, with
    the code's hash first; None if a file is not a plain readable file (the full read says why)."""
    found: Fingerprint = [["code", _code()]]
    for path in files:
        try:
            link = os.lstat(path)
        except OSError:
            return None
        raw, problem = _read_small_file(path)
        if problem is not None:
            return None
        target = os.stat(path)
        found.append([str(path.relative_to(root)), stat.S_IFMT(link.st_mode), link.st_ino, target.st_ino,
                      target.st_size, target.st_mtime_ns, hashlib.sha256(raw).hexdigest()])
    return found


def _file_for(folder: Path, root: Path) -> Path:
    return folder / (hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:32] + ".json")


def load(root: Path, key: Fingerprint) -> dict | None:
    """The configs stored for `root` under exactly this fingerprint, or None."""
    folder = cache_folder()
    if folder is None:
        return None
    raw = read_private(_file_for(folder, root))
    if raw is None:
        return None
    try:
        stored = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if (not isinstance(stored, dict) or stored.get("format") != FORMAT
            or stored.get("root") != str(root.resolve()) or stored.get("key") != key
            or not isinstance(stored.get("data"), dict)):
        return None
    return stored["data"]


def store(root: Path, key: Fingerprint, data: dict) -> None:
    """Keep `data` (plain JSON) for `root` under `key`, readable by its owner only. Written to a
    new file then renamed over the old, so a reader never sees half of it; a failure to write
    costs the next command a full read, nothing more."""
    folder = cache_folder()
    if folder is None:
        return
    text = json.dumps({"format": FORMAT, "root": str(root.resolve()), "key": key, "data": data})
    write_private(_file_for(folder, root), text)
