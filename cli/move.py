"""`reciprocal move ...`: the post-move checklist of each move (docs/audits.md, The post-move checklist)."""
from __future__ import annotations

from datetime import date
from typing import Optional

import typer

from cli.audit import FOR_PROVIDER_HELP
from cli.context import FORMAT_HELP, out, parse_date, parse_format, print_json, settings
from cli.render import table

move_app = typer.Typer(help="Moves: the post-move checklist.", no_args_is_help=True)


@move_app.command("checklist")
def move_checklist(ctx: typer.Context,
                   outstanding: bool = typer.Option(False, "--outstanding", help="Only items not yet done."),
                   for_provider: Optional[str] = typer.Option(None, "--for-provider", help=FOR_PROVIDER_HELP),
                   format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """List the post-move checklist items (DA flag, DA referral, Sanctuary check) and their owners."""
    from reciprocal.lifecycle import checklist
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    items = checklist.checklist(s.database(scheme=scheme), scheme, outstanding, for_provider)
    if fmt == "json":
        print_json(items)
        return
    cols = ["move", "request", "moved_on", "item", "owner", "status", "done_on"]
    what = "outstanding" if outstanding else "all"
    table(f"Post-move checklist ({what}): {len(items)}", cols, [[i[c] for c in cols] for i in items])


@move_app.command("done")
def move_done(ctx: typer.Context, move_id: int = typer.Argument(..., min=1, help="The move's id."),
              item: str = typer.Argument(..., help="The item, e.g. sanctuary_scheme_check_at_new_home."),
              on: Optional[str] = typer.Option(None, help="The day it was done, YYYY-MM-DD "
                                               "(default: today)."),
              format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Tick one checklist item of a move as done (by its owner, the new landlord)."""
    from reciprocal.lifecycle import checklist
    fmt = parse_format(format)
    day = parse_date(on, "--on") if on else date.today()
    result = checklist.tick(settings(ctx).database(), move_id, item, day)
    if fmt == "json":
        print_json(result)
        return
    if result["already_done"]:
        out.print(f"Move {move_id}: {item} was already done on {result['done_on']}.", markup=False)
    else:
        out.print(f"Move {move_id}: {item} done on {result['done_on']} ({result['owner']}).", markup=False)
