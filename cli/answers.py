"""`reciprocal answers import FILE...`: members' returned workbooks (or their CSV twins), every file at once (README: Weeks of rounds, worked)."""
from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from cli.context import FORMAT_HELP, out, parse_format, print_json, settings
from cli.render import changes as print_changes

answers_app = typer.Typer(help="Members' answers: their returned pack workbooks, imported in one command.",
                          no_args_is_help=True)


@answers_app.command("import")
def answers_import(ctx: typer.Context,
                   files: List[Path] = typer.Argument(..., help="The returned workbooks (<member>-<day>.xlsx) or their CSV twins "
                                                       "(<member>-<day>-proposals|households|waiting.csv)."),
                   format: str = typer.Option("table", "--format", help=FORMAT_HELP)):
    """Apply every returned workbook or CSV twin: each file all or nothing, every problem of every file named."""
    from reciprocal.audits.answers import import_answers
    from reciprocal.errors import InputFileError
    fmt = parse_format(format)
    s = settings(ctx)
    scheme = s.scheme()
    result = import_answers(s.database(scheme=scheme), scheme, files)
    if fmt == "json":
        print_json(result.to_json())
    else:
        if result.rejudged:  # kept whatever becomes of the files: said first, never silent
            out.print("The configs as they are now, judged before the answers:", markup=False)
            print_changes(result.rejudged)
        for f in result.files:
            if f.problems:
                continue
            out.print(f"{f.file} ({f.member}, pack of {f.day}): {len(f.changes)} change(s); "
                      f"{len(f.already)} answer(s) already in the trail", markup=False, soft_wrap=True)
            print_changes(f.changes, "  nothing changed")
            for line in f.already:
                out.print(f"  already: {line}", markup=False, soft_wrap=True)
    refused = result.refused
    if refused:
        problems = [p for f in refused for p in f.problems]
        raise InputFileError(problems, f"{len(refused)} file(s) refused, nothing of them was applied "
                                       f"({', '.join(f.file for f in refused)}); {len(problems)} problem(s)")
