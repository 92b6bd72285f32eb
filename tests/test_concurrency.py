"""Two `reciprocal` processes on one round at the same moment, on the suite's backend (SQLite, or
PostgreSQL when `RECIPROCAL_TEST_DATABASE_URL` is set).

Writers take turns (`Database.transaction`: BEGIN IMMEDIATE on SQLite, an advisory lock on
PostgreSQL), so of two `round close` one closes and the other finds the round closed; of two
`round run` one opens a round and the other is told a round is open; a `decide` racing a `close`
either lands before it or is refused after it. In every case no home is let twice, no move is
doubled, and the ledger verifies.

The processes are real: a launcher process imports the whole command line once and forks one
child per command; the children wait at a barrier (a file appearing) and then run `main()`
together, so both reach the database within a millisecond of each other instead of 1.5 s of
imports apart. `test_crash` uses the same launcher to kill commands part-way.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from matching.engine import decide, run_round
from reciprocal import audits
from reciprocal.generator import generate
from reciprocal.pot import add_records
from reciprocal.rounds import round_view
from reciprocal.storage import Database, resolve_url

from .conftest import CONFIG_DIR, ROOT, ROUND_DAY, copy_database, count, drop_database

# The launcher: everything heavy is imported before the first fork; each child waits for its
# batch's "go" file, runs the real entry point with its output sent to two files, and exits with
# the command's exit code. The launcher reports each batch's child pids, then their exit codes
# (negative: killed by that signal).
LAUNCHER = r"""
import json, os, sys, time
from cli.app import main
print("ready", flush=True)
for line in sys.stdin:
    batch = json.loads(line)
    pids = []
    for job in batch["jobs"]:
        pid = os.fork()
        if pid == 0:
            code = 98
            try:
                for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
                    os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                if "umask" in job:
                    os.umask(job["umask"])
                while not os.path.exists(batch["go"]):
                    time.sleep(0.0002)
                sys.argv = ["reciprocal", *job["argv"]]
                try:
                    main()
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
        pids.append(pid)
    print(json.dumps({"pids": pids}), flush=True)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    print(json.dumps({"codes": codes}), flush=True)
"""

# No variable of the caller's leaks in (RECIPROCAL_DATABASE_URL...); one BLAS thread, because a
# forked child must not inherit a thread pool it cannot use.
LAUNCHER_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("RECIPROCAL_")},
                "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "PYTHONPATH": str(ROOT)}


@dataclass
class Outcome:
    argv: list[str]
    code: int  # negative: killed by that signal
    stdout: str
    stderr: str


class Batch:
    """Commands forked together, held at the barrier until `go()`."""

    def __init__(self, launcher: "Launcher", argvs: list[list[str]], pids: list[int], files, go: Path):
        self.launcher, self.argvs, self.pids, self.files, self.go_file = launcher, argvs, pids, files, go

    def go(self) -> float:
        self.go_file.touch()
        return time.monotonic()

    def finished(self) -> bool:
        """Whether every command of the batch has ended (without waiting)."""
        return self.launcher.has_line()

    def wait(self, timeout: float = 120) -> list[Outcome]:
        codes = self.launcher.read(timeout)["codes"]
        return [Outcome(argv, code, out.read_text(), err.read_text())
                for argv, code, (out, err) in zip(self.argvs, codes, self.files)]


class Launcher:
    def __init__(self, work: Path):
        self.work = work
        self.batches = 0
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCHER], cwd=work, env=LAUNCHER_ENV,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.buffer = b""
        assert self.read_line(120) == "ready"

    def read_line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("the launcher did not answer in time")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"the launcher stopped (exit {self.proc.wait()})")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def has_line(self) -> bool:
        if b"\n" in self.buffer:
            return True
        ready, _, _ = select.select([self.proc.stdout], [], [], 0)
        if ready:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"the launcher stopped (exit {self.proc.wait()})")
            self.buffer += chunk
        return b"\n" in self.buffer

    def read(self, timeout: float) -> dict:
        return json.loads(self.read_line(timeout))

    def start(self, *argvs: list[str], umask: int | None = None) -> Batch:
        """Fork one child per command; they wait until the batch's `go()`."""
        self.batches += 1
        folder = self.work / f"batch{self.batches}"
        folder.mkdir()
        files = [(folder / f"{k}.out", folder / f"{k}.err") for k in range(len(argvs))]
        go = folder / "go"
        jobs = [{"argv": a, "stdout": str(o), "stderr": str(e), **({} if umask is None else {"umask": umask})}
                for a, (o, e) in zip(argvs, files)]
        self.proc.stdin.write((json.dumps({"jobs": jobs, "go": str(go)}) + "\n").encode())
        self.proc.stdin.flush()
        return Batch(self, argvs, self.read(60)["pids"], files, go)

    def run(self, *argvs: list[str], umask: int | None = None) -> list[Outcome]:
        """Run commands at the same moment and wait for all of them."""
        batch = self.start(*argvs, umask=umask)
        batch.go()
        return batch.wait()

    def reciprocal(self, *args: str, db: str | None, umask: int | None = None) -> Outcome:
        """One command on `db` with the example scheme, like `test_cli.reciprocal` but without
        a second and a half of imports; its output may never hold a traceback."""
        outcome = self.run(command(db, *args) if db else ["--config", str(CONFIG_DIR), *args],
                           umask=umask)[0]
        no_traceback([outcome])
        return outcome

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def launcher(tmp_path_factory):
    started = Launcher(tmp_path_factory.mktemp("launcher"))
    yield started
    started.close()


