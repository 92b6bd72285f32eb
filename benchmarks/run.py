"""`reciprocal bench`: every policy of `benchmarks.baselines` on one generated instance, side by side.

    python -m benchmarks.run --scale pilot --seed 1 [--time-limit 60] [--json] [--out FILE]

`run_bench` generates the instance once (`reciprocal.simulation.generator.generate`), builds its compatible
pairs once for the instance statistics, then runs each policy in a fresh child process (spawned,
so the child's peak resident memory is that policy's alone, not the parent's) one after another, so
that timings do not compete for the two cores. The parent then checks every answer with
`matching.check.violations` and measures it: moves, high-risk moves, the largest |balance| after the
round, and the policy's proven gap.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
import traceback
from collections import Counter
from dataclasses import asdict
from typing import Callable

from matching import check
from matching.rules import MatchContext
from reciprocal.domain import Risk
from reciprocal.simulation.generator import Instance, generate, scale_names

from benchmarks.baselines import POLICIES, RELAXED, BaselineResult, compatible_pairs

# Beyond its time limit, how long a policy's process may run (building its model, or a solver
# that does not check the limit often) before it is killed and reported as such.
DEFAULT_GRACE_SECONDS = 300.0
MEMORY_CAP_SHARE = 0.8  # a child's address space is capped at this share of physical memory


def memory_cap_bytes() -> int | None:
    """The address-space cap for a policy's process, so that a runaway model fails alone (as a
    row saying so) instead of pushing the machine out of memory; None where unknown."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    return int(total * MEMORY_CAP_SHARE)


def _rss_mib() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _child(name: str, instance: Instance, time_limit: float, conn, cap: int | None = None) -> None:
    """Run one policy in this fresh process and send back its phases, result and peak memory."""
    if cap:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        except (ValueError, OSError):
            pass
    from benchmarks import baselines

    start = time.perf_counter()
    baselines.phase_hook = lambda phase: conn.send(
        {"phase": phase, "at": round(time.perf_counter() - start, 3), "rss_mib": _rss_mib()})
    try:
        before = _rss_mib()
        cpu = time.process_time()
        result = POLICIES[name](instance, time_limit)
        # CPU seconds of the policy's whole call, its imports included (so a little above its
        # wall time on a quiet machine): on a machine shared with other work, wall time grows
        # with the load and this much less.
        conn.send({"ok": True, "result": asdict(result), "peak_mib": _rss_mib(),
                   "before_mib": before, "cpu_seconds": time.process_time() - cpu})
    except BaseException as exc:  # report any failure as a row, never hang the parent
        conn.send({"ok": False, "error": f"{type(exc).__name__}: {exc}",
                   "traceback": traceback.format_exc(limit=8), "peak_mib": _rss_mib()})
    finally:
        conn.close()


def _peak_of(pid: int | None) -> float | None:
    """A live process's peak resident memory (VmHWM) in MiB, where /proc has it."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def run_policy(name: str, instance: Instance, time_limit: float,
               grace: float = DEFAULT_GRACE_SECONDS) -> dict:
    """One policy in a spawned child; returns the child's final message, or a failure message
    when it died or overran `time_limit + grace` seconds and was killed."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    cap = memory_cap_bytes()
    process = ctx.Process(target=_child, args=(name, instance, time_limit, child, cap), daemon=True)
    start = time.perf_counter()
    process.start()
    child.close()
    message = None
    phases: list[dict] = []
    peak = None
    deadline = start + time_limit + grace
    killed = False
    while message is None:
        if parent.poll(1.0):
            try:
                received = parent.recv()
            except EOFError:
                break
            if "phase" in received:
                phases.append(received)
            else:
                message = received
            continue
        peak = _peak_of(process.pid) or peak
        if not process.is_alive():
            break
        if time.perf_counter() > deadline:
            killed = True
            break
    if killed:
        peak = _peak_of(process.pid) or peak
        process.kill()
    process.join(timeout=30)
    if process.is_alive():
        process.kill()
        process.join()
    elapsed = time.perf_counter() - start
    if message is None:
        where = f"; last phase: {phases[-1]['phase']} from {phases[-1]['at']:.1f} s" if phases else ""
        if killed:
            error = (f"killed after {elapsed:.0f} s: still running {grace:.0f} s past its "
                     f"{time_limit:g} s time limit{where}")
            status = "KILLED"
        else:
            cap_note = f", memory capped at {cap / 2**30:.1f} GiB" if cap else ""
            error = (f"process ended without a result (exit code {process.exitcode}: out of "
                     f"memory{cap_note}?){where}")
            status = "CRASHED"
        message = {"ok": False, "error": error, "status": status, "peak_mib": peak}
    message["process_seconds"] = elapsed
    message["phases"] = phases
    return message


