"""`reciprocal round ...`: run, show, decide, close, list."""
from __future__ import annotations

from datetime import date
from typing import Optional

import typer

from reciprocal.lifecycle import run
from reciprocal.lifecycle import rounds, views
from cli.context import FORMAT_HELP, out, parse_date, parse_format, print_json, settings
from cli.render import round_view, table

round_app = typer.Typer(help="Weekly match rounds: run, show, decide, close, list.", no_args_is_help=True)


@round_app.command("run")
def round_run(ctx: typer.Context,
              on: Optional[str] = typer.Option(None, help="The round's date, YYYY-MM-DD (default: today)."),
              time_limit: Optional[float] = typer.Option(None, min=0.1, max=3600,
                                                         help="Solver time limit in seconds."),
              format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Open a round on the open offers and requests and propose moves."""
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    db = s.database(scheme=scheme)
    day = parse_date(on, "--on") if on else date.today()
    if fmt == "table":
        with out.status("Matching..."):
            round_id = run.run_round(db, scheme, day, time_limit)
    else:
        round_id = run.run_round(db, scheme, day, time_limit)
    _show(db, round_id, fmt)


@round_app.command("show")
def round_show(ctx: typer.Context, round_id: int = typer.Argument(..., min=1, help="The round's id."),
               format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Show a round: proposals with reasons, unmatched requests with reasons, objectives."""
    fmt = parse_format(format)
    _show(settings(ctx).database(), round_id, fmt)


def _show(db, round_id: int, fmt: str) -> None:
    view = views.round_view(db, round_id)
    if fmt == "json":
        print_json(view)
    else:
        round_view(view)


@round_app.command("decide")
def round_decide(ctx: typer.Context, round_id: int = typer.Argument(..., min=1, help="The round's id."),
                 proposal: int = typer.Option(..., "--proposal", min=1, help="The proposal's id."),
                 accept: bool = typer.Option(False, "--accept", help="The household accepts the home."),
                 decline: bool = typer.Option(False, "--decline", help="The household declines the home."),
                 reason: Optional[str] = typer.Option(None, help="Why it was declined (required)."),
                 resolve: bool = typer.Option(True, help="After a decline, offer the freed home to "
                                              "households not yet proposed one this round."),
                 format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Accept or decline one proposal."""
    fmt = parse_format(format)
    if accept == decline:
        raise typer.BadParameter("give exactly one of --accept or --decline", param_hint="--accept/--decline")
    if decline and not (reason and reason.strip()):
        raise typer.BadParameter("a decline needs a reason", param_hint="--reason")
    s = settings(ctx)
    scheme = s.scheme()
    result = run.decide(s.database(scheme=scheme), scheme, round_id, proposal, accept, reason, resolve)
    if fmt == "json":
        print_json(result)
        return
    out.print(f"Proposal {result['proposal']} ({result['request']} -> {result['offer']}): {result['status']}.")
    for p in result["new_proposals"]:
        out.print(f"  re-solve proposed {p['offer']} to {p['request']}")
    if not accept and not result["new_proposals"] and resolve:
        out.print("  re-solve found no further proposal for the freed home.")


@round_app.command("close")
def round_close(ctx: typer.Context, round_id: int = typer.Argument(..., min=1, help="The round's id."),
                lapse_pending: bool = typer.Option(False, help="Let undecided proposals lapse instead "
                                                   "of refusing to close."),
                format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Commit accepted proposals as moves and write the ledger (atomic; safe to repeat)."""
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    result = rounds.close_round(s.database(scheme=scheme), scheme, round_id, lapse_pending)
    if fmt == "json":
        print_json(result.to_json())
        return
    if result.already_closed:
        out.print(f"Round {round_id} was already closed; nothing changed ({len(result.moves)} move(s)).")
        return
    out.print(f"Round {round_id} closed: {len(result.moves)} move(s) committed, ledger written, "
              f"post-move checklists created.")
    for h in result.held_back:
        out.print(f"  held back {h['request']} (proposal {h['proposal']}): {h['reason']}", markup=False)
    table("Moves", ["move", "request", "offer", "from", "to", "band"],
          [[m["move"], m["request"], m["offer"], m["from_provider"], m["to_provider"], m["band"]]
           for m in result.moves])


@round_app.command("list")
def round_list(ctx: typer.Context, format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """List rounds."""
    fmt = parse_format(format)
    rows = rounds.list_rounds(settings(ctx).database())
    if fmt == "json":
        print_json(rows)
        return
    table("Rounds", ["round", "on", "status", "proposals", "accepted", "moves", "unmatched"],
          [list(r.values()) for r in rows])
