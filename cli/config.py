"""`reciprocal config ...`: validate, schema, show the MoU configs."""
from __future__ import annotations


import typer
from rich.markup import escape

from reciprocal.errors import DatabaseError, Problem

from cli.context import FORMAT_HELP, out, parse_format, print_json, settings, write_out
from cli import scaffold
from cli.render import table

config_app = typer.Typer(help="MoU configs: validate, schema, show.", no_args_is_help=True)


@config_app.command("validate")
def config_validate(ctx: typer.Context,
                    db: bool = typer.Option(False, "--db", help="Also check the database (the global "
                                            "--db, else $RECIPROCAL_DATABASE_URL, else ./reciprocal.db): "
                                            "every member with records there must have a provider file.")):
    """Check every MoU config; report every problem with file, line and key path."""
    s = settings(ctx)
    from reciprocal.config import check_configs

    report = check_configs(s.config)
    out.print(f"MoU configs: {report.root}", markup=False)
    database = None
    if db:  # the database stack loads only when asked to check the database too
        from reciprocal.storage import Database, resolve_url
        database = Database(resolve_url(s.db))
    error = (report.error(_database_problems(database, report), database.display()) if database
             else report.error())
    if error is not None:
        raise error
    scheme = report.scheme
    assert scheme is not None
    checked = f"; database {database.display()} names no other member" if database else ""
    out.print(f"OK: {scheme.name}: {len(scheme.config.areas)} areas, {len(scheme.providers)} providers "
              f"({scheme.source}){checked}", markup=False)


def _database_problems(database, report) -> list[Problem]:
    """The database's side of `validate --db`: not ready, or naming members no file defines."""
    from reciprocal.storage.members import undefined_member_problems
    try:
        database.check_ready(report.scheme.id if report.scheme else None)
    except DatabaseError as exc:
        return [Problem(database.display(), exc.message)]
    return undefined_member_problems(database, report.provider_ids, str(report.root))[1]


@config_app.command("schema")
def config_schema():
    """Print a JSON Schema of scheme.yaml and providers/<id>.yaml for editors."""
    from reciprocal.config import json_schema
    write_out(json_schema() + "\n")


def debt_rule(scheme) -> str:
    """Rule 9 in force, in one sentence (`fairness.gives_count_from`)."""
    stage = scheme.gives_count_from
    gives = ("a home a member gives counts from the proposal that gives it, so it funds placements "
             "in the same round" if stage == "proposed" else
             "a home a member gives counts once the move is signed (no balance ever passes -max_debt)"
             if stage == "signed" else f"a home a member gives counts once its proposal is {stage}")
    return (f"a member's tenants are placed only while its balance, counting live proposals, stays "
            f"within -max_debt; placements count from proposed, {gives} (gives_count_from: {stage})")


@config_app.command("show")
def config_show(ctx: typer.Context, format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Show the loaded scheme terms."""
    scheme = settings(ctx).scheme()
    data = scheme.config.model_dump(mode="json")
    if parse_format(format) == "json":
        print_json(data)
        return
    m = scheme.config.matching
    out.print(f"[bold]{escape(scheme.name)}[/bold] ({scheme.id}), MoU configs in {escape(scheme.source)}")
    out.print(f"objectives: {' > '.join(m.objectives)}; safety buffer {m.safety_buffer_hops} hop(s); "
              f"max_debt {scheme.config.fairness.max_debt}; horizon "
              f"{scheme.config.rounds.offer_horizon_days} days")
    out.print(f"debt limit (rule 9): {debt_rule(scheme)}")
    table("Areas", ["area", "name", "neighbours"],
          [[a, s.name, s.neighbours] for a, s in scheme.config.areas.items()])


config_app.command("init")(scaffold.config_init)
