"""The project carries its own documentation: nothing a user reads cites "SPEC section N", a
document that is not in the repository. README.md, docs/*.md, the shipped MoU configs and every
`--help` text (commands, groups, options, arguments) point to README sections and docs/ instead."""
from __future__ import annotations

import re

import typer.main

from cli.app import app
from tests.conftest import ROOT

SPEC = re.compile(r"\bSPEC\b")


def help_texts(command, path=("reciprocal",)):
    """(where, text) of every help text of `command` and the commands below it."""
    for text in (command.help, command.short_help, getattr(command, "epilog", None)):
        if text:
            yield " ".join(path), text
    for param in command.params:
        if getattr(param, "help", None):
            yield f"{' '.join(path)} {param.name}", param.help
    for name, sub in getattr(command, "commands", {}).items():
        yield from help_texts(sub, path + (name,))


def test_readme_docs_and_shipped_configs_cite_no_spec():
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "mou_configs").rglob("*.yaml"))]
    assert len(files) > 3
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for path in files
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if SPEC.search(line)]
    assert not found, "cite the project's own docs instead:\n" + "\n".join(found)


def test_no_help_text_cites_spec():
    texts = list(help_texts(typer.main.get_command(app)))
    assert any(where == "reciprocal config init" for where, _ in texts)
    found = [f"{where}: {text}" for where, text in texts if SPEC.search(text)]
    assert not found, "cite the project's own docs instead:\n" + "\n".join(found)
