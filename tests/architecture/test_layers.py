"""The layer contracts hold, and they would catch a breach.

`lint-imports` reads `.importlinter` at the repository root. The second test copies the source
packages into a temporary folder, adds one forbidden import, and runs the same contracts there:
if the contracts stopped biting (a typo in a module name, a contract dropped), it fails."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("reciprocal", "matching", "cli", "benchmarks")


def lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).parent / "lint-imports"
    command = [str(script)] if script.exists() else [shutil.which("lint-imports") or "lint-imports"]
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([*command, "--config", str(cwd / ".importlinter"), "--no-cache"], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_layer_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, breach, contract", [
    ("matching/flow.py", "import reciprocal.storage", "matching.flow -> reciprocal.storage"),
    ("matching/rules.py", "from reciprocal.lifecycle import rounds", "matching.rules -> reciprocal.lifecycle"),
    ("reciprocal/domain.py", "import sqlmodel", "reciprocal.domain -> sqlmodel"),
    ("reciprocal/config.py", "import matching.engine", "reciprocal.config -> matching"),
    ("reciprocal/ledger/__init__.py", "import cli.app", "reciprocal.ledger -> cli"),
    ("reciprocal/storage/__init__.py", "import reciprocal.lifecycle.rounds", "reciprocal.storage -> reciprocal.lifecycle"),
])
def test_a_forbidden_import_breaks_the_contracts(tmp_path, module, breach, contract):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.csv", "*.mako"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{breach}  # a breach planted by the test\n")
    result = lint_imports(tmp_path, pythonpath=tmp_path)
    assert result.returncode != 0, result.stdout
    assert contract in result.stdout, result.stdout