def _measure(instance: Instance, ctx: MatchContext, name: str, message: dict) -> dict:
    row: dict = {"policy": name, "process_seconds": round(message["process_seconds"], 3),
                 "cpu_seconds": round(message["cpu_seconds"], 3) if message.get("cpu_seconds") else None,
                 "peak_mib": round(message["peak_mib"], 1) if message.get("peak_mib") else None,
                 "start_mib": round(message["before_mib"], 1) if message.get("before_mib") else None}
    row["phases"] = message.get("phases", [])
    if not message.get("ok"):
        row.update(status=message.get("status", "ERROR"), note=message.get("error", ""),
                   wall_seconds=None, pairs_seconds=None, moves=None, high_risk_moves=None,
                   max_abs_balance=None, gap=None, keeps_rules=None, breaks_only_relaxed=None,
                   rules="no answer", traceback=message.get("traceback"))
        return row
    result = BaselineResult(**message["result"])
    chosen = [tuple(p) for p in result.chosen]
    broken = check.violations(ctx, instance.requests, instance.offers, instance.balances, chosen)
    by_rule = Counter(v.split(":", 1)[0] for v in broken)
    relaxed = RELAXED.get(name, set())
    unexpected = {rule: n for rule, n in by_rule.items() if rule not in relaxed}
    requests = {r.ref: r for r in instance.requests}
    offers = {o.ref: o for o in instance.offers}
    after = {p: instance.balances.get(p, 0) for p in instance.scheme.providers}
    waited = 0
    for r_ref, o_ref in chosen:
        if r_ref in requests and o_ref in offers:
            after[offers[o_ref].provider] = after.get(offers[o_ref].provider, 0) + 1
            after[requests[r_ref].provider] = after.get(requests[r_ref].provider, 0) - 1
            waited += requests[r_ref].waiting_days(instance.on)
    if unexpected:
        rules = "BROKEN: " + ", ".join(f"{rule} x{n}" for rule, n in sorted(unexpected.items()))
    elif by_rule:
        rules = "relaxed: " + ", ".join(f"{rule} x{n}" for rule, n in sorted(by_rule.items()))
    else:
        rules = "ok"
    row.update(
        status=result.status, note=result.note,
        wall_seconds=round(result.wall_seconds, 4),
        pairs_seconds=None if result.pairs_seconds is None else round(result.pairs_seconds, 4),
        solve_seconds=None if result.solve_seconds is None else round(result.solve_seconds, 4),
        moves=len(chosen),
        high_risk_moves=sum(1 for r, _ in chosen if r in requests and requests[r].risk == Risk.high),
        waiting_days_served=waited,
        max_abs_balance=max((abs(b) for b in after.values()), default=0),
        sum_abs_balance=sum(abs(b) for b in after.values()),
        providers_below_debt_limit=sum(1 for p, b in after.items()
                                       if b < -instance.scheme.max_debt(p)),
        gap=result.gap,
        keeps_rules=not by_rule, breaks_only_relaxed=bool(by_rule) and not unexpected,
        violations=len(broken), violation_examples=broken[:5], rules=rules,
        extra=result.extra)
    return row


def run_bench(scale: str, seed: int, time_limit: float, policies: list[str] | None = None, *,
              instance: Instance | None = None, grace: float = DEFAULT_GRACE_SECONDS,
              progress: Callable[[str], None] | None = None) -> dict:
    """Generate the instance for (scale, seed) and run every policy on it; a JSON-able dict."""
    say = progress or (lambda _msg: None)
    names = list(POLICIES) if policies is None else list(policies)
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"unknown policy {', '.join(unknown)} (known: {', '.join(POLICIES)})")
    t0 = time.perf_counter()
    if instance is None:
        say(f"generating the {scale} instance (seed {seed})")
        instance = generate(scale, seed)
    generate_seconds = time.perf_counter() - t0
    say("building compatible pairs")
    inst, build_seconds = compatible_pairs(instance)
    stats = instance.summary()
    stats.update(compatible_pairs=len(inst.pairs) if not hasattr(inst, "n_pairs") else inst.n_pairs,
                 requests_with_no_compatible_offer=sum(1 for _ in _unreachable(inst)),
                 generate_seconds=round(generate_seconds, 3), build_seconds=round(build_seconds, 3))
    del inst
    ctx = MatchContext(instance.scheme, instance.on)
    rows = []
    for name in names:
        say(f"running {name} (time limit {time_limit:g} s)")
        message = run_policy(name, instance, time_limit, grace)
        rows.append(_measure(instance, ctx, name, message))
    return {
        "instance": stats,
        "time_limit": time_limit,
        "grace_seconds": grace,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "ortools": _ortools_version()},
        "rows": rows,
    }


