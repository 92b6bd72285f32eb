"""`reciprocal ledger ...`: show the balances, correct a move with a reversing entry."""
from __future__ import annotations

from typing import Optional

import typer

from cli.context import FORMAT_HELP, out, parse_format, print_json, settings
from cli.render import ALL_HELP, LIMIT, LIMIT_HELP
from cli.render import balances as render_balances

ledger_app = typer.Typer(help="The fairness ledger.", no_args_is_help=True)


@ledger_app.command("show")
def ledger_show(ctx: typer.Context, format: str = typer.Option("table", "--format", help=FORMAT_HELP),
                limit: int = typer.Option(LIMIT, "--limit", min=1, help=LIMIT_HELP),
                all_rows: bool = typer.Option(False, "--all", help=ALL_HELP)):
    """Balances per provider: homes given minus tenants housed by others, total and by band."""
    from reciprocal import ledger
    s = settings(ctx)
    scheme = s.scheme()
    with s.reader(scheme=scheme) as reader:
        data = ledger.summary(reader, {p: scheme.max_debt(p) for p in scheme.providers})
    if parse_format(format) == "json":
        print_json(data)
        return
    render_balances(data, None if all_rows else limit)


@ledger_app.command("correct")
def ledger_correct(ctx: typer.Context,
                   move: Optional[int] = typer.Argument(None, min=1, show_default=False, metavar="MOVE",
                                                        help="The move's id: its ledger legs are reversed."),
                   old_move: Optional[int] = typer.Option(None, "--move", min=1, hidden=True,
                                                          help="Old spelling of the MOVE argument."),
                   reason: str = typer.Option(..., "--reason", help="Why (kept in the ledger)."),
                   format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Reverse a move's two ledger legs with a reason (entries are never edited).

    The move stays recorded (the household did move); only its effect on the balances is
    reversed. A move can be corrected once."""
    from reciprocal import ledger
    fmt = parse_format(format)
    if move is not None and old_move is not None and move != old_move:
        raise typer.BadParameter("give the move once", param_hint="MOVE")
    move = move if move is not None else old_move
    if move is None:
        raise typer.BadParameter("which move? e.g. `reciprocal ledger correct 12 --reason ...`",
                                 param_hint="MOVE")
    if not reason.strip():
        raise typer.BadParameter("a correction needs a reason", param_hint="--reason")
    result = ledger.correct(settings(ctx).database(), move, reason)
    if fmt == "json":
        print_json(result)
        return
    legs = ", ".join(f"entry {e['id']}: {e['provider']} {e['amount']:+d}" for e in result["entries"])
    out.print(f"Move {move} corrected ({legs}).", markup=False)
