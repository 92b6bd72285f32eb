"""How long the `reciprocal` command takes to start: wall and CPU time of everyday commands.

    python -m benchmarks.startup [--runs 10] [--json] [--only LABEL ...]

Each command runs `--runs` times as a fresh process (`python -m cli.app ...`, the code of this
checkout) against a demo database made once in a temporary folder: every read command, and the
small state changes, each of which runs on a fresh copy of that database (the copy is not
counted); the table gives the median and the fastest wall-clock and CPU (user + system, from the
child's own rusage) seconds. Two reference rows show the floor: a bare start of the same Python,
and importing Typer and Rich. It measures, it asserts nothing: the test suite checks which
modules each command loads instead (tests/cli/test_startup.py), which keeps start-up fast without
timing a test. The checkout is compiled to bytecode first (`benchmarks.compile_checkout`), as any
installed copy is after its first run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import ROOT, compile_checkout

ON = ["--on", "2026-12-07"]  # a day after the demo's last week: proposal 6 is live then
# (label, argv after `python`); DB is replaced by the demo database's path.
COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("import typer, rich.console", ["-c", "import typer, rich.console"]),
    ("reciprocal --help", ["-m", "cli.app", "--help"]),
    *((f"reciprocal {' '.join(a)}", ["-m", "cli.app", "--db", "DB", *a, *extra]) for a, extra in [
        (["due"], ON), (["proposal", "list"], []), (["proposal", "show", "6"], []), (["round", "list"], []),
        (["round", "show", "1"], []), (["offer", "list"], []), (["request", "list"], []),
        (["ledger", "show"], []), (["audit", "verify"], []), (["circulate"], ON), (["config", "show"], []),
        (["config", "validate"], [])]),
]
# Small state changes: each run on a fresh copy of the demo's database (label, argv as above).
CHANGES: list[tuple[str, list[str]]] = [
    (f"reciprocal {label}", ["-m", "cli.app", "--db", "DB", *argv, *([] if label == "offer add" else ON)])
    for label, argv in [
        ("proposal advance", ["proposal", "advance", "6"]),
        ("proposal refuse --no-resolve", ["proposal", "refuse", "6", "--by", "household", "--reason",
                                          "unsuitable_property", "--not-reasonable", "--no-resolve"]),
        ("proposal refuse (re-solves)", ["proposal", "refuse", "6", "--by", "household", "--reason",
                                         "unsuitable_property", "--not-reasonable"]),
        ("proposal sign", ["proposal", "sign", "6", "--tenancy-start", "2026-12-10"]),
        ("request hold", ["request", "hold", "RQ-0105", "--reason", "review", "--until", "2026-12-20"]),
        ("request resume", ["request", "resume", "RQ-0105"]),
        ("request reconfirm", ["request", "reconfirm", "RQ-0105"]),
        ("offer add", ["offer", "add", "--ref", "OF-B1", "--provider", "fenland", "--area", "fenland",
                       "--bedrooms", "2", "--property-type", "flat", "--available-from", "2026-12-08"]),
        ("offer withdraw", ["offer", "withdraw", "OF-2611-03"])]
]
# What a state change needs before it: its proposal accepted (sign), its household on hold (resume).
BEFORE: dict[str, list[list[str]]] = {
    "reciprocal proposal sign": [["proposal", "advance", "6", "--viewing-on", "2026-12-08", *ON],
                                 ["proposal", "advance", "6", *ON]],
    "reciprocal request resume": [["request", "hold", "RQ-0105", "--reason", "review", "--until", "2026-12-20",
                                   *ON]],
}


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


def _prepared(db: Path, work: Path, label: str, env: dict[str, str]) -> Path:
    """A fresh copy of the demo database, made ready for the state change `label` (not counted)."""
    shutil.copy(db, work)
    for argv in BEFORE.get(label, []):
        subprocess.run([sys.executable, "-m", "cli.app", "--db", str(work), *argv], env=env, cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return work


def measure(runs: int = 10, progress=None, only: list[str] | None = None) -> dict:
    compile_checkout(ROOT)
    env = _env()
    rows = []
    with tempfile.TemporaryDirectory(prefix="reciprocal-startup-") as tmp:
        if progress:
            progress("making a demo database")
        db = make_demo_db(Path(tmp), env)
        work = Path(tmp) / "work.db"
        for label, argv, changes in [*((label, argv, False) for label, argv in COMMANDS),
                            *((label, argv, True) for label, argv in CHANGES)]:
            if only and not any(o in label for o in only):
                continue
            if progress:
                progress(f"{label}: {runs} runs")

            def once(argv=argv, label=label, changes=changes):
                target = _prepared(db, work, label, env) if changes else db
                return run_once([str(target) if a == "DB" else a for a in argv], env)
            once()  # warm the file cache; not counted
            walls, cpus = zip(*(once() for _ in range(runs)))
            rows.append({"command": label, "runs": runs,
                         "wall_median": statistics.median(walls), "wall_min": min(walls),
                         "cpu_median": statistics.median(cpus), "cpu_min": min(cpus)})
    return {"python": sys.version.split()[0], "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None, "rows": rows}


def render(result: dict) -> str:
    head = (f"Start-up, {result['rows'][0]['runs']} runs each (Python {result['python']}, "
            f"{result['cpus']} CPUs, load average {result['load_average']:.2f} at the end)")
    lines = [head, "", f"{'command':<42} {'wall median':>11} {'wall min':>9} {'CPU median':>11} {'CPU min':>8}"]
    for r in result["rows"]:
        lines.append(f"{r['command']:<42} {r['wall_median']:>10.3f}s {r['wall_min']:>8.3f}s "
                     f"{r['cpu_median']:>10.3f}s {r['cpu_min']:>7.3f}s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="Runs of each command (default 10).")
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    parser.add_argument("--only", nargs="*", help="Only the commands whose label holds one of these words.")
    args = parser.parse_args(argv)
    result = measure(max(1, args.runs), progress=lambda msg: print(f"{msg}...", file=sys.stderr),
                     only=args.only)
    result["load_average"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
