"""The user's own cache folder: what a command worked out once and the next may read back.

It is `$XDG_CACHE_HOME/reciprocal` (else `~/.cache/reciprocal`), a folder only its owner may enter,
each file in it readable by its owner only. A folder or a file that is not the user's own (another
owner, readable or writable by others, a symlink, not a plain file) is neither read nor written:
the caller works the answer out again. Every file is written whole to a new file then renamed over
the old, so a reader never sees half of one; a failure to write costs the next command the work,
nothing more. What each file holds and when it is stale is its caller's business
(`reciprocal.config_cache`, `reciprocal.working_days`).
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def private_folder(name: str) -> Path | None:
    """`name` in the user's cache folder, made if needed; None if it is not private to this user."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "reciprocal" / name
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return folder


def read_private(path: Path) -> bytes | None:
    """The bytes of `path` if it is a plain file of this user's readable by them only, else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            return None  # not this user's own: ignored, and replaced by the next write
        return handle.read()


def write_private(path: Path, text: str) -> None:
    """Replace `path` (in a folder from `private_folder`) with `text`, readable by its owner only."""
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".new-", suffix=".tmp")  # mode 0600
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
