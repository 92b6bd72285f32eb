"""The `reciprocal` command: groups, global options, and the one place errors become exit codes."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from reciprocal.errors import ReciprocalError

from . import (audit_commands, bench_command, db_commands, ledger_commands, move_commands,
               pot_commands, report_commands, round_commands, simulate_command)
from .context import FORMAT_HELP, err, out, parse_date, parse_format, print_json, settings
from .render import table

app = typer.Typer(help="Managed reciprocal: match, move and keep the ledger fair.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
config_app = typer.Typer(help="MoU configs: validate, schema, show.", no_args_is_help=True)
provider_app = typer.Typer(help="Scheme members.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(provider_app, name="provider")
app.add_typer(pot_commands.offer_app, name="offer")
app.add_typer(pot_commands.request_app, name="request")
app.add_typer(round_commands.round_app, name="round")
app.add_typer(move_commands.move_app, name="move")
app.add_typer(ledger_commands.ledger_app, name="ledger")
app.add_typer(audit_commands.audit_app, name="audit")
app.add_typer(report_commands.report_app, name="report")
app.add_typer(db_commands.db_app, name="db")
app.command("bench")(bench_command.bench)
app.command("simulate")(simulate_command.simulate)


@app.callback()
def root(ctx: typer.Context,
         db: Optional[str] = typer.Option(None, "--db", help="Database path or URL (default: "
                                          "$RECIPROCAL_DATABASE_URL, else ./reciprocal.db)."),
         config: Optional[Path] = typer.Option(None, "--config", help="MoU config folder (default: "
                                               "$RECIPROCAL_CONFIG_DIR, else ./mou_configs).")):
    """Managed reciprocal: match, move and keep the ledger fair."""
    s = settings(ctx)
    s.db, s.config = db, config


@app.command()
def init(ctx: typer.Context):
    """Create the database (a SQLite file readable by its owner only) for the scheme."""
    s = settings(ctx)
    scheme = s.scheme()
    db = s.database(must_exist=False)
    db.create(scheme.id)
    out.print(f"Database {db.display()} is ready for {scheme.name}.")


@app.command()
def demo(ctx: typer.Context,
         db: Optional[Path] = typer.Option(None, "--db", help="Where to create the demo database "
                                           "(default: a new temporary folder)."),
         on: str = typer.Option("2026-11-23", help="The round's date (YYYY-MM-DD).")):
    """Run a full weekly cycle on the example scheme in a fresh embedded database."""
    from .demo import run_demo
    run_demo(settings(ctx), db, parse_date(on, "--on"))


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


def main() -> None:
    """Entry point: run the app and map every error to a message on stderr and an exit code."""
    try:
        result = app(standalone_mode=False)
    except ReciprocalError as exc:
        err.print(exc.message, markup=False)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: bad options or arguments
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            err.print(exc.message, markup=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # no traceback: locals may hold tenant data
        if os.environ.get("RECIPROCAL_DEBUG") == "1":
            raise
        err.print(f"internal error ({type(exc).__name__}); nothing more is shown to protect household "
                  f"data. Re-run with RECIPROCAL_DEBUG=1 to see the traceback.", markup=False)
        sys.exit(70)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
