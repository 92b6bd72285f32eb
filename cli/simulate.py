"""`reciprocal simulate`: a year of weekly rounds under four policies on the same arrivals.

A thin skin over `reciprocal.simulation`: parse, run, render (`reciprocal.simulation_report`: table,
JSON, HTML report).
"""
from __future__ import annotations

import dataclasses
import re
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterator, Optional

import typer

from cli.context import FORMAT_HELP, err, one_out, out, parse_format, print_json, settings

SETTING_HELP = ("default: the scheme's own calibration (Cambridgeshire's 17 referrals and 4 offers a "
                "year per 16 members); stress: London's volume with one offer per five requests; "
                "generous: London's volume with the tri-borough's 16 offers per 18 requests; "
                "regional: a synthetic 80-member region, 200 requests a week.")

# Seeds run by default: 50 keeps --circulation and --compare-gives on the default setting under
# 60 CPU seconds (measured: 7.3 s and 4.2 s, docs/simulation.md); a replay reads a real stored year
# whose size is the scheme's, so it keeps 20.
SEEDS = 50
REPLAY_SEEDS = 20


def simulate(ctx: typer.Context,
             weeks: int = typer.Option(52, "--weeks", min=1, max=520, help="Weekly rounds to simulate."),
             seed: int = typer.Option(1, "--seed", help="Seed of the arrival stream: the same seed "
                                      "gives the same result."),
             setting: str = typer.Option("default", "--setting", help=SETTING_HELP),
             format: str = typer.Option("table", "--format", help=FORMAT_HELP),
             html: Optional[Path] = typer.Option(None, "--out", help="Also write a self-contained "
                                                 "HTML report (charts of balances and waiting times) to "
                                                 "this file."),
             old_html: Optional[Path] = typer.Option(None, "--html", hidden=True,
                                                     help="Old spelling of --out."),
             requests_per_year: Optional[float] = typer.Option(
                 None, "--requests-per-year", min=0, help="Override the setting's request volume."),
             offers_per_year: Optional[float] = typer.Option(
                 None, "--offers-per-year", min=0, help="Override the setting's offer volume."),
             stages: bool = typer.Option(False, "--stages", help="Instead: the engine with proposals "
                                         "that take weeks (stages, refusals, lapses), a round every "
                                         "week against waiting for every answer before the next."),
             circulation: bool = typer.Option(False, "--circulation", help="Instead: the engine with "
                                              "homes put into the pot only, against members also "
                                              "answering circulation with homes for waiting "
                                              "households; means over --seeds seeds."),
             seeds: Optional[int] = typer.Option(None, "--seeds", min=1, max=200, help="With "
                                                 "--circulation, --compare-gives or --replay: how many "
                                                 "seeds (1..N) to run; default 50 (20 with --replay)."),
             gives_count_from: Optional[str] = typer.Option(
                 None, "--gives-count-from", help="With --stages: rule 9's fairness.gives_count_from "
                 "for this run (proposed, nomination_confirmed, accepted or signed); default: the "
                 "scheme's own."),
             compare_gives: bool = typer.Option(False, "--compare-gives", help="With --stages: a round "
                                                "every week under each choice of "
                                                "fairness.gives_count_from on the same streams, "
                                                "median and range over --seeds seeds."),
             replay: bool = typer.Option(False, "--replay", help="Instead: the requests and offers stored "
                                         "in the database, with their real dates, replayed a round every "
                                         "week under each choice of fairness.gives_count_from (answer "
                                         "times drawn over --seeds seeds); writes nothing."),
             since: Optional[datetime] = typer.Option(None, "--since", formats=["%Y-%m-%d"],
                                                      help="With --replay: the first round's day "
                                                      "(default: the first stored round's)."),
             until: Optional[datetime] = typer.Option(None, "--until", formats=["%Y-%m-%d"],
                                                      help="With --replay: the last day a round may "
                                                      "run (default: the last stored round's).")):
    """Compare the engine with first-come-first-served, a no-ledger engine and random order over
    the same weekly arrivals: moves, waiting times, balances, price of fairness."""
    from reciprocal.audits.exports import check_writable, write_private
    from reciprocal.simulation.arrivals import SETTINGS, rates_for
    from reciprocal.simulation.simulate import simulate as run_simulation
    from reciprocal.simulation_report import html_report, render_table, to_json
    from reciprocal.domain import GIVES_COUNT_FROM
    fmt = parse_format(format)
    html = one_out(html, old_html, "--html")
    if html is not None:
        check_writable([html])  # before the simulation, not after it
    if setting not in SETTINGS:
        raise typer.BadParameter(f"'{setting}' is not one of {', '.join(SETTINGS)}", param_hint="--setting")
    if gives_count_from is not None and gives_count_from not in GIVES_COUNT_FROM:
        raise typer.BadParameter(f"'{gives_count_from}' is not one of {', '.join(GIVES_COUNT_FROM)}",
                                 param_hint="--gives-count-from")
    if (gives_count_from is not None or compare_gives) and not stages:
        raise typer.BadParameter("needs --stages", param_hint="--gives-count-from / --compare-gives")
    if (since is not None or until is not None) and not replay:
        raise typer.BadParameter("needs --replay", param_hint="--since / --until")
    scheme = settings(ctx).scheme()
    if replay:
        _replay(ctx, scheme, since and since.date(), until and until.date(), seeds or REPLAY_SEEDS, fmt)
        return
    seeds = seeds or SEEDS
    if stages and compare_gives:
        _compare_gives(scheme, weeks, seeds, setting, fmt)
        return
    if stages:
        _stages(scheme, weeks, seed, setting, fmt, gives_count_from)
        return
    if circulation:
        _circulation(scheme, weeks, seeds, setting, fmt)
        return
    rates = None
    if requests_per_year is not None or offers_per_year is not None:
        _, base = rates_for(scheme, setting)
        changes = {k: v for k, v in (("requests_per_year", requests_per_year),
                                     ("offers_per_year", offers_per_year)) if v is not None}
        rates = dataclasses.replace(base, **changes,
                                    basis=base.basis + "; volumes overridden on the command line: "
                                    + ", ".join(f"{k} {v:g}" for k, v in changes.items()))
    with err.status("simulating...") as status:
        result = run_simulation(scheme, weeks=weeks, seed=seed, setting=setting, rates=rates,
                                progress=lambda message: status.update(message))
    if fmt == "json":
        print_json(to_json(result))
    else:
        out.print(render_table(result, out.width), markup=False, highlight=False, soft_wrap=True, end="")
    if html is not None:
        path = write_private(html, html_report(result))
        (err if fmt == "json" else out).print(f"HTML report written to {path}", markup=False,
                                              highlight=False, soft_wrap=True)


