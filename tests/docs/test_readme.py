"""The README's worked weekly round runs as written (principle 10: examples in it are tested)."""
from __future__ import annotations

import re
import shlex

from tests.conftest import ROOT

README = ROOT / "README.md"


def worked_round_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Weeks of rounds, worked", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    commands = []
    for line in block.splitlines():
        command = line.split("#", 1)[0].strip()
        if command.startswith("reciprocal "):
            commands.append(command)
    return commands


def test_readme_shows_make_demo_and_make_test_first():
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    assert "make demo" in first_block and "make test" in first_block


def test_readme_worked_round_runs(tmp_path, launcher):
    """Each command a process of its own in the checkout, as a reader would type it there (forked
    by the launcher, its imports done: the worked weeks are twenty-odd commands)."""
    commands = worked_round_commands()
    assert len(commands) >= 8
    env = {"RECIPROCAL_DATABASE_URL": str(tmp_path / "readme.db")}
    for command in commands:
        argv = shlex.split(command)[1:]
        if "--to" in argv:  # files the README writes go to the test's folder, not the checkout
            argv[argv.index("--to") + 1] = str(tmp_path / argv[argv.index("--to") + 1])
        proc = launcher.run(argv, cwd=ROOT, env=env)[0]
        assert proc.code == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr
