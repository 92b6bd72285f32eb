"""Shared fixtures: the example scheme, fresh databases, and tiny hand-built offers and requests.

The database backend comes from `RECIPROCAL_TEST_DATABASE_URL`: unset, every test database is a
SQLite file; set to a PostgreSQL URL (`make test` does this for its second run, with the server
`scripts/pg-test-server` starts), every test gets a database of its own on that server.

On SQLite a fresh database is a copy of a file `Database.create` made once. On PostgreSQL the
`db` of a test is a schema of its own in the test database (the URL's `options=-csearch_path=...`
points every connection at it), given the statements `Database.create` sent when it made the
template, replayed (checked at the start to make the same schema: `_learn_create`). Tests that
need copies of a database holding data (`copy_database`) get whole databases, `CREATE DATABASE
... TEMPLATE`. Databases and schemas are dropped on a thread of their own (`_Dropper`).
"""
from __future__ import annotations

import itertools
import json
import os
import select
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from reciprocal.config import Scheme, load_scheme
from reciprocal.domain import Offer, PropertyType, Request, RequestKind, Risk
from reciprocal.simulation.generator import generate
from reciprocal.intake.pot import add_records
from reciprocal.storage import Database, resolve_url

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "mou_configs"
DEMO_DATA = ROOT / "reciprocal" / "demo_data"
ROUND_DAY = date(2026, 11, 23)

TEST_DATABASE_URL = os.environ.get("RECIPROCAL_TEST_DATABASE_URL") or None
BACKEND = make_url(TEST_DATABASE_URL).get_backend_name() if TEST_DATABASE_URL else "sqlite"
ON_POSTGRES = BACKEND == "postgresql"
if TEST_DATABASE_URL and not ON_POSTGRES:
    raise RuntimeError(f"RECIPROCAL_TEST_DATABASE_URL must be a PostgreSQL URL, not {BACKEND}")

only_sqlite = pytest.mark.skipif(ON_POSTGRES, reason="about the SQLite file itself")


def pytest_report_header(config) -> str:
    if ON_POSTGRES:
        shown = make_url(TEST_DATABASE_URL).render_as_string(hide_password=True)
        return f"database backend: postgresql ({shown})"
    return "database backend: sqlite"


@pytest.fixture(scope="session")
def scheme() -> Scheme:
    return load_scheme(CONFIG_DIR)


# -- PostgreSQL: one database per test, copied from a template ---------------------------------

_names = itertools.count(1)
PREFIX = "rt_"


class _Kept:
    """An engine on the server's test database kept for the session (its pool keeps a connection
    open): making and dropping a schema for every test no longer pays a connection each time."""

    def __init__(self, **options):
        self.options, self.engine = options, None

    def connect(self):
        if self.engine is None:
            self.engine = create_engine(TEST_DATABASE_URL, pool_size=1, max_overflow=2, pool_pre_ping=True,
                                        **self.options)
        return self.engine.connect()

    def dispose(self) -> None:
        pass  # kept; `close` ends it


_kept_admin = _Kept(isolation_level="AUTOCOMMIT")
_kept_writer = _Kept()


def _admin():
    """A connection to the server's test database, for CREATE and DROP DATABASE and SCHEMA."""
    return _kept_admin


def _with_database(name: str) -> str:
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


def pg_create_database(template: str | None = None) -> str:
    """A new, empty (or template-copied) database on the test server; returns its URL."""
    name = f"{PREFIX}{os.getpid()}_{next(_names)}"
    engine = _admin()
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        # WAL_LOG (the default), not FILE_COPY: FILE_COPY waits for two checkpoints, which flush
        # every dirty block of the server; with the suite's other run busy on the same disk that
        # took 2.1 s a copy where logging the template's blocks took 0.8 s.
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    engine.dispose()
    return _with_database(name)