STAGE_ROWS = [("rounds run", "rounds"), ("proposals made", "proposals"),
              ("households moved (signed)", "households_moved"), ("high-risk households moved", "high_risk_moved"),
              ("median weeks, request to tenancy start", "median_weeks_to_tenancy_start"),
              ("median weeks, high risk", "median_weeks_high_risk"),
              ("refused by the household", "refused_by_household"),
              ("refused by the offering landlord", "refused_by_offering_landlord"),
              ("lapsed (no answer by the due date)", "lapsed"), ("requests still waiting", "still_waiting"),
              ("max absolute balance", "max_abs_balance"),
              ("worst homes past a limit", "worst_homes_past_limit"),
              ("median homes past a limit, when past", "median_homes_past_limit"),
              ("member-weeks past a limit", "member_weeks_past_limit"),
              ("lowest headroom the ledger reached", "lowest_ledger_headroom")]


def _stages(scheme, weeks: int, seed: int, setting: str, fmt: str, gives_count_from: str | None) -> None:
    from reciprocal.simulation_report import aligned_table
    from reciprocal.simulation.stages import compare_flows

    with err.status("simulating proposals through their stages..."):
        data = compare_flows(scheme, weeks, seed, setting, gives_count_from=gives_count_from)
    if fmt == "json":
        print_json(data)
        return
    weekly, wait = data["flows"]["weekly"], data["flows"]["wait"]
    intro = (f"{data['scheme']}, setting {setting}, seed {seed}: {weeks} weeks, {data['requests_arrived']} "
             f"requests arrived, gives count from {data['gives_count_from']} (rule 9)")
    rows = [[label, _cell(weekly[key]), _cell(wait[key])] for label, key in STAGE_ROWS]
    after = ("Stage timings are assumptions (reciprocal/simulation/stages.py). Past a limit: a member's ledger balance plus its live proposals as rule 9 counts them, "
             "below -max_debt (a counted give fell through), measured before each round; the engine "
             "then places none of its tenants until it is back within.")
    lines = [intro, "", "| measure | a round every week | wait for every answer |", "|---|---:|---:|"]
    lines += [f"| {' | '.join(r)} |" for r in rows]
    if max(len(line) for line in lines) > out.width:  # a narrow terminal: short names, and a key
        import textwrap
        lines = textwrap.wrap(intro, out.width) + [""] + aligned_table(
            ["measure", "weekly", "wait"], rows, out.width) + [""] + textwrap.wrap(
            "weekly: a round every week; wait: wait for every answer.", out.width)
        after = "\n".join(textwrap.wrap(after, out.width))
    lines += ["", after]
    out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


