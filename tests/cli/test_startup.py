"""Start-up stays fast without timing anything: loading the command (what `reciprocal --help` and
every usage error pay for) must not load the solver, the numerics or the database stack. Each
command imports those when it runs. The figures are benchmarks/startup.py's to measure."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import ENV

# Not pydantic: Typer itself loads it to convert a subcommand's parameters.
HEAVY = ("ortools", "numpy", "networkx", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "pandas",
         "matching", "reciprocal.storage", "reciprocal.config", "reciprocal.lifecycle",
         "reciprocal.audits", "reciprocal.simulation", "reciprocal.intake")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], env=ENV, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_importing_the_command_loads_no_solver_numerics_or_database():
    assert _heavy(_loaded_after("import cli.app")) == []


@pytest.mark.parametrize("args", [["--help"], ["round", "run", "--help"], ["offer", "add", "--help"],
                                  ["audit", "fairness", "--help"], ["bench", "--help"]])
def test_printing_help_loads_no_solver_numerics_or_database(args):
    code = ("import contextlib, io, sys\nfrom cli.app import main\n"
            f"sys.argv = ['reciprocal', *{args!r}]\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n    main()")
    assert _heavy(_loaded_after(code)) == []


@pytest.mark.parametrize("spelled, source", [
    ("cli.bench:SCALES", "reciprocal.simulation.generator:scale_names"),
    ("cli.pack:PACK_FORMATS", "reciprocal.audits.packs:FORMATS"),
])
def test_constants_spelled_out_for_start_up_agree_with_their_source(spelled, source):
    """The CLI spells out a few choices for its help so that the help loads nothing heavy."""
    import importlib

    def value(ref):
        module, name = ref.split(":")
        got = getattr(importlib.import_module(module), name)
        return tuple(got() if callable(got) else got)

    assert value(spelled) == value(source)