def command(url: str, *args: str) -> list[str]:
    return ["--db", url, "--config", str(CONFIG_DIR), *args]


def no_traceback(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        assert "Traceback" not in o.stdout + o.stderr, o.stderr
        assert "internal error" not in o.stderr, o.stderr


# -- the data: four generated pilot pots merged, about 80 accepted proposals ------------------------

def generated_pot(seeds=range(1, 5)):
    requests, offers = [], []
    for seed in seeds:
        inst = generate("pilot", seed)
        requests += [replace(r, ref=f"S{seed}-{r.ref}") for r in inst.requests]
        offers += [replace(o, ref=f"S{seed}-{o.ref}") for o in inst.offers]
    return requests, offers


def accepted_round(db: Database, scheme) -> int:
    """Round 1 on the generated pot, every proposal accepted; returns how many."""
    requests, offers = generated_pot()
    add_records(db, requests)
    add_records(db, offers)
    round_id = run_round(db, scheme, ROUND_DAY)
    assert round_id == 1
    proposals = round_view(db, 1)["proposals"]
    for p in proposals:
        decide(db, scheme, 1, p["id"], True)
    return len(proposals)


@pytest.fixture(scope="module")
def pot_db(tmp_path_factory, db_template, scheme):
    """A database holding the generated pot, no round yet (never written to: copy it)."""
    url = copy_database(db_template, tmp_path_factory.mktemp("pot"))
    database = Database(resolve_url(url))
    requests, offers = generated_pot()
    add_records(database, requests)
    add_records(database, offers)
    database.engine.dispose()
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def round_db(tmp_path_factory, db_template, scheme):
    """A database whose round 1 has every proposal accepted, and the number accepted."""
    url = copy_database(db_template, tmp_path_factory.mktemp("round"))
    database = Database(resolve_url(url))
    accepted = accepted_round(database, scheme)
    database.engine.dispose()
    yield url, accepted
    drop_database(url)


def rows(url: str, statement: str) -> list[tuple]:
    engine = create_engine(resolve_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(statement)).all()]
    finally:
        engine.dispose()


def assert_single_close(url: str, accepted: int) -> None:
    """What one close of the round leaves: one move per accepted proposal, two ledger legs and
    three checklist items each, every home let once, every household moved once."""
    assert count(url, "move") == accepted
    assert count(url, "ledger_entry") == 2 * accepted
    assert count(url, "checklist_item") == 3 * accepted
    assert rows(url, "SELECT count(DISTINCT offer_ref), count(DISTINCT request_ref) FROM move") == [
        (accepted, accepted)]
    assert count(url, "offer WHERE status = 'let'") == accepted
    assert count(url, "request WHERE status = 'moved'") == accepted
    assert rows(url, "SELECT status FROM round") == [("closed",)]
    verification = audits.verify(Database(resolve_url(url)))
    assert verification.ok, [str(f) for f in verification.failures]


# -- the races ------------------------------------------------------------------------------------

