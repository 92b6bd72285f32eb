"""Benchmarks: `run` (the engine against baselines), `whole_path` (every command a coordinator
types, at scale), `startup` (how long everyday commands take to start), `band_limits`."""
from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("reciprocal", "matching", "cli", "mou_configs")


def compile_checkout(root: Path = ROOT) -> None:
    """Compile the checkout's modules to bytecode before timing them, as the first run of any
    installed copy leaves them. Where the environment forbids writing it at import
    (PYTHONDONTWRITEBYTECODE, as on the development machine), every command would otherwise
    compile each module it loads from source, every time: a cost no user pays, and one that
    grows with the code a command loads rather than with what it does."""
    for package in PACKAGES:
        if (root / package).is_dir():
            compileall.compile_dir(root / package, quiet=1)
