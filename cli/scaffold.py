"""`reciprocal config init FOLDER`: a new scheme's MoU configs and CSV templates, ready to fill in.

Registered in the `config` group by `cli/app.py`; the files themselves come from
`reciprocal/scaffold.py`."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer

from cli.context import out
from reciprocal.errors import Problem

# The scaffold (it reads the config models and the CSV columns) loads when the command runs, not
# for `--help` (tests/cli/test_startup.py); its placeholder ids are named here for the help.
DEFAULT_AREAS = ("area_one", "area_two")
DEFAULT_MEMBERS = ("member_one", "member_two")


def config_init(
        folder: Path = typer.Argument(..., help="The new scheme's config folder (created if needed)."),
        areas: Optional[str] = typer.Option(None, "--areas", help="Area ids, comma-separated (default: "
                                            f"{','.join(DEFAULT_AREAS)})."),
        members: Optional[str] = typer.Option(None, "--members", help="Member (provider) ids, "
                                              f"comma-separated (default: {','.join(DEFAULT_MEMBERS)})."),
        scheme_id: Optional[str] = typer.Option(None, "--id", help="The scheme's id (default: from the "
                                                "folder's name)."),
        name: Optional[str] = typer.Option(None, "--name", help="The scheme's name."),
):
    """Scaffold a new scheme: scheme.yaml, one providers/<id>.yaml per member, CSV templates.

    Never overwrites a file. Every key is described in docs/config.md; fill in the areas'
    neighbours, then check with `reciprocal --config FOLDER config validate`."""
    from reciprocal.config import not_one_line
    from reciprocal.scaffold import ScaffoldError, parse_ids, plan, scheme_id_for, write

    area_ids, problems = parse_ids(areas, "--areas", DEFAULT_AREAS)
    member_ids, found = parse_ids(members, "--members", DEFAULT_MEMBERS)
    problems += found
    ids, found = parse_ids(scheme_id or scheme_id_for(folder), "--id", ())
    problems += found
    if name is not None and not name.strip():
        problems.append(Problem("--name", "give the scheme a name"))
    elif name is not None and not_one_line(name):
        problems.append(Problem("--name", not_one_line(name)))
    if problems:
        raise ScaffoldError(problems)
    written = write(folder, plan(ids[0], name and name.strip(), area_ids, member_ids, date.today()))
    for path in written:
        out.print(f"wrote {path}", markup=False)
    out.print(f"Next: give each area its neighbours in {folder / 'scheme.yaml'}, check each member's "
              f"areas and grants, then run: reciprocal --config {folder} config validate", markup=False)