@pytest.mark.parametrize("attempt", range(3))
def test_two_closes_at_once_close_the_round_once(launcher, round_db, tmp_path, attempt):
    template, accepted = round_db
    url = copy_database(template, tmp_path)
    try:
        outcomes = launcher.run(*[command(url, "round", "close", "1", "--format", "json")] * 2)
        no_traceback(outcomes)
        assert [o.code for o in outcomes] == [0, 0], [o.stderr for o in outcomes]
        results = [json.loads(o.stdout) for o in outcomes]
        assert sorted(r["already_closed"] for r in results) == [False, True]
        winner = next(r for r in results if not r["already_closed"])
        loser = next(r for r in results if r["already_closed"])
        assert len(winner["moves"]) == accepted
        assert loser["moves"] == winner["moves"]  # the loser reports the winner's moves, unchanged
        assert_single_close(url, accepted)
    finally:
        drop_database(url)


def test_the_loser_of_a_close_race_is_told_plainly(launcher, round_db, tmp_path):
    template, accepted = round_db
    url = copy_database(template, tmp_path)
    try:
        outcomes = launcher.run(*[command(url, "round", "close", "1")] * 2)
        no_traceback(outcomes)
        texts = sorted(o.stdout.splitlines()[0] for o in outcomes)
        assert texts == [f"Round 1 closed: {accepted} move(s) committed, ledger written, post-move "
                         f"checklists created.",
                         f"Round 1 was already closed; nothing changed ({accepted} move(s))."]
        assert_single_close(url, accepted)
    finally:
        drop_database(url)


@pytest.mark.parametrize("attempt", range(2))
def test_two_runs_at_once_open_one_round(launcher, pot_db, tmp_path, attempt):
    url = copy_database(pot_db, tmp_path)
    try:
        outcomes = launcher.run(*[command(url, "round", "run", "--on", ROUND_DAY.isoformat(),
                                          "--format", "json")] * 2)
        no_traceback(outcomes)
        assert sorted(o.code for o in outcomes) == [0, 4], [o.stderr for o in outcomes]
        winner = next(o for o in outcomes if o.code == 0)
        loser = next(o for o in outcomes if o.code == 4)
        assert json.loads(winner.stdout)["round"] == 1
        assert loser.stderr.strip() == ("round 1 is still open; decide and close it (`reciprocal round "
                                        "close 1`) before running a new round")
        assert loser.stdout == ""
        assert count(url, "round") == 1
        proposals = json.loads(winner.stdout)["proposals"]
        assert count(url, "proposal") == len(proposals) > 0
        assert rows(url, "SELECT count(DISTINCT offer_ref), count(DISTINCT request_ref) FROM proposal") == [
            (len(proposals), len(proposals))]
    finally:
        drop_database(url)


@pytest.mark.parametrize("attempt", range(2))
def test_a_decline_racing_a_close_lands_before_it_or_is_refused(launcher, round_db, tmp_path, attempt):
    template, accepted = round_db
    url = copy_database(template, tmp_path)
    try:
        declined_id, declined_request = rows(url, "SELECT id, request_ref FROM proposal ORDER BY id LIMIT 1")[0]
        close, decline = launcher.run(
            command(url, "round", "close", "1", "--format", "json"),
            command(url, "round", "decide", "1", "--proposal", str(declined_id), "--decline",
                    "--reason", "household declined", "--no-resolve", "--format", "json"))
        no_traceback([close, decline])
        assert close.code == 0, close.stderr
        moved = {m["request"] for m in json.loads(close.stdout)["moves"]}
        if decline.code == 0:  # the decline came first: that household did not move
            assert json.loads(decline.stdout)["status"] == "declined"
            assert declined_request not in moved
            assert_single_close(url, accepted - 1)
            assert rows(url, f"SELECT status FROM proposal WHERE id = {declined_id}") == [("declined",)]
        else:  # the close came first: the decline is refused and the household moved
            assert decline.code == 4
            assert decline.stderr.strip() == ("round 1 is closed; its proposals can no longer be "
                                              "decided")
            assert declined_request in moved
            assert_single_close(url, accepted)
    finally:
        drop_database(url)


def test_two_imports_of_one_file_at_once_store_it_once(launcher, tmp_path, db_url, scheme):
    from .test_crash import write_offers_csv
    path = write_offers_csv(tmp_path / "offers.csv", 400)
    outcomes = launcher.run(*[command(db_url, "offer", "import", str(path))] * 2)
    no_traceback(outcomes)
    assert [o.code for o in outcomes] == [0, 0], [o.stderr for o in outcomes]
    assert sorted(o.stdout.strip() for o in outcomes) == [
        "Imported offers.csv: 0 new offer(s), 400 already stored unchanged.",
        "Imported offers.csv: 400 new offer(s), 0 already stored unchanged."]
    assert count(db_url, "offer") == 400
