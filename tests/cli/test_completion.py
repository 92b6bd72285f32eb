"""Shell completion (issue 24): `reciprocal --install-completion` (or `--show-completion`) gives
bash and zsh a completion script that asks the command itself; tested in a real bash by completing
a command, an option and a proposal id."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ENV, demo_database

BIN = Path(sys.executable).parent  # where the virtual environment put the `reciprocal` command


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    work = tmp_path_factory.mktemp("completion")
    return demo_database(work), work


def _env() -> dict[str, str]:
    return {**ENV, "PATH": f"{BIN}{os.pathsep}{ENV.get('PATH', '')}"}


def bash_completes(words: list[str], cwd: Path) -> list[str]:
    """What bash offers after `words` (the last one being completed), through the script
    `reciprocal --show-completion bash` prints, as an interactive bash would use it."""
    assert (BIN / "reciprocal").exists()
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    script = ('eval "$(reciprocal --show-completion bash)"\n'
              f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
              "_reciprocal_completion reciprocal\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], env={
        **_env(), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}, cwd=cwd, capture_output=True,
        text=True, timeout=120)
    assert (proc.returncode, proc.stderr) == (0, "")
    return [line for line in proc.stdout.splitlines() if line]


def test_bash_completes_a_command(demo):
    assert bash_completes(["reciprocal", "pro"], demo[1]) == ["provider", "proposal"]


def test_bash_completes_an_option(demo):
    assert bash_completes(["reciprocal", "proposal", "list", "--st"], demo[1]) == ["--stage"]


def test_bash_completes_a_live_proposal_id_for_a_stage_change(demo):
    db, work = demo
    assert bash_completes(["reciprocal", "--db", str(db), "proposal", "advance", ""], work) == ["6"]


def test_bash_completes_every_proposal_id_to_show(demo):
    db, work = demo
    assert bash_completes(["reciprocal", "--db", str(db), "proposal", "show", ""], work) == \
        ["6", "5", "4", "3", "2", "1"]


def test_no_database_completes_nothing_and_creates_nothing(demo):
    work = demo[1]
    assert bash_completes(["reciprocal", "--db", "missing.db", "proposal", "sign", ""], work) == []
    assert not (work / "missing.db").exists()


def test_zsh_gets_its_script_and_ids_with_what_they_are(demo):
    db, work = demo
    script = subprocess.run([str(BIN / "reciprocal"), "--show-completion", "zsh"], capture_output=True, text=True,
                            env={**_env(), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}, timeout=120)
    assert script.stdout.startswith("#compdef reciprocal")
    answer = subprocess.run([str(BIN / "reciprocal")], capture_output=True, text=True, timeout=120, env={
        **_env(), "_RECIPROCAL_COMPLETE": "complete_zsh",
        "_TYPER_COMPLETE_ARGS": f"reciprocal --db {db} proposal refuse "}, cwd=work)
    assert '"6":"RQ-0106 -> OF-2611-08, nomination_confirmed"' in answer.stdout
