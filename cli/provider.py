"""`reciprocal provider ...`: the scheme's members."""
from __future__ import annotations


import typer

from cli.context import FORMAT_HELP, parse_format, print_json, settings
from cli.render import table

provider_app = typer.Typer(help="Scheme members.", no_args_is_help=True)


@provider_app.command("list")
def provider_list(ctx: typer.Context, format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """List the scheme's members and their MoU terms."""
    scheme = settings(ctx).scheme()
    rows = [{"id": p.id, "name": p.name, "kind": p.kind, "areas": p.areas,
             "accepts_perpetrator_moves": p.accepts_perpetrator_moves, "max_debt": scheme.max_debt(p.id),
             "status": p.status} for p in scheme.providers.values()]
    if parse_format(format) == "json":
        print_json(rows)
        return
    table("Providers", list(rows[0]), [list(r.values()) for r in rows])
