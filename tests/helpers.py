"""Helpers shared by test files: the real `reciprocal` command run in processes of its own (one, or
several at once), and CSV files of valid offers for it to import."""
from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

from reciprocal.config import load_scheme
from tests.conftest import CONFIG_DIR, shared_launcher


# -- the real command, in processes of its own ------------------------------------------------------
# Each command is a real process running the real entry point with its own argv, working folder,
# stdout, stderr and exit code, forked by the session's launcher (conftest) after every import is
# done, rather than a new interpreter paying a second and a half (several, on a busy machine) of
# imports first. Tests about start-up itself (tests/cli/test_startup.py) or about environment
# variables the consoles read at import (TTY_COMPATIBLE) start interpreters of their own.

def _root(args, db: Path | str | None, config: Path | None) -> list[str]:
    root = []
    if db is not None:
        root += ["--db", str(db)]
    if config is not None:
        root += ["--config", str(config)]
    return [*root, *args]


ENV = {k: v for k, v in os.environ.items() if not k.startswith("RECIPROCAL_")}


def _checked(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert "Traceback" not in proc.stdout and "Traceback" not in proc.stderr, proc.stderr
    return proc


def _completed(outcome) -> subprocess.CompletedProcess:
    return _checked(subprocess.CompletedProcess(["reciprocal", *outcome.argv], outcome.code, outcome.stdout,
                                                outcome.stderr))


def reciprocal(*args: str, db: Path | str | None, cwd: Path, config: Path | None = CONFIG_DIR,
               umask: int | None = None) -> subprocess.CompletedProcess:
    """Run the real command in `cwd`; no output may ever carry a traceback."""
    outcome = shared_launcher().run(_root(args, db, config), cwd=cwd, umask=umask)[0]
    return _completed(outcome)


def reciprocal_many(commands: list[tuple[str, ...]], db: Path | str | None, cwd: Path,
                    config: Path | None = CONFIG_DIR) -> list[subprocess.CompletedProcess]:
    """Run several commands that write nothing at once."""
    outcomes = shared_launcher().run(*[_root(args, db, config) for args in commands], cwd=cwd)
    return [_completed(o) for o in outcomes]


def demo_database(folder: Path) -> Path:
    """The demo's database (three weeks of rounds; proposal 6 live, 1 to 5 ended), made by the
    real `reciprocal demo` in `folder`."""
    db = folder / "demo.db"
    done = reciprocal("demo", "--db", str(db), db=None, cwd=folder)
    assert done.returncode == 0, done.stderr
    return db


# -- files for the command to read ----------------------------------------------------------------

def write_offers_csv(path: Path, n: int) -> Path:
    """`n` valid offers for the example scheme, each provider offering in its own areas."""
    scheme = load_scheme(CONFIG_DIR)
    providers = sorted(scheme.providers.values(), key=lambda p: p.id)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ref", "provider", "area", "bedrooms", "property_type", "available_from",
                         "step_free", "notes"])
        for k in range(n):
            p = providers[k % len(providers)]
            writer.writerow([f"OF-C{k:05d}", p.id, p.areas[k % len(p.areas)], 1 + k % 4,
                             ("flat", "house", "bungalow", "maisonette")[k % 4], "2026-11-20",
                             "yes" if k % 3 == 0 else "no", f"crash test offer {k}"])
    return path


def count_calls(monkeypatch, module, name: str) -> list:
    """Wrap `module.name` so that each call's first argument is recorded, in order, in the list
    returned (the real function still runs): how tests see what was worked out, not cached."""
    seen: list = []
    real = getattr(module, name)

    def counting(first, *rest, **kwargs):
        seen.append(first)
        return real(first, *rest, **kwargs)
    monkeypatch.setattr(module, name, counting)
    return seen