class _Dropper:
    """Drops what the tests are done with on a thread of its own, so that a test does not wait
    for the server to drop a database or schema (half a second and more, on a busy machine) before
    the next one starts. Names are never reused; `finish` waits for every drop at the end."""

    def __init__(self):
        import queue
        self.queue, self.thread, self.failures = queue.Queue(), None, []

    def __call__(self, url: str) -> None:
        if self.thread is None:
            import threading
            self.thread = threading.Thread(target=self._work, name="pg-dropper", daemon=True)
            self.thread.start()
        self.queue.put(url)

    def _work(self) -> None:
        while True:
            url = self.queue.get()
            try:
                _drop_now(url)
            except Exception as exc:  # reported at the end: a leftover is also swept by the next run
                self.failures.append(f"{make_url(url).render_as_string()}: {exc!r}")
            finally:
                self.queue.task_done()

    def finish(self) -> None:
        if self.thread is not None:
            self.queue.join()
        assert not self.failures, self.failures


_dropper = _Dropper()


def pg_drop_database(url: str) -> None:
    """Drop a test database or schema (in the background: `_Dropper`)."""
    _dropper(url)


def _drop_now(url: str) -> None:
    parsed = make_url(url)
    schema = _schema_of(parsed)
    engine = _admin()
    with engine.connect() as conn:
        if schema:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        else:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    engine.dispose()


def pg_create_schema(scheme_id: str | None) -> str:
    """A new schema in the test database, made ready for `scheme_id` by `Database.create` (or
    left empty); returns a URL whose connections all work in it."""
    name = f"{PREFIX}{os.getpid()}_{next(_names)}"
    engine = _admin()
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    engine.dispose()
    url = make_url(TEST_DATABASE_URL).update_query_dict({"options": f"-csearch_path={name}"})
    url = url.render_as_string(hide_password=False)
    if scheme_id is not None:
        if scheme_id in _create_sql:
            _replay(name, _create_sql[scheme_id])
        else:
            database = Database(url)
            database.create(scheme_id)
            database.engine.dispose()
    return url


# `Database.create` on PostgreSQL runs every Alembic migration: half a second and more on a busy
# machine, for each of a few hundred tests. What it sends the server is recorded once (`db_template`
# does, on the template database) and a test's schema gets the same statements, minus the reads,
# in one transaction. `db_template` first checks that a schema made this way has exactly the
# tables, columns, constraints, indexes and rows of one made by `Database.create` itself.
_create_sql: dict[str, list[tuple[str, object]]] = {}


def _recording_create(database: Database, scheme_id: str) -> list[tuple[str, object]]:
    """`database.create(scheme_id)`, and the statements it sent that change anything."""
    from sqlalchemy import event

    sent: list[tuple[str, object, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters, executemany))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        database.create(scheme_id)
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    assert not any(many for _, _, many in sent), "Database.create sent an executemany: replay it too"
    return [(statement, parameters) for statement, parameters, _ in sent
            if not statement.lstrip().upper().startswith(("SELECT", "SET "))]


def _replay(schema: str, statements) -> None:
    with _kept_writer.connect() as conn:
        with conn.begin():
            cursor = conn.connection.driver_connection.cursor()
            cursor.execute(f'SET LOCAL search_path TO "{schema}"')
            for statement, parameters in statements:
                if parameters:
                    cursor.execute(statement, parameters)
                else:
                    cursor.execute(statement)
            cursor.close()


def _fingerprint(schema: str) -> dict:
    """What a schema holds, with its name taken out of every definition."""
    queries = {
        "columns": "SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, "
                   "is_nullable, column_default FROM information_schema.columns WHERE table_schema = :s",
        "constraints": "SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid) "
                       "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = :s",
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = :s",
        "sequences": "SELECT sequence_name, data_type, start_value, increment FROM information_schema.sequences "
                     "WHERE sequence_schema = :s",
        "relations": "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                     "WHERE n.nspname = :s",
    }
    found = {}
    with _kept_admin.connect() as conn:
        for key, query in queries.items():
            found[key] = sorted(tuple(str(v).replace(f'"{schema}".', "").replace(f"{schema}.", "")
                                      for v in row) for row in conn.execute(text(query), {"s": schema}))
        for table in ("meta", "alembic_version"):
            found[table] = sorted(tuple(r) for r in conn.execute(text(f'SELECT * FROM "{schema}".{table}')))
    return found


