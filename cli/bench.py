"""`reciprocal bench`: the engine against the limit and the baselines on one generated instance."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from cli.context import FORMAT_HELP, out, parse_format, print_json
from cli.progress import activity

# reciprocal.simulation.generator.scale_names(), spelled out so that loading the command does not
# load the generator (tests/cli/test_startup.py checks that they agree).
SCALES = ("pilot", "regional", "national")


def bench(scale: str = typer.Option("pilot", help=f"Instance size: {', '.join(SCALES)}."),
          seed: int = typer.Option(1, min=0, help="Seed of the generated instance."),
          time_limit: float = typer.Option(60.0, min=0.1, max=3600,
                                           help="Seconds for each time-limited baseline."),
          policies: Optional[str] = typer.Option(None, help="Comma-separated subset of: engine, "
                                                 "min_cost_flow_limit, cpsat_weighted, "
                                                 "highs_weighted, greedy_fcfs."),
          output: Optional[Path] = typer.Option(None, "--out", help="Also write the JSON result here."),
          format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Benchmark the engine against the flow limit, one-model CP-SAT and HiGHS, and greedy FCFS."""
    from reciprocal.simulation.generator import scale_names
    from benchmarks.run import render_table, run_bench  # heavy: only when benchmarking

    fmt = parse_format(format)
    if scale not in scale_names():
        raise typer.BadParameter(f"'{scale}' is not one of {', '.join(scale_names())}",
                                 param_hint="--scale")
    chosen = [p.strip() for p in policies.split(",") if p.strip()] if policies else None
    from reciprocal.audits.exports import check_writable, write_private
    if output is not None:
        check_writable([output])  # before the bench, not after it
    try:
        # Each step (generating, each policy) on its own line; on a terminal with a running clock.
        with activity(plain=True) as say:
            result = run_bench(scale, seed, time_limit, chosen, progress=say)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--policies") from None
    if output is not None:
        write_private(output, json.dumps(result, indent=2, default=str) + "\n")
    if fmt == "json":
        print_json(result)
    else:
        out.print(render_table(result))
