"""The README's "Every command" table names every command of the CLI, and only commands it has.

The commands come from the Typer app itself (`registered_commands` and `registered_groups`, named
as Typer names them, and the subcommands the root loads when named, `cli.app.SUBCOMMANDS`); the table's first column names them in backticks, a group's commands joined
by " / " (`round run / show / decide`), top-level commands alone (`init`)."""
from __future__ import annotations

import re

import typer
import typer.main

from cli.app import SUBCOMMANDS, app, subcommand
from tests.conftest import ROOT

README = ROOT / "README.md"
SECTION = "## Every command"


def typer_commands(typer_app: typer.Typer, prefix: tuple[str, ...] = ()) -> set[str]:
    """Every visible command of `typer_app`, as "group command" (or "command" at the top level).

    A command is named by its `name`, else, as Typer does, by its function's name in lower case
    with "_" as "-". A group is named as `add_typer` (or its Typer, or its callback) says; a group
    without a name has its commands merged into its parent's, as Typer does."""
    found = set()
    for info in typer_app.registered_commands:
        if info.hidden:
            continue
        name = info.name or typer.main.get_command_name(info.callback.__name__)
        found.add(" ".join((*prefix, name)))
    for group in typer_app.registered_groups:
        solved = typer.main.solve_typer_info_defaults(group)
        if solved.hidden:
            continue
        inner = prefix + ((solved.name,) if solved.name else ())
        found |= typer_commands(group.typer_instance, inner)
    if typer_app is app:  # the root's subcommands, each loaded when named
        for name in SUBCOMMANDS:
            found |= (typer_commands(subcommand(name), (name,)) if isinstance(subcommand(name), typer.Typer)
                      else {name})
    return found


def click_commands(command, path: tuple[str, ...] = ()) -> set[str]:
    """The leaf commands of the Click command Typer builds from the app (a cross-check)."""
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        return set() if command.hidden else {" ".join(path)}
    found = set()
    for name, sub in subcommands.items():
        if not sub.hidden:
            found |= click_commands(sub, path + (name,))
    return found


def table_commands() -> set[str]:
    """The commands the first column of the README's "Every command" table names.

    Each backticked span is one group's commands: `offer add / import` is "offer add" and
    "offer import"; a leading `reciprocal ` is allowed and dropped."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = re.split(r"^## ", text.split(SECTION, 1)[1], maxsplit=1, flags=re.M)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) > 2, "the Every command section has no table"
    found = set()
    for row in rows[2:]:  # past the header and the --- line
        first_cell = row.strip("|").split("|", 1)[0]
        for span in re.findall(r"`([^`]+)`", first_cell):
            parts = [p.split() for p in span.split("/")]
            head = parts[0][1:] if parts[0][:1] == ["reciprocal"] else parts[0]
            group = head[:-1]
            found.add(" ".join(head))
            found |= {" ".join(group + words) for words in parts[1:]}
    return found


def test_the_walk_finds_the_commands_typer_builds():
    assert typer_commands(app) == click_commands(typer.main.get_command(app))


def test_every_command_is_in_the_readme_table():
    commands = typer_commands(app)
    assert {"init", "round run", "request purge", "db upgrade"} <= commands
    missing = sorted(commands - table_commands())
    assert not missing, f"not in README.md's {SECTION!r} table: {missing}"


def test_the_readme_table_names_no_command_the_cli_lacks():
    unknown = sorted(table_commands() - typer_commands(app))
    assert not unknown, f"README.md's {SECTION!r} table names commands the CLI lacks: {unknown}"
