"""How long the `reciprocal` command takes to start: wall and CPU time of everyday commands.

    python -m benchmarks.startup [--runs 10] [--json]

Each command runs `--runs` times as a fresh process (`python -m cli.app ...`, the code of this
checkout) against a demo database made once in a temporary folder; the table gives the median
and the fastest wall-clock and CPU (user + system, from the child's own rusage) seconds. Two
reference rows show the floor: a bare start of the same Python, and importing Typer and Rich.
It measures, it asserts nothing: the test suite checks which modules `import cli.app` loads
instead (tests/cli/test_startup.py), which keeps start-up fast without timing a test.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (label, argv after `python`); DB is replaced by the demo database's path.
COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("import typer, rich.console", ["-c", "import typer, rich.console"]),
    ("reciprocal --help", ["-m", "cli.app", "--help"]),
    ("reciprocal offer list", ["-m", "cli.app", "--db", "DB", "offer", "list"]),
    ("reciprocal round list", ["-m", "cli.app", "--db", "DB", "round", "list"]),
    ("reciprocal circulate", ["-m", "cli.app", "--db", "DB", "circulate", "--on", "2026-12-07"]),
]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("RECIPROCAL_DATABASE_URL", None)
    return env


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """One fresh process: its wall-clock seconds and its CPU seconds (user + system)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *argv], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"python {' '.join(argv)} failed ({proc.returncode}): {stderr.strip()}")
    return wall, usage.ru_utime + usage.ru_stime


def make_demo_db(folder: Path, env: dict[str, str]) -> Path:
    db = folder / "demo.db"
    subprocess.run([sys.executable, "-m", "cli.app", "demo", "--db", str(db)], env=env, cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return db


def measure(runs: int = 10, progress=None) -> dict:
    env = _env()
    rows = []
    with tempfile.TemporaryDirectory(prefix="reciprocal-startup-") as tmp:
        if progress:
            progress("making a demo database")
        db = make_demo_db(Path(tmp), env)
        for label, argv in COMMANDS:
            argv = [str(db) if a == "DB" else a for a in argv]
            if progress:
                progress(f"{label}: {runs} runs")
            run_once(argv, env)  # warm the file cache; not counted
            walls, cpus = zip(*(run_once(argv, env) for _ in range(runs)))
            rows.append({"command": label, "runs": runs,
                         "wall_median": statistics.median(walls), "wall_min": min(walls),
                         "cpu_median": statistics.median(cpus), "cpu_min": min(cpus)})
    return {"python": sys.version.split()[0], "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None, "rows": rows}


def render(result: dict) -> str:
    head = (f"Start-up, {result['rows'][0]['runs']} runs each (Python {result['python']}, "
            f"{result['cpus']} CPUs, load average {result['load_average']:.2f} at the end)")
    lines = [head, "", f"{'command':<28} {'wall median':>11} {'wall min':>9} {'CPU median':>11} {'CPU min':>8}"]
    for r in result["rows"]:
        lines.append(f"{r['command']:<28} {r['wall_median']:>10.3f}s {r['wall_min']:>8.3f}s "
                     f"{r['cpu_median']:>10.3f}s {r['cpu_min']:>7.3f}s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="Runs of each command (default 10).")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    args = parser.parse_args(argv)
    result = measure(max(1, args.runs), progress=lambda msg: print(f"{msg}...", file=sys.stderr))
    result["load_average"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
