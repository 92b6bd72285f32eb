"""The coordinator's whole path at scale: every command as its own process, its time and memory.

    python -m benchmarks.whole_path --scale national --seed 1 [--backend sqlite|postgresql|both]
                                    [--db-url URL] [--memory-cap-mib 4096] [--keep DIR] [--json]

`reciprocal bench` measures the engine in memory. This measures what a coordinator runs: a generated
instance (`reciprocal.simulation.generator.generate`) is written as MoU config files and two CSV
files in a fresh folder, then each command runs as a fresh `python -m cli.app` process against a
fresh database, in order: `init`, `offer import`, `request import`, `round run` (reasons for every
proposal and every unmatched household, stored), `round show --format json`, the lists, `due`,
`circulate`, `audit verify`, `audit fairness`, `pack`. For each command: exit code, wall seconds,
CPU seconds and peak resident memory (the child's own `ru_maxrss` from `wait4`), and how many lines
it printed. Every command runs under an address-space cap (`--memory-cap-mib`, default 4096), so a
command that needs more fails here instead of passing on a bigger machine.

The round's answer is then checked from its JSON, independently of the database: every proposal
is re-judged by `matching.check.violations` (every hard rule, no home or household twice, debt
limits), every household in the pot is either proposed or has a reason, and the objective levels
say OPTIMAL. Anything wrong fails the run (exit 1).

The checkout is compiled to bytecode first (`benchmarks.compile_checkout`), as any installed copy
is after its first run.

Balances: the generator's starting balances are ledger history that no command can import, so the
database starts with every member at zero (the engine's own bench uses the generated balances).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path

import yaml

from reciprocal.domain import OFFER_FIELDS, REQUEST_FIELDS, Offer, Request
from reciprocal.simulation.generator import Instance, generate, scale_names

from benchmarks import ROOT, compile_checkout
DEFAULT_CAP_MIB = 4096


# -- the instance as files ----------------------------------------------------------------------

def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return ";".join(str(v) for v in value)
    return str(value)


def write_instance(instance: Instance, folder: Path) -> tuple[Path, Path, Path]:
    """The instance as a coordinator would hold it: a config folder (scheme.yaml and one file per
    member), offers.csv and requests.csv. Returns (config folder, offers file, requests file)."""
    config = folder / "config"
    (config / "providers").mkdir(parents=True)
    scheme = instance.scheme
    (config / "scheme.yaml").write_text(
        yaml.safe_dump(scheme.config.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    for pid, provider in scheme.providers.items():
        (config / "providers" / f"{pid}.yaml").write_text(
            yaml.safe_dump(provider.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    offers, requests = folder / "offers.csv", folder / "requests.csv"
    write_csv(offers, OFFER_FIELDS, instance.offers)
    write_csv(requests, REQUEST_FIELDS, instance.requests)
    return config, offers, requests


def write_csv(path: Path, fields: tuple[str, ...], records) -> None:
    """Offers or requests as the CSV file a member sends (`OFFER_FIELDS`/`REQUEST_FIELDS`)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for record in records:
            writer.writerow([_cell(getattr(record, f)) for f in fields])


def headroom_as_limits(instance: Instance) -> dict[str, int]:
    """Each member's own `max_debt` such that, starting at zero, it has the same debt headroom as
    the generated instance's balance gives it (headroom = max_debt + balance, never below zero)."""
    scheme = instance.scheme
    return {p: max(0, scheme.max_debt(p) + instance.balances.get(p, 0)) for p in scheme.providers}


def write_path_instance(instance: Instance, folder: Path) -> tuple[Path, Path, Path]:
    """`write_instance`, with each member's headroom carried over as its own debt limit."""
    config, offers, requests = write_instance(instance, folder)
    for pid, limit in headroom_as_limits(instance).items():
        path = config / "providers" / f"{pid}.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["max_debt"] = limit
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return config, offers, requests


# -- running each command -----------------------------------------------------------------------

@dataclass
class Step:
    command: str
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_mib: float
    lines: int
    error: str = ""


def _limit(cap_mib: int | None):
    def apply() -> None:
        if cap_mib:
            cap = cap_mib * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    return apply