def _compare_gives(scheme, weeks: int, seeds: int, setting: str, fmt: str) -> None:
    from reciprocal.simulation.gives import compare_gives
    from reciprocal.simulation_report import render_gives

    _over_seeds("simulating each choice of gives_count_from...", compare_gives, render_gives,
                scheme, weeks, seeds, setting, fmt)


def _cell(value) -> str:
    return "-" if value is None else str(value)


def _circulation(scheme, weeks: int, seeds: int, setting: str, fmt: str) -> None:
    from reciprocal.simulation.circulating import compare_circulation
    from reciprocal.simulation_report import render_circulation

    _over_seeds("simulating pot only against pot and circulation...", compare_circulation,
                render_circulation, scheme, weeks, seeds, setting, fmt)


def _over_seeds(doing: str, compare, render, scheme, weeks: int, seeds: int, setting: str, fmt: str) -> None:
    """Run a comparison over seeds 1..`seeds` with progress, then print its JSON or its table."""
    with seed_progress(doing) as say:
        data = compare(scheme, setting, seeds, weeks, progress=say)
    if fmt == "json":
        print_json(data)
    else:
        out.print(render(data), markup=False, highlight=False, soft_wrap=True, end="")


@contextmanager
def seed_progress(doing: str) -> Iterator[Callable[[str], None]]:
    """A progress line on stderr while seeds run (seeds done of all, time so far), only when
    stderr is a terminal: a pipe or a log gets nothing. The models report "seed K of N, ..."."""
    if not err.is_terminal:
        yield lambda message: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as progress:
        task = progress.add_task(doing, total=None)

        def say(message: str) -> None:
            seed = re.match(r"seed (\d+) of (\d+)", message)
            if seed:
                progress.update(task, completed=int(seed[1]) - 1, total=int(seed[2]))
            progress.update(task, description=f"{doing} {message}", refresh=True)

        yield say


def _replay(ctx: typer.Context, scheme, since: date | None, until: date | None, seeds: int, fmt: str) -> None:
    """The stored year replayed (`reciprocal.simulation.replay`), read in one session that never
    commits."""
    from reciprocal.errors import StateError
    from reciprocal.simulation.replay import replay, stored_days, stored_year
    from reciprocal.simulation_report import render_replay

    db = settings(ctx).database(scheme=scheme)
    if since is None or until is None:
        days = stored_days(db)
        if days is None:
            raise StateError("no round is stored in this database: give --since and --until for the replay; "
                             "nothing was changed")
        since, until = since or days[0], until or days[1]
    if until < since:
        raise typer.BadParameter(f"{until.isoformat()} is before --since {since.isoformat()}",
                                 param_hint="--until")
    year = stored_year(db, scheme, since, until)
    with seed_progress("replaying the stored year under each choice of gives_count_from...") as say:
        data = replay(year, seeds, progress=say)
    if fmt == "json":
        print_json(data)
    else:
        out.print(render_replay(data), markup=False, highlight=False, soft_wrap=True, end="")
