"""`reciprocal simulate`: the scheme's weekly process, each policy on the same streams, over seeds.

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

from cli.context import FORMAT_HELP, err, out, parse_format, print_json, settings

SETTING_HELP = ("default: the scheme's own volume (Cambridgeshire's 17 referrals and 4 homes a year per "
                "16 members); stress: London's volume (1,401 requests circulated and 277 moves over 7.5 "
                "years); generous: London's volume with the tri-borough's 16 homes per 18 requests; "
                "regional: a synthetic 80-member region, 200 referrals a week.")

# Seeds run by default: 50 keeps the default setting under 60 CPU seconds for every column
# (docs/simulation.md); a replay reads a real stored year whose size is the scheme's, so it keeps 20.
SEEDS = 50
REPLAY_SEEDS = 20
SENSITIVITY_SEEDS = 20
POLICIES_DEFAULT = "today,fcfs,engine"
GIVES_DEFAULT = "proposed,nomination_confirmed,accepted,signed"


def simulate(ctx: typer.Context,
             setting: str = typer.Option("default", "--setting", help=SETTING_HELP),
             seeds: Optional[int] = typer.Option(None, "--seeds", min=1, max=500, help="How many seeds (streams) "
                                                 "to run; each figure is the median over them with its 5-95% "
                                                 "range. Default 50 (20 with --replay or --sensitivity)."),
             seed: int = typer.Option(1, "--seed", min=1, help="The first seed: seeds SEED..SEED+SEEDS-1 run."),
             weeks: int = typer.Option(52, "--weeks", min=1, max=520, help="Weekly rounds in a run."),
             policies: str = typer.Option(POLICIES_DEFAULT, "--policies", help="Policies, comma-separated: "
                                          "today (today's practice: the first suitable home offered wins), "
                                          "fcfs (first come, first served rounds), engine (the weekly round), "
                                          "engine_wait (the engine, waiting for every answer before the next round)."),
             gives: str = typer.Option(GIVES_DEFAULT, "--gives-count-from", help="The engine's columns: one per choice of "
                                       "fairness.gives_count_from (rule 9), comma-separated."),
             assume: list[str] = typer.Option([], "--assume", help="Change one assumption for this run, "
                                              "NAME=VALUE (a range as LO-HI); repeat for more. The names: "
                                              "--format json lists them, with their sources."),
             every: bool = typer.Option(False, "--every", help="Every measure, not only the headline ones."),
             format: str = typer.Option("table", "--format", help=FORMAT_HELP),
             html: Optional[Path] = typer.Option(None, "--out", help="Also write a self-contained HTML report "
                                                 "(households moved over the year, waits, balances) to this file."),
             requests_per_year: Optional[float] = typer.Option(
                 None, "--requests-per-year", min=0, max=1_000_000, help="Override the setting's referral volume."),
             offers_per_year: Optional[float] = typer.Option(
                 None, "--offers-per-year", min=0, max=1_000_000, help="Override the setting's volume of homes."),
             calibration: bool = typer.Option(False, "--calibration", help="Instead: today's practice at "
                                              "Cambridgeshire's and London's volumes beside their seed years."),
             sensitivity: bool = typer.Option(False, "--sensitivity", help="Instead: moves at both seed "
                                              "volumes with each assumption halved and doubled."),
             replay: bool = typer.Option(False, "--replay", help="Instead: the requests and homes stored in the "
                                         "database, with their real dates, replayed under each policy "
                                         "(answer times drawn over --seeds seeds); writes nothing."),
             since: Optional[datetime] = typer.Option(None, "--since", formats=["%Y-%m-%d"],
                                                      help="With --replay: the first round's day "
                                                      "(default: the first stored round's)."),
             until: Optional[datetime] = typer.Option(None, "--until", formats=["%Y-%m-%d"],
                                                      help="With --replay: the last day a round may "
                                                      "run (default: the last stored round's).")):
    """What would this engine, with our terms, do for our households, against what we do today?
    The scheme's weekly process simulated (referrals, circulation, homes offered for households,
    weekly rounds, stages, refusals, lapses, signing) over many seeds, each policy on the same
    streams: medians with their 5-95% ranges."""
    from reciprocal.audits.exports import check_writable
    from reciprocal.domain import GIVES_COUNT_FROM
    from reciprocal.simulation.arrivals import SETTINGS
    from reciprocal.simulation.assumptions import Assumptions
    from reciprocal.simulation.process import POLICIES

    fmt = parse_format(format)
    if html is not None:
        check_writable([html])  # before the simulation, not after it
    if setting not in SETTINGS:
        raise typer.BadParameter(f"'{setting}' is not one of {', '.join(SETTINGS)}", param_hint="--setting")
    chosen = _listed(policies, POLICIES, "--policies")
    choices = _listed(gives, GIVES_COUNT_FROM, "--gives-count-from")
    changes = {}
    for item in assume:
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"'{item}' is not NAME=VALUE", param_hint="--assume")
        changes[name.strip()] = value.strip()
    try:
        assumptions = Assumptions().with_changes(changes)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--assume") from None
    if sum((calibration, sensitivity, replay)) > 1:
        raise typer.BadParameter("choose one of them", param_hint="--calibration / --sensitivity / --replay")
    if (since is not None or until is not None) and not replay:
        raise typer.BadParameter("needs --replay", param_hint="--since / --until")
    stored_or_fixed = {"--weeks": weeks != 52, "--setting": setting != "default", "--seed": seed != 1,
                       "--requests-per-year": requests_per_year is not None,
                       "--offers-per-year": offers_per_year is not None}
    if calibration or sensitivity:
        stored_or_fixed.update({"--out": html is not None, "--every": every,
                                "--policies": policies != POLICIES_DEFAULT, "--gives-count-from": gives != GIVES_DEFAULT})
    given = [name for name, set_ in stored_or_fixed.items() if set_]
    if given and (calibration or sensitivity or replay):
        mode = "--replay" if replay else "--calibration" if calibration else "--sensitivity"
        why = ("the stored year sets them" if replay else "it runs today's practice over 52 weeks at each seed "
               "year's volume")
        raise typer.BadParameter(f"not with {mode}: {why}", param_hint=" / ".join(given))
    scheme = settings(ctx).scheme()
    if replay:
        _no_bands_for_hand_policies(scheme, chosen)
        _replay(ctx, scheme, since and since.date(), until and until.date(), seeds or REPLAY_SEEDS, fmt, html,
                chosen, choices, changes)
        return
    if calibration or sensitivity:
        _no_bands_for_hand_policies(scheme, ("today",), "--calibration / --sensitivity")
        _calibration(scheme, seeds, fmt, sensitivity, assumptions)
        return
    from reciprocal.simulation.compare import columns, compare
    from reciprocal.simulation.arrivals import rates_for

    run_scheme, base = rates_for(scheme, setting, assumptions)
    _no_bands_for_hand_policies(run_scheme, chosen)
    rates = None
    if requests_per_year is not None or offers_per_year is not None:
        volumes = {k: v for k, v in (("requests_per_year", requests_per_year),
                                     ("offers_per_year", offers_per_year)) if v is not None}
        rates = dataclasses.replace(base, **volumes, basis=base.basis + "; volumes set on the command line: "
                                    + ", ".join(f"{k} {v:g}" for k, v in volumes.items()))
    cols = columns(run_scheme, chosen, choices)
    with seed_progress("simulating...") as say:
        result = compare(scheme, setting, seeds or SEEDS, weeks, cols, assumptions, rates, progress=say,
                         first_seed=seed)
    _show(result, fmt, html, every)


def _no_bands_for_hand_policies(scheme, chosen: tuple[str, ...], option: str = "--policies") -> None:
    """Today's practice and first come, first served keep total debt limits only: refused, by
    name, on a scheme that limits bands, before anything runs."""
    hand = [p for p in chosen if p in ("today", "fcfs")]
    if hand and scheme.config.fairness.band_max_debt is not None:
        raise typer.BadParameter(
            f"{' and '.join(hand)} keep total debt limits only, and this scheme limits each bedroom band "
            f"(fairness.band_max_debt); run the engine's columns alone (--policies engine)", param_hint=option)


def _listed(text: str, known: tuple[str, ...], option: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise typer.BadParameter(f"'{', '.join(unknown) or text}' is not among {', '.join(known)}",
                                 param_hint=option)
    return names


def _show(result, fmt: str, html: Optional[Path], every: bool) -> None:
    from reciprocal.simulation_report import render_comparison

    if fmt == "json":
        print_json(result.to_json())
    else:
        out.print(render_comparison(result, out.width, every), markup=False, highlight=False, soft_wrap=True,
                  end="")
    _write_html(result, fmt, html)


def _write_html(comparison, fmt: str, html: Optional[Path]) -> None:
    """The HTML report, when asked for, and where it went (on stderr beside JSON)."""
    if html is None:
        return
    from reciprocal.audits.exports import write_private
    from reciprocal.simulation_report import html_report

    path = write_private(html, html_report(comparison))
    (err if fmt == "json" else out).print(f"HTML report written to {path}", markup=False, highlight=False,
                                          soft_wrap=True)


def _calibration(scheme, seeds: Optional[int], fmt: str, sensitivity: bool, assumptions) -> None:
    from reciprocal.simulation.calibration import calibrate, sensitivity as vary
    from reciprocal.simulation_report import render_calibration, render_sensitivity

    if sensitivity:
        if assumptions != type(assumptions)():
            raise typer.BadParameter("the sensitivity varies the assumptions as they are in "
                                     "reciprocal/simulation/assumptions.py", param_hint="--assume")
        with seed_progress("each assumption halved and doubled...") as say:
            base, rows = vary(scheme, seeds or SENSITIVITY_SEEDS, progress=say)
        if fmt == "json":
            print_json({"seeds": seeds or SENSITIVITY_SEEDS, "as_assumed": base,
                        "assumptions": [dataclasses.asdict(r) for r in rows]})
        else:
            out.print(render_sensitivity(base, rows, out.width), markup=False, highlight=False, soft_wrap=True, end="")
        return
    with seed_progress("today's practice at the seed years' volumes...") as say:
        checks = calibrate(scheme, seeds or SEEDS, assumptions, progress=say)
    if fmt == "json":
        print_json({"seeds": seeds or SEEDS, "checks": [{**dataclasses.asdict(c), "inside": c.inside}
                                                        for c in checks]})
    else:
        out.print(render_calibration(checks, out.width), markup=False, highlight=False, soft_wrap=True, end="")
        changed = [f"{a['name']}={a['value']}" for a, base in zip(assumptions.described(), type(assumptions)().described())
                   if a["value"] != base["value"]]
        if changed:
            out.print(f"\nAssumptions changed for this run: {', '.join(changed)}.", markup=False, highlight=False,
                      soft_wrap=True)


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


def _replay(ctx: typer.Context, scheme, since: date | None, until: date | None, seeds: int, fmt: str,
            html: Optional[Path], chosen: tuple[str, ...], choices: tuple[str, ...], changes: dict) -> None:
    """The stored year replayed (`reciprocal.simulation.replay`) on the columns asked for, read in
    one session that never commits; every measure is shown (`--every` is a replay's default)."""
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
    from reciprocal.simulation.compare import columns

    year = stored_year(db, scheme, since, until)
    year = dataclasses.replace(year, assumptions=year.assumptions.with_changes(changes))
    with seed_progress("replaying the stored year under each policy...") as say:
        done = replay(year, seeds, progress=say, cols=columns(scheme, chosen, choices))
    if fmt == "json":
        print_json(done.to_json())
    else:
        out.print(render_replay(done, out.width), markup=False, highlight=False, soft_wrap=True, end="")
    _write_html(done.comparison, fmt, html)