def run_command(args: list[str], env: dict[str, str], cwd: Path, out: Path,
                cap_mib: int | None) -> Step:
    """One command as a fresh process; its output to `out`; its own time and peak memory."""
    start = time.perf_counter()
    with out.open("wb") as stdout, (out.with_suffix(".err")).open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "cli.app", *args], env=env, cwd=cwd,
                                stdout=stdout, stderr=stderr, preexec_fn=_limit(cap_mib))
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    text = out.read_bytes()
    err = out.with_suffix(".err").read_text(encoding="utf-8", errors="replace").strip()
    return Step(" ".join(args), code, round(wall, 2), round(usage.ru_utime + usage.ru_stime, 2),
                round(usage.ru_maxrss / 1024, 1), text.count(b"\n"),
                err.splitlines()[-1] if code and err else "")


def commands(day: date) -> list[tuple[str, list[str]]]:
    """(label, arguments) in the order a coordinator runs them on a new scheme's first week."""
    on = day.isoformat()
    return [
        ("config validate", ["config", "validate"]),
        ("init", ["init"]),
        ("offer import", ["offer", "import", "offers.csv"]),
        ("request import", ["request", "import", "requests.csv", "--on", on]),
        ("round run", ["round", "run", "--on", on]),
        ("round show --format json", ["round", "show", "1", "--format", "json"]),
        ("round show", ["round", "show", "1"]),
        ("offer list", ["offer", "list"]),
        ("request list", ["request", "list"]),
        ("proposal list", ["proposal", "list", "--on", on]),
        ("due", ["due", "--on", on]),
        ("circulate", ["circulate", "--on", on]),
        ("ledger show", ["ledger", "show"]),
        ("audit verify", ["audit", "verify"]),
        ("audit fairness", ["audit", "fairness", "--until", on]),
        ("pack (every member, md)", ["pack", "--to", "packs", "--on", on, "--format", "md"]),
    ]


# -- checking the round's answer ----------------------------------------------------------------

def check_round(instance: Instance, config: Path, shown: dict) -> list[str]:
    """Every way the stored round (`round show --format json`) is wrong, judged from the generated
    instance itself, not from the database: hard rules, each household and home at most once,
    debt limits from zero, a reason for every household not proposed, every level proven."""
    from matching import check
    from matching.rules import MatchContext
    from reciprocal.config import load_scheme

    scheme = load_scheme(config)
    ctx = MatchContext(scheme, instance.on, frozenset())
    pairs = [(p["request"], p["offer"]) for p in shown["proposals"]]
    problems = check.violations(ctx, instance.requests, instance.offers, {}, pairs)
    proposed = {r for r, _ in pairs}
    explained = {u["request"] for u in shown["unmatched"] if u.get("reason")}
    missing = [r.ref for r in instance.requests if r.ref not in proposed and r.ref not in explained]
    if missing:
        problems.append(f"{len(missing)} household(s) neither proposed nor given a reason, "
                        f"e.g. {', '.join(missing[:5])}")
    both = proposed & explained
    if both:
        problems.append(f"{len(both)} household(s) both proposed and unmatched")
    problems += [f"level {lv['name']} is {lv['status']}, not proven optimal"
                 for lv in shown["objectives"] if lv["status"] != "OPTIMAL"]
    return problems


# -- the whole run ------------------------------------------------------------------------------

@dataclass
class PathRun:
    backend: str
    scale: str
    seed: int
    steps: list[Step] = field(default_factory=list)
    proposals: int = 0
    unmatched: int = 0
    problems: list[str] = field(default_factory=list)


