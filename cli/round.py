"""`reciprocal round ...`: run, show, list. Rounds are weekly matching events; proposals live
across them (`reciprocal proposal ...`), and signing is the move."""
from __future__ import annotations

from typing import Optional

import typer

from reciprocal.errors import StateError

from cli.context import FORMAT_HELP, day_or_today, out, parse_format, print_json, settings
from cli.render import changes as print_changes
from cli.render import ALL_HELP, BOUNDS_HELP, LIMIT, LIMIT_HELP, round_view, stage, table

round_app = typer.Typer(help="Weekly matching rounds: run, show, list.", no_args_is_help=True)


@round_app.command("run")
def round_run(ctx: typer.Context,
              on: Optional[str] = typer.Option(None, help="The round's date, YYYY-MM-DD (default: today)."),
              time_limit: Optional[float] = typer.Option(None, min=0.1, max=3600,
                                                         help="Solver time limit in seconds."),
              format: str = typer.Option("table", "--format", help=FORMAT_HELP),
              limit: int = typer.Option(LIMIT, "--limit", min=1, help=LIMIT_HELP),
              all_rows: bool = typer.Option(False, "--all", help=ALL_HELP),
              bounds: bool = typer.Option(False, "--bounds", help=BOUNDS_HELP),
              again: bool = typer.Option(False, "--again", help="Run another round on a day that "
                                         "already has one (without it, a second run that day "
                                         "changes nothing and says so).")):
    """This week's round: lapse what is overdue (case by case), then match the free pot."""
    from reciprocal.lifecycle import run, views
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    db = s.database(scheme=scheme)
    day = day_or_today(on)
    if fmt == "table":
        with out.status("Matching..."):
            outcome = run.run_round(db, scheme, day, time_limit, again)
    else:
        outcome = run.run_round(db, scheme, day, time_limit, again)
    before = outcome.before_matching()
    if fmt == "json":
        print_json(views.round_view(db, outcome.round_id))
        return
    if before:
        out.print(f"Before matching, on {day.isoformat()}:")
        print_changes(before)
    shown = None if all_rows else limit
    round_view(views.round_view(db, outcome.round_id, explained=shown), shown, bounds)


@round_app.command("show")
def round_show(ctx: typer.Context, round_id: int = typer.Argument(..., min=1, help="The round's id."),
               for_provider: Optional[str] = typer.Option(None, "--for-provider", help="Only that member's "
                                                          "part, as it may see it."),
               format: str = typer.Option("table", "--format", help=FORMAT_HELP),
               limit: int = typer.Option(LIMIT, "--limit", min=1, help=LIMIT_HELP),
               all_rows: bool = typer.Option(False, "--all", help=ALL_HELP),
               bounds: bool = typer.Option(False, "--bounds", help=BOUNDS_HELP)):
    """Show a round: proposals with their stage and reasons, unmatched requests with reasons, objectives."""
    from reciprocal.lifecycle import views
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme() if for_provider is not None else None
    shown = None if all_rows or fmt == "json" else limit
    # A member's view keeps only its own proposals: which of them a page shows is known only after.
    view = views.round_view(s.reader(scheme=scheme), round_id, scheme, for_provider,
                            explained=shown if for_provider is None else None)
    if fmt == "json":
        print_json(view)
    else:
        round_view(view, shown, bounds)


@round_app.command("decide", hidden=True)
def round_decide(round_id: int = typer.Argument(0, help="Not used any more."),
                 proposal: int = typer.Option(0, "--proposal", help="Not used any more."),
                 accept: bool = typer.Option(False, "--accept", help="Not used any more."),
                 decline: bool = typer.Option(False, "--decline", help="Not used any more."),
                 reason: Optional[str] = typer.Option(None, help="Not used any more.")):
    """Replaced by the proposal stages (`reciprocal proposal advance|refuse|sign`)."""
    raise StateError("`round decide` is gone: proposals now live across rounds through their stages. "
                     "Use `reciprocal proposal advance ID` (nomination confirmed, viewing, accepted), "
                     "`reciprocal proposal refuse ID --by ... --reason ...` or `reciprocal proposal sign ID "
                     "--tenancy-start DATE`; nothing was changed")


@round_app.command("close", hidden=True)
def round_close(round_id: int = typer.Argument(0, help="Not used any more."),
                lapse_pending: bool = typer.Option(False, help="Not used any more.")):
    """Replaced: rounds no longer close; signing a proposal is the move."""
    raise StateError("`round close` is gone: rounds no longer close, and no proposal lapses because a "
                     "round ended. A move is made by signing its proposal (`reciprocal proposal sign ID "
                     "--tenancy-start DATE`); overdue proposals lapse, each one named, at the next `round "
                     "run`; nothing was changed")


@round_app.command("list")
def round_list(ctx: typer.Context, format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """List rounds with how their proposals stand."""
    from reciprocal.lifecycle import views
    fmt = parse_format(format)
    rows = views.list_rounds(settings(ctx).reader())
    if fmt == "json":
        print_json(rows)
        return
    table("Rounds", ["round", "on", "status", "proposals", "live", "signed", "ended", "unmatched"],
          [[*list(r.values())[:2], stage(r["status"]), *list(r.values())[3:]] for r in rows],
          empty="No rounds yet: `reciprocal round run` runs this week's.")
