"""The terminal as a script's tool (issue 24): a command piped into `head` ends quietly with exit
0, and an empty list says so in words instead of drawing a table of headers."""
from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from tests.conftest import CONFIG_DIR
from tests.helpers import ENV, reciprocal, write_offers_csv

# More than a pipe holds (64 KiB), so the command is still writing when `head` goes away.
OFFERS = 1500


@pytest.fixture(scope="module")
def many_offers(tmp_path_factory, db_template):
    from tests.conftest import copy_database
    work = tmp_path_factory.mktemp("pipes")
    db = copy_database(db_template, work)
    done = reciprocal("offer", "import", str(write_offers_csv(work / "offers.csv", OFFERS)), db=db, cwd=work)
    assert done.returncode == 0, done.stderr
    return db, work


# `| true` reads nothing and is gone before the command prints its first line: the broken pipe
# always happens (with `| head -1` it happens only if the command is still writing once head has
# read its line, which a roomy pipe may hide).
@pytest.mark.parametrize("reader", ["head -1", "true"])
@pytest.mark.parametrize("args", [["offer", "list", "--all"], ["offer", "list", "--all", "--format", "json"],
                                  ["audit", "fairness", "--format", "csv"], ["config", "schema"]],
                         ids=" ".join)
def test_a_command_piped_into_head_ends_quietly_with_exit_0(args, reader, many_offers):
    db, work = many_offers
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "cli.app", "--db", str(db),
                                                  "--config", str(CONFIG_DIR), *args])
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {command} | {reader}"], env=ENV, cwd=work,
                          capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert len(proc.stdout.splitlines()) == (1 if reader == "head -1" else 0)


@pytest.mark.parametrize("args, says", [
    (["due", "--on", "2026-12-07"], "Nothing due by 2026-12-14 (5 working day(s) from 2026-12-07).\n"),
    (["proposal", "list"], "No proposals yet: `reciprocal round run` makes them.\n"),
    (["proposal", "list", "--stage", "viewing"], "No proposals match those filters.\n"),
    (["round", "list"], "No rounds yet: `reciprocal round run` runs this week's.\n"),
    (["offer", "list"], "No offers (available).\n"),
    (["request", "list", "--provider", "fenland"], "No requests (active) of fenland.\n"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_an_empty_list_says_so_in_words(args, says, db_url, tmp_path):
    done = reciprocal(*args, db=db_url, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, says, "")
