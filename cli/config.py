"""`reciprocal config ...`: validate, schema, show the MoU configs."""
from __future__ import annotations

import sys

import typer

from cli.context import FORMAT_HELP, out, parse_format, print_json, settings
from cli.render import table

config_app = typer.Typer(help="MoU configs: validate, schema, show.", no_args_is_help=True)


@config_app.command("validate")
def config_validate(ctx: typer.Context):
    """Check every MoU config; report every problem with file, line and key path."""
    scheme = settings(ctx).scheme()
    out.print(f"OK: {scheme.name}: {len(scheme.config.areas)} areas, {len(scheme.providers)} providers "
              f"({scheme.source})")


@config_app.command("schema")
def config_schema():
    """Print a JSON Schema of scheme.yaml and providers/<id>.yaml for editors."""
    from reciprocal.config import json_schema
    sys.stdout.write(json_schema() + "\n")


@config_app.command("show")
def config_show(ctx: typer.Context, format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Show the loaded scheme terms."""
    scheme = settings(ctx).scheme()
    data = scheme.config.model_dump(mode="json")
    if parse_format(format) == "json":
        print_json(data)
        return
    m = scheme.config.matching
    out.print(f"[bold]{scheme.name}[/bold] ({scheme.id})")
    out.print(f"objectives: {' > '.join(m.objectives)}; safety buffer {m.safety_buffer_hops} hop(s); "
              f"max_debt {scheme.config.fairness.max_debt}; horizon "
              f"{scheme.config.rounds.offer_horizon_days} days")
    table("Areas", ["area", "name", "neighbours"],
          [[a, s.name, s.neighbours] for a, s in scheme.config.areas.items()])