def _on_server(url: str, *statements: str) -> None:
    """Run statements on the PostgreSQL server at `url`, outside any transaction."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def _fresh_postgres(url: str) -> str:
    """A new, empty database on the PostgreSQL server at `url`; its URL."""
    from sqlalchemy.engine import make_url

    name = f"reciprocal_whole_path_{os.getpid()}"
    _on_server(url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres(url: str, fresh: str) -> None:
    from sqlalchemy.engine import make_url

    _on_server(url, f'DROP DATABASE IF EXISTS "{make_url(fresh).database}"')


def run_path(instance: Instance, folder: Path, backend: str, db_url: str | None,
             cap_mib: int | None, progress=print) -> PathRun:
    config, _offers, _requests = write_path_instance(instance, folder)
    if backend == "sqlite":
        url = str(folder / "reciprocal.db")
    else:
        if not db_url:
            raise SystemExit("PostgreSQL needs --db-url (or $RECIPROCAL_TEST_DATABASE_URL)")
        url = _fresh_postgres(db_url)
    try:
        return _run_commands(instance, folder, config, backend, url, cap_mib, progress)
    finally:
        if backend != "sqlite":
            _drop_postgres(db_url, url)


def _run_commands(instance: Instance, folder: Path, config: Path, backend: str, url: str,
                  cap_mib: int | None, progress) -> PathRun:
    compile_checkout(ROOT)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update({"RECIPROCAL_DATABASE_URL": url, "RECIPROCAL_CONFIG_DIR": str(config),
                "COLUMNS": "140", "NO_COLOR": "1"})
    run = PathRun(backend, instance.scale, instance.seed)
    outputs = folder / "outputs"
    outputs.mkdir()
    for n, (label, args) in enumerate(commands(instance.on)):
        step = run_command(args, env, folder, outputs / f"{n:02d}.out", cap_mib)
        step.command = label
        run.steps.append(step)
        progress(f"  {backend:<10} {label:<26} exit {step.exit_code}  {step.wall_s:7.2f} s "
                 f"{step.peak_mib:7.0f} MiB  {step.lines:>6} lines")
        if step.exit_code != 0:
            run.problems.append(f"{label} exited {step.exit_code}: {step.error}")
            if label in ("init", "offer import", "request import", "round run"):
                return run
    shown_at = [label for label, _ in commands(instance.on)].index("round show --format json")
    shown = json.loads((outputs / f"{shown_at:02d}.out").read_text(encoding="utf-8"))
    run.proposals, run.unmatched = len(shown["proposals"]), len(shown["unmatched"])
    run.problems += check_round(instance, config, shown)
    return run


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, "
            f"Python {platform.python_version()}, load average {load:.1f} at the start")


def markdown(runs: list[PathRun], cap_mib: int | None, about: str) -> str:
    capped = f"each command under a {cap_mib} MiB address-space cap" if cap_mib else "no memory cap"
    lines = [f"Whole path, scale {runs[0].scale}, seed {runs[0].seed}, {time.strftime('%Y-%m-%d')}; "
             f"{about}; {capped}.", ""]
    head = "| command | " + " | ".join(f"{r.backend} s | {r.backend} MiB" for r in runs) + " | lines |"
    lines += [head, "| --- | " + " | ".join("---: | ---:" for _ in runs) + " | ---: |"]
    for k, step in enumerate(runs[0].steps):
        cells = []
        for r in runs:
            s = r.steps[k] if k < len(r.steps) else None
            cells.append(f"{s.wall_s:.1f} | {s.peak_mib:,.0f}" if s and s.exit_code == 0
                         else ("exit %d | -" % s.exit_code if s else "- | -"))
        lines.append(f"| `{step.command}` | " + " | ".join(cells) + f" | {step.lines:,} |")
    total = " | ".join(f"**{sum(s.wall_s for s in r.steps):.1f}** | **{max(s.peak_mib for s in r.steps):,.0f}**"
                       for r in runs)
    lines.append(f"| all commands | {total} | |")
    lines.append("")
    for r in runs:
        verdict = "every check passed" if not r.problems else "; ".join(r.problems[:5])
        lines.append(f"- {r.backend}: {r.proposals:,} proposals, {r.unmatched:,} households with a "
                     f"reason; {verdict}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.whole_path", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="national", choices=scale_names())
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql", "both"))
    parser.add_argument("--db-url", default=os.environ.get("RECIPROCAL_TEST_DATABASE_URL"),
                        help="a PostgreSQL server's URL: a new database is made there for the run, and dropped after")
    parser.add_argument("--memory-cap-mib", type=int, default=DEFAULT_CAP_MIB,
                        help="address-space cap of each command (0: none)")
    parser.add_argument("--keep", type=Path, help="keep the files and outputs in this new folder")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    about = machine()
    print(f"generating {args.scale} seed {args.seed}; {about}", file=sys.stderr)
    instance = generate(args.scale, args.seed)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    runs: list[PathRun] = []
    base = args.keep or Path(tempfile.mkdtemp(prefix="whole-path-"))
    try:
        for backend in backends:
            folder = base / backend
            folder.mkdir(parents=True)
            runs.append(run_path(instance, folder, backend, args.db_url, args.memory_cap_mib or None,
                                 progress=lambda line: print(line, file=sys.stderr)))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps({"machine": about, "date": time.strftime("%Y-%m-%d"),
                          "memory_cap_mib": args.memory_cap_mib,
                          "runs": [asdict(r) for r in runs]}, indent=2))
    else:
        print(markdown(runs, args.memory_cap_mib or None, about))
    return 1 if any(r.problems for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
