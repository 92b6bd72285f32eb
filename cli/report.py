"""`reciprocal report ...`: the quarterly report for funders."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cli.audit import FOR_PROVIDER_HELP, OUTPUT_HELP, emit, json_text
from cli.context import one_out, out, parse_format, settings
from cli.render import table

report_app = typer.Typer(help="Reports for funders: quarterly.", no_args_is_help=True)


@report_app.command("quarterly")
def report_quarterly(ctx: typer.Context,
                     year: int = typer.Option(..., "--year", min=2000, max=2999,
                                              help="Financial year starting 1 April YYYY."),
                     for_provider: Optional[str] = typer.Option(None, "--for-provider",
                                                                help=FOR_PROVIDER_HELP),
                     format: str = typer.Option("table", "--format", help="Output format: table, json, "
                                                "csv or md (Markdown)."),
                     output: Optional[Path] = typer.Option(None, "--out", help=OUTPUT_HELP),
                     old_output: Optional[Path] = typer.Option(None, "--output", "-o", hidden=True,
                                                               help="Old spelling of --out.")):
    """By financial quarter (April to March), area and provider: requests circulated, offers made,
    survivor and perpetrator moves, median weeks to move, requests still open, homes owed; and
    the members at their debt limit long enough to go to the board."""
    from reciprocal.audits import board_table, board_title, quarterly as reports
    from reciprocal.audits.exports import csv_text, markdown_table
    fmt = parse_format(format, ("table", "json", "csv", "md"))
    output = one_out(output, old_output, "--output")
    s = settings(ctx)
    scheme = s.scheme()
    report = reports.quarterly(s.database(scheme=scheme), scheme, year, for_provider)
    columns, rows = reports.quarterly_table(report)
    boards = {b["quarter"]: b for b in report["for_the_board"]}
    if fmt == "json":
        emit(json_text(report), output)
    elif fmt == "csv":
        emit(csv_text(columns, rows), output)
    elif fmt == "md":
        scope = f" (as {report['for_provider']} may see it)" if report["for_provider"] else ""
        parts = [f"# Quarterly report {report['financial_year']}: {report['scheme_name']}{scope}\n"]
        for q in report["quarters"] + [{"quarter": "year", "label": f"year {report['financial_year']}"}]:
            board = boards[q["quarter"]]
            parts += [f"## {q['label']}\n", markdown_table(
                columns[3:], [r[3:] for r in rows if r[0] == q["quarter"]])]
            if board["as_of"]:
                parts += [f"### {board_title(report, board['as_of'])}\n",
                          markdown_table(*board_table(board["providers"]))]
        parts += ["## Notes\n", "".join(f"- {n}\n" for n in report["notes"])]
        emit("\n".join(parts), output)
    elif output is not None:
        raise typer.BadParameter("--out needs --format json, csv or md", param_hint="--out")
    else:
        scope = f", as {report['for_provider']} may see it" if report["for_provider"] else ""
        out.print(f"[bold]Quarterly report {report['financial_year']}[/bold]{scope}")
        for q in report["quarters"] + [{"quarter": "year", "label": f"year {report['financial_year']}"}]:
            board = boards[q["quarter"]]
            table(q["label"], columns[3:], [r[3:] for r in rows if r[0] == q["quarter"]])
            if board["as_of"]:
                table(board_title(report, board["as_of"]), *board_table(board["providers"]))