def _learn_create(scheme_id: str) -> None:
    """Record what `Database.create` sends, and check that replaying it makes the same schema."""
    made_url = pg_create_schema(None)
    database = Database(made_url)
    statements = _recording_create(database, scheme_id)
    database.engine.dispose()
    copied_url = pg_create_schema(None)
    made, copied = (_schema_of(make_url(u)) for u in (made_url, copied_url))
    _replay(copied, statements)
    try:
        assert _fingerprint(copied) == _fingerprint(made), "a replayed schema differs from Database.create's"
        assert _fingerprint(made)["alembic_version"], "nothing was recorded"
    finally:
        pg_drop_database(made_url)
        pg_drop_database(copied_url)
    _create_sql[scheme_id] = statements


def _schema_of(url) -> str | None:
    options = url.query.get("options", "")
    return options.split("search_path=", 1)[1] if "search_path=" in options else None


def _drop_stale_databases() -> None:
    """Databases and schemas left by an earlier run that was killed (their process is gone)."""
    engine = _admin()
    with engine.connect() as conn:
        like = {"p": PREFIX.replace("_", r"\_") + "%"}
        databases = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                 like).scalars().all()
        schemas = conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                               like).scalars().all()
        for name in list(databases) + list(schemas):
            pid = name[len(PREFIX):].split("_")[0]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                kind = "DATABASE" if name in databases else "SCHEMA"
                conn.exec_driver_sql(f'DROP {kind} IF EXISTS "{name}"' +
                                     (" WITH (FORCE)" if kind == "DATABASE" else " CASCADE"))
    engine.dispose()


# -- SQLite databases made ready once, then copied ---------------------------------------------------

_ready_sqlite: dict[str, Path] = {}


def ready_sqlite(path: Path | str, scheme_id: str) -> Database:
    """A SQLite database at `path` exactly as `Database.create(scheme_id)` makes it (migrated, the
    scheme recorded, readable by its owner only): a copy of one this process made once. For tests
    that want a fresh database per hypothesis example, where running every migration again cost
    a quarter of a second each time."""
    if scheme_id not in _ready_sqlite:
        import tempfile
        folder = (_shared["factory"].mktemp("ready-sqlite") if "factory" in _shared
                  else Path(tempfile.mkdtemp(prefix="ready-sqlite-")))
        template = folder / f"{scheme_id}.db"
        made = Database(resolve_url(str(template)))
        made.create(scheme_id)
        made.engine.dispose()
        _ready_sqlite[scheme_id] = template
    path = Path(path)
    assert not path.exists(), path
    shutil.copy2(_ready_sqlite[scheme_id], path)
    return Database(resolve_url(str(path)))


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def db_template(tmp_path_factory, scheme) -> Iterator[str]:
    """A database made ready by `Database.create`: a SQLite file path, or a PostgreSQL database name."""
    if ON_POSTGRES:
        _drop_stale_databases()
        _learn_create(scheme.id)
        url = pg_create_database()
        database = Database(url)
        database.create(scheme.id)
        database.engine.dispose()
        name = make_url(url).database
        yield name
        pg_drop_database(url)
        _dropper.finish()
        for kept in (_kept_admin, _kept_writer):
            if kept.engine is not None:
                kept.engine.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        database = Database(resolve_url(str(path)))
        database.create(scheme.id)
        database.engine.dispose()
        yield str(path)


@pytest.fixture
def db_url(tmp_path, db_template, scheme) -> Iterator[str]:
    """The URL of a fresh database, initialised for the example scheme, for this test alone.

    Give it to the command line as `--db URL`; on SQLite it is a plain path."""
    if ON_POSTGRES:
        url = pg_create_schema(scheme.id)
        yield url
        pg_drop_database(url)
    else:
        target = tmp_path / "test.db"
        shutil.copy2(db_template, target)
        yield str(target)


@pytest.fixture
def empty_db_url(tmp_path) -> Iterator[str]:
    """The URL of a database that `reciprocal init` has not touched: on SQLite a path that does
    not exist yet, on PostgreSQL a new, empty schema."""
    if ON_POSTGRES:
        url = pg_create_schema(None)
        yield url
        pg_drop_database(url)
    else:
        yield str(tmp_path / "new.db")


@pytest.fixture
def db(db_url) -> Iterator[Database]:
    database = Database(resolve_url(db_url))
    yield database
    database.engine.dispose()


