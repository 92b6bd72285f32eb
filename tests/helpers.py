"""Helpers shared by test files: the real `reciprocal` command run in subprocesses (one, or
several at once), and CSV files of valid offers for it to import."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from reciprocal.config import load_scheme
from tests.conftest import CONFIG_DIR


# -- the real command, in subprocesses -----------------------------------------------------------

def _argv(args, db: Path | str | None, config: Path | None) -> list[str]:
    root = []
    if db is not None:
        root += ["--db", str(db)]
    if config is not None:
        root += ["--config", str(config)]
    return [sys.executable, "-m", "cli.app", *root, *args]


ENV = {k: v for k, v in os.environ.items() if not k.startswith("RECIPROCAL_")}


def _checked(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert "Traceback" not in proc.stdout and "Traceback" not in proc.stderr, proc.stderr
    return proc


def reciprocal(*args: str, db: Path | str | None, cwd: Path, config: Path | None = CONFIG_DIR,
               **kwargs) -> subprocess.CompletedProcess:
    """Run the real command; no output may ever carry a traceback."""
    return _checked(subprocess.run(_argv(args, db, config), cwd=cwd, env=ENV, capture_output=True,
                                   text=True, timeout=120, **kwargs))


def reciprocal_many(commands: list[tuple[str, ...]], db: Path | str | None, cwd: Path,
                    config: Path | None = CONFIG_DIR) -> list[subprocess.CompletedProcess]:
    """Run several commands that write nothing at once (each costs about a second of start-up)."""
    procs = [subprocess.Popen(_argv(args, db, config), cwd=cwd, env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for args in commands]
    done = []
    for args, proc in zip(commands, procs):
        out, err = proc.communicate(timeout=120)
        done.append(_checked(subprocess.CompletedProcess(args, proc.returncode, out, err)))
    return done


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
