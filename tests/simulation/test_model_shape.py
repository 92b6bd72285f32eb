"""The simulation's models compute and its renderers show (issue 22): no module in
`reciprocal/simulation/` is over 400 lines, and none of them draws a chart, writes HTML or lays
out a table; `reciprocal.simulation_report` does that from the models' results."""
from __future__ import annotations

import ast

from tests.conftest import ROOT

MODELS = ROOT / "reciprocal" / "simulation"
LONGEST = 400


def test_no_simulation_module_is_over_400_lines():
    long = {path.name: n for path in MODELS.glob("*.py")
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > LONGEST}
    assert not long, f"over {LONGEST} lines: {long}"


def test_the_models_import_no_renderer():
    rendering = ("reciprocal.charts", "reciprocal.simulation_report", "html", "textwrap", "rich")
    found = []
    for path in MODELS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if isinstance(node, ast.ImportFrom) and node.module == "reciprocal":
                names = [f"reciprocal.{a.name}" for a in node.names]
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in rendering or
                      any(n == r or n.startswith(r + ".") for r in rendering)]
    assert not found, found