def copy_database(source: str, directory: Path) -> str:
    """A copy of a ready database (a SQLite path, or a PostgreSQL URL or database name that no one
    is connected to): `directory / "r.db"` on SQLite, a new database on PostgreSQL (drop it with
    `drop_database`)."""
    if ON_POSTGRES:
        assert "://" not in source or not _schema_of(make_url(source)), "a schema cannot be copied"
        return pg_create_database(make_url(source).database if "://" in source else source)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "r.db"
    shutil.copy2(source, target)
    return str(target)


def drop_database(url: str) -> None:
    """Drop a PostgreSQL test database or schema (a SQLite file goes with its temporary folder)."""
    if ON_POSTGRES:
        pg_drop_database(url)


_readers: dict[str, object] = {}


@contextmanager
def reading(url: str | Database):
    """A connection of its own to a test database (any backend), closed afterwards. The engine is
    kept per URL (it holds no connection: NullPool), which spares a new engine, and its first
    connection's dialect set-up queries, at every read: 40 ms each on a busy machine."""
    resolved = url.url if isinstance(url, Database) else resolve_url(url)
    if resolved not in _readers:
        _readers[resolved] = create_engine(resolved, poolclass=NullPool)
    with _readers[resolved].connect() as conn:
        yield conn


def count(url: str | Database, table: str) -> int:
    """Rows in one table, read through a connection of its own (any backend)."""
    return scalar(url, f"SELECT count(*) FROM {table}")


def scalar(url: str | Database, statement: str, **params):
    with reading(url) as conn:
        return conn.execute(text(statement), params).scalar()


# -- real commands, fast: the launcher ---------------------------------------------------------------
# `python -m cli.app` spends a second and a half importing before it does anything. Tests that
# run many commands, or need two at the same moment, or kill one part-way, fork them instead from
# one process that has done the imports: each child is a real process running the real entry point
# with its own argv, stdout, stderr and exit code.

# The launcher: everything heavy is imported before the first fork; each child waits for its
# batch's "go" file, runs the real entry point with its output sent to two files, and exits with
# the command's exit code. The launcher reports each batch's child pids, then their exit codes
# (negative: killed by that signal) and the CPU time each used.
LAUNCHER = r"""
import json, os, sys, time
from cli.app import main
# The command loads its stack lazily (a fast --help); load it here once, before forking, so that
# each forked command starts with it in memory, as a command did before imports were lazy.
import sqlalchemy, sqlmodel, numpy, networkx, ortools.graph.python.min_cost_flow  # noqa: E401
import reciprocal.storage, reciprocal.config, reciprocal.intake.pot, reciprocal.lifecycle.run  # noqa: E401
import reciprocal.lifecycle.decisions, reciprocal.audits, matching.engine  # noqa: E401
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
                if "cwd" in job:
                    os.chdir(job["cwd"])
                os.environ.update(job.get("env", {}))
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
    codes, cpu = [], []
    for pid in pids:
        _, status, usage = os.wait4(pid, 0)
        codes.append(os.waitstatus_to_exitcode(status))
        cpu.append(usage.ru_utime + usage.ru_stime)
    print(json.dumps({"codes": codes, "cpu": cpu}), flush=True)
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
    cpu: float = 0.0  # seconds of CPU the command's process used (user and system), however busy the machine


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
        answer = self.launcher.read(timeout)
        return [Outcome(argv, code, out.read_text(), err.read_text(), cpu)
                for argv, code, cpu, (out, err) in zip(self.argvs, answer["codes"], answer["cpu"], self.files)]


class Launcher:
    """`env`: variables of the launcher process itself, so of every command, set before anything is
    imported (Rich reads some, COLUMNS for one, when the command's consoles are made at import)."""

    def __init__(self, work: Path, env: dict[str, str] | None = None):
        self.work = work
        self.batches = 0
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCHER], cwd=work,
                                     env={**LAUNCHER_ENV, **(env or {})},
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

    def start(self, *argvs: list[str], umask: int | None = None, cwd: Path | str | None = None,
              env: dict[str, str] | None = None) -> Batch:
        """Fork one child per command; they wait until the batch's `go()`. Each works in `cwd`
        (default: the launcher's folder) with `env` added to its environment when it starts: for
        variables the command reads as it runs ($RECIPROCAL_DATABASE_URL, the mail server's), not
        for those read at import (see `Launcher`)."""
        self.batches += 1
        folder = self.work / f"batch{self.batches}"
        folder.mkdir()
        files = [(folder / f"{k}.out", folder / f"{k}.err") for k in range(len(argvs))]
        go = folder / "go"
        extra = {**({} if umask is None else {"umask": umask}), **({} if cwd is None else {"cwd": str(cwd)}),
                 **({"env": env} if env else {})}
        jobs = [{"argv": a, "stdout": str(o), "stderr": str(e), **extra} for a, (o, e) in zip(argvs, files)]
        self.proc.stdin.write((json.dumps({"jobs": jobs, "go": str(go)}) + "\n").encode())
        self.proc.stdin.flush()
        return Batch(self, argvs, self.read(60)["pids"], files, go)

    def run(self, *argvs: list[str], umask: int | None = None, cwd: Path | str | None = None,
            env: dict[str, str] | None = None) -> list[Outcome]:
        """Run commands at the same moment and wait for all of them."""
        batch = self.start(*argvs, umask=umask, cwd=cwd, env=env)
        batch.go()
        return batch.wait()

    def reciprocal(self, *args: str, db: str | None, umask: int | None = None) -> Outcome:
        """One command on `db` with the example scheme, like `tests.helpers.reciprocal` but without
        a second and a half of imports; its output may never hold a traceback."""
        outcome = self.run(command(db, *args) if db else ["--config", str(CONFIG_DIR), *args],
                           umask=umask)[0]
        no_traceback([outcome])
        return outcome

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


