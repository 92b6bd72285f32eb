"""Writing exports: CSV safe to open in a spreadsheet, Markdown tables, and private files.

A spreadsheet takes a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a
formula (CSV injection). `csv_text` prefixes every such text cell with a single quote, so no cell
is ever run; nothing is stripped first, so " =1" stays as typed (it is not a formula) while
"=1" becomes "'=1". Numbers the engine computed itself (a balance of -2) are written as numbers:
a number is never a formula, and auditors need them to sum.

Files are created readable and writable by their owner only (0o600), like the database: an export
holds case refs and a provider's position.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from reciprocal.errors import InputFileError, Problem, printable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str | int | float:
    """One cell as written: numbers as they are, any other value as safe text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = ";".join(f"{k}={v}" for k, v in value.items())
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(columns: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A whole CSV document (header first), every cell passed through `csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A GitHub-flavoured Markdown table; pipes and line breaks in cells are escaped."""

    def cell(value) -> str:
        kind = type(value)
        if kind is int:  # most cells of a long table: nothing to escape
            return str(value)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        text = str(value)
        if "\\" not in text and "|" not in text and "\r" not in text and "\n" not in text:
            return text
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |",
             "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str, option: str = "--out") -> Path:
    """Write `text` to `path`, readable by its owner only (an existing file is replaced by one
    that is); see `write_private_files`."""
    return write_private_files({Path(path): text}, option)[0]


def write_private_files(files: dict[Path, str | bytes], option: str = "--out") -> list[Path]:
    """Write each text to its path, owner-only. Every path is checked before anything is written
    (a folder, a device, a missing folder, a symbolic link: each named, with `option`); then each
    text goes to a new file beside its path and is renamed over it, so a link is never written
    through and a failure (a full disk) leaves every path as it was and removes what it began."""
    check_writable(list(files), option)
    staged: list[tuple[str, Path]] = []
    where = Path(next(iter(files)))  # the path being written, for the message
    try:
        for path, text in files.items():
            path = where = Path(path)
            fd, part = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
            staged.append((part, path))
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:  # a text, or a workbook's bytes
                handle.write(text.encode("utf-8") if isinstance(text, str) else text)
        for part, where in staged:
            os.replace(part, where)
    except OSError as exc:
        for part, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(part)
        raise InputFileError([Problem(option, f"cannot write {printable(str(where))}: "
                                              f"{exc.strerror or 'the system refused'}")],
                             "nothing was written") from None
    return [Path(path) for path in files]


def check_writable(paths: list[Path], option: str = "--out") -> None:
    """Refuse, naming each, paths an output file cannot be written to; a long command checks its
    `--out` before it starts."""
    problems = [found for found in (_cannot_write(Path(path), option) for path in paths) if found]
    if problems:
        raise InputFileError(problems, "nothing was written")


def _cannot_write(path: Path, option: str) -> Problem | None:
    """Why `path` cannot be written as an output file, or None."""
    shown = printable(str(path))
    if path.is_symlink():
        return Problem(option, f"{shown} is a symbolic link; the engine never writes through a link "
                               f"(give the path of a plain file)")
    if path.is_dir():
        return Problem(option, f"{shown} is a folder; give a file's path (such as {shown}/report.html)")
    if path.exists() and not path.is_file():
        return Problem(option, f"{shown} is not a regular file (a device or a pipe); give the path of a "
                               f"plain file")
    folder = path.parent
    if not folder.exists():
        return Problem(option, f"the folder {printable(str(folder))} does not exist; create it first")
    if not folder.is_dir():
        return Problem(option, f"{printable(str(folder))} is not a folder")
    return None