def _unreachable(inst):
    if hasattr(inst, "pair_request"):
        import numpy as np
        has = np.zeros(len(inst.requests), dtype=bool)
        has[np.asarray(inst.pair_request, dtype=np.int64)] = True
        return (i for i in range(len(inst.requests)) if not has[i])
    seen = {i for i, _ in inst.pairs}
    return (i for i in range(len(inst.requests)) if i not in seen)


def _ortools_version() -> str:
    try:
        import ortools
        return ortools.__version__
    except Exception:  # pragma: no cover
        return "unknown"


# -- rendering -----------------------------------------------------------------------------------

def _fmt_gap(gap: float | None) -> str:
    if gap is None:
        return "-"
    if gap == 0:
        return "0 (optimal)"
    return f"{100 * gap:.2f}%"


def _fmt(value, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def render_table(result: dict):
    """The bench as one Rich table: a row per policy."""
    from rich.table import Table

    s = result["instance"]
    title = (f"reciprocal bench: {s['scale']} seed {s['seed']}: {s['requests']:,} requests, "
             f"{s['offers']:,} offers, {s['providers']:,} providers, {s['areas']} areas, "
             f"{s['compatible_pairs']:,} compatible pairs (built in {s['build_seconds']:.2f} s)")
    table = Table(title=title, title_justify="left")
    for header, justify in (("policy", "left"), ("wall s", "right"), ("pairs s", "right"),
                            ("peak MiB", "right"), ("high-risk moves", "right"), ("moves", "right"),
                            ("max |balance|", "right"), ("proven gap", "right"), ("status", "left"),
                            ("rules", "left")):
        table.add_column(header, justify=justify)
    for row in result["rows"]:
        wall = _fmt(row.get("wall_seconds"), ".3f")
        if row.get("wall_seconds") is None and row.get("process_seconds"):
            wall = f">{row['process_seconds']:.0f}"  # no answer: how long its process ran
        table.add_row(row["policy"], wall,
                      _fmt(row.get("pairs_seconds"), ".3f"), _fmt(row.get("peak_mib"), ",.0f"),
                      _fmt(row.get("high_risk_moves"), ","), _fmt(row.get("moves"), ","),
                      _fmt(row.get("max_abs_balance")), _fmt_gap(row.get("gap")),
                      str(row.get("status", "")), str(row.get("rules", "")))
    table.caption = (f"time limit {result['time_limit']:g} s per policy; each policy ran alone in a "
                     f"fresh process on {result['machine']['cpus']} CPU(s). wall s: the policy's own "
                     "work (the engine's includes building its pairs and explanations; the baselines' "
                     "excludes it, shown as pairs s). Peak MiB: that process's peak RSS. Gap: of the "
                     "policy's own objective (engine: worst level).")
    for row in result["rows"]:
        if row.get("status") in ("KILLED", "CRASHED", "ERROR") or not row.get("moves") and row.get("note"):
            table.caption += f"\n{row['policy']}: {row.get('note')}"
    table.caption_justify = "left"
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=scale_names(), default="pilot")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=60.0,
                        help="seconds for each time-limited policy (default 60)")
    parser.add_argument("--policies", default=None,
                        help=f"comma-separated subset of: {', '.join(POLICIES)}")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE_SECONDS,
                        help="seconds past the time limit before a policy's process is killed "
                             f"(default {DEFAULT_GRACE_SECONDS:g})")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead")
    parser.add_argument("--out", default=None, help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    from rich.console import Console

    err = Console(stderr=True)
    policies = [p.strip() for p in args.policies.split(",") if p.strip()] if args.policies else None
    try:
        result = run_bench(args.scale, args.seed, args.time_limit, policies, grace=args.grace,
                           progress=lambda msg: err.print(f"[dim]{msg}...[/dim]"))
    except ValueError as exc:
        err.print(f"error: {exc}")
        return 2
    text = json.dumps(result, indent=2, default=str)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    if args.json:
        print(text)
    else:
        Console(width=max(160, Console().width)).print(render_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