_shared: dict = {}


@pytest.fixture(scope="session", autouse=True)
def _shared_launcher_home(tmp_path_factory):
    """Where the one launcher of the session works, started on first use (`shared_launcher`)."""
    _shared["factory"] = tmp_path_factory
    yield
    started = _shared.pop("launcher", None)
    if started is not None:
        started.close()


def shared_launcher() -> Launcher:
    """The session's launcher: the `launcher` fixture, and what `tests.helpers.reciprocal` runs
    commands with."""
    if "launcher" not in _shared:
        _shared["launcher"] = Launcher(_shared["factory"].mktemp("launcher"))
    return _shared["launcher"]


@pytest.fixture(scope="session")
def launcher():
    return shared_launcher()


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
    """Round 1 on the generated pot, every proposal taken to `accepted` (not yet signed); returns
    how many."""
    from reciprocal.lifecycle.run import run_round
    from reciprocal.lifecycle.views import round_view
    from tests.moves import to_accepted

    requests, offers = generated_pot()
    add_records(db, requests)
    add_records(db, offers)
    outcome = run_round(db, scheme, ROUND_DAY)
    assert outcome.round_id == 1
    proposals = round_view(db, 1)["proposals"]
    for p in proposals:
        to_accepted(db, scheme, p["id"], ROUND_DAY)
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
def accepted_db(tmp_path_factory, db_template, scheme):
    """A database whose round 1 has every proposal accepted, ready to sign (never written to: copy
    it)."""
    url = copy_database(db_template, tmp_path_factory.mktemp("accepted"))
    database = Database(resolve_url(url))
    accepted_round(database, scheme)
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
    with reading(url) as conn:
        return [tuple(r) for r in conn.execute(text(statement)).all()]


def make_offer(**overrides) -> Offer:
    """A 2-bed Cambridge City flat in Cambridge, available now, no restrictions."""
    base = Offer(ref="OF-1", provider="cambridge_city", area="cambridge", bedrooms=2,
                 property_type=PropertyType.flat, available_from=date(2026, 11, 20))
    return replace(base, **overrides)


def make_request(**overrides) -> Request:
    """A standard-risk Fenland survivor household on a secure tenancy needing 2 bedrooms."""
    base = Request(ref="RQ-1", provider="fenland", kind=RequestKind.survivor,
                   current_tenancy="secure", bedrooms_needed=2, referred_on=date(2026, 10, 1),
                   risk=Risk.standard)
    return replace(base, **overrides)


def pytest_sessionfinish(session, exitstatus):
    """Every background drop done before the run ends (`db_template` waits for them too, and
    reports any that failed)."""
    if _dropper.thread is not None:
        _dropper.queue.join()
