"""Start-up stays fast without timing anything: loading the command (what `reciprocal --help` and
every usage error pay for) must not load the solver, the numerics or the database stack. Each
command imports those when it runs. The figures are benchmarks/startup.py's to measure."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import ENV

# Not pydantic: Typer itself loads it to convert a subcommand's parameters.
HEAVY = ("ortools", "numpy", "networkx", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "pandas",
         "matching", "reciprocal.storage", "reciprocal.config", "reciprocal.lifecycle",
         "reciprocal.audits", "reciprocal.simulation", "reciprocal.intake")


def _loaded_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], env=env or ENV, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_importing_the_command_loads_no_solver_numerics_or_database():
    assert _heavy(_loaded_after("import cli.app")) == []


@pytest.mark.parametrize("args", [["--help"], ["round", "run", "--help"], ["offer", "add", "--help"],
                                  ["audit", "fairness", "--help"], ["bench", "--help"]])
def test_printing_help_loads_no_solver_numerics_or_database(args):
    code = ("import contextlib, io, sys\nfrom cli.app import main\n"
            f"sys.argv = ['reciprocal', *{args!r}]\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n    main()")
    assert _heavy(_loaded_after(code)) == []


@pytest.mark.parametrize("spelled, source", [
    ("cli.bench:SCALES", "reciprocal.simulation.generator:scale_names"),
    ("cli.pack:PACK_FORMATS", "reciprocal.audits.packs:FORMATS"),
])
def test_constants_spelled_out_for_start_up_agree_with_their_source(spelled, source):
    """The CLI spells out a few choices for its help so that the help loads nothing heavy."""
    import importlib

    def value(ref):
        module, name = ref.split(":")
        got = getattr(importlib.import_module(module), name)
        return tuple(got() if callable(got) else got)

    assert value(spelled) == value(source)


# -- what each everyday command loads (issue 24) -----------------------------------------------------
# Reads and small state changes run on the demo's database in a fresh interpreter each, and must
# not load the solver: OR-Tools (which imports pandas), NumPy, HiGHS, nor the engine's modules.
# `circulate` judges the rules on NumPy arrays, so it may load NumPy, never the solver.
SOLVER = ("ortools", "pandas", "numpy", "scipy", "highspy", "matching.engine", "matching.flow",
          "matching.mip", "matching.cpsat", "matching.explain", "matching.pinning")

READS = [["due", "--on", "2026-12-07"], ["proposal", "list"], ["proposal", "show", "6"], ["round", "list"],
         ["round", "show", "1"], ["round", "show", "1", "--format", "json"], ["offer", "list"],
         ["request", "list"], ["ledger", "show"], ["audit", "verify"], ["config", "show"],
         ["config", "validate"]]
STATE_CHANGES = [["proposal", "advance", "6", "--on", "2026-12-07"],
                 ["proposal", "refuse", "6", "--by", "household", "--reason", "unsuitable_property",
                  "--not-reasonable", "--no-resolve", "--on", "2026-12-07"],
                 ["request", "hold", "RQ-0105", "--reason", "review", "--until", "2026-12-20",
                  "--on", "2026-12-07"],
                 ["request", "reconfirm", "RQ-0105", "--on", "2026-12-07"],
                 ["offer", "withdraw", "OF-2611-03", "--on", "2026-12-07"],
                 ["offer", "add", "--ref", "OF-T24", "--provider", "fenland", "--area", "fenland",
                  "--bedrooms", "2", "--property-type", "flat", "--available-from", "2026-12-08"]]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    from tests.helpers import demo_database
    return demo_database(tmp_path_factory.mktemp("startup"))


@pytest.fixture(scope="module")
def calendar_cache(tmp_path_factory) -> dict[str, str]:
    """An environment whose user cache holds the bank holidays of the demo's years, as any
    machine's does after its first command that worked out a due date."""
    env = {**ENV, "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache"))}
    _loaded_after("from reciprocal.working_days import bank_holidays\n"
                  "for year in range(2025, 2029):\n    bank_holidays(year)", env)
    return env


def _loaded_by_command(args: list[str], db, tmp_path, env: dict[str, str] | None = None) -> set[str]:
    import shutil
    work = tmp_path / "work.db"
    shutil.copy(db, work)  # a state change works on a copy: each test starts from the demo
    code = ("import contextlib, io, sys\nfrom cli.app import main\n"
            f"sys.argv = ['reciprocal', '--db', {str(work)!r}, *{args!r}]\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main()\n    except SystemExit as exc:\n"
            "        assert exc.code in (0, None), exc.code")
    return _loaded_after(code, env)


def _solver(modules: set[str], allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in SOLVER)
                  and not any(m == a or m.startswith(a + ".") for a in allowed))


@pytest.mark.parametrize("args", READS + STATE_CHANGES, ids=" ".join)
def test_everyday_commands_load_no_solver_nor_numerics(args, demo_db, tmp_path, calendar_cache):
    """Nor, once the bank holidays are cached, the `holidays` package (every country's calendar)."""
    loaded = _loaded_by_command(args, demo_db, tmp_path, calendar_cache)
    assert _solver(loaded) == []
    assert "holidays" not in loaded


def test_a_due_date_without_the_cache_is_worked_out_by_the_package(demo_db, tmp_path):
    """The other side of the test above: a fresh user cache makes the same command load it."""
    env = {**ENV, "XDG_CACHE_HOME": str(tmp_path / "fresh-cache")}
    assert "holidays" in _loaded_by_command(["due", "--on", "2026-12-07"], demo_db, tmp_path, env)


@pytest.mark.parametrize("args", READS + STATE_CHANGES, ids=" ".join)
def test_a_command_loads_only_its_own_command_module(args, demo_db, tmp_path, calendar_cache):
    """`reciprocal due` builds `due` alone: not the audit, pack, simulation... commands' modules."""
    from cli.app import SUBCOMMANDS
    own = SUBCOMMANDS[args[0]].split(":")[0]
    modules = {where.split(":")[0] for where in SUBCOMMANDS.values()}
    loaded = _loaded_by_command(args, demo_db, tmp_path, calendar_cache)
    assert own in loaded
    assert sorted(modules & loaded - {own}) == []


@pytest.mark.parametrize("args", [["round", "list"]], ids=" ".join)
def test_reads_that_need_no_scheme_load_no_config_models(args, demo_db, tmp_path):
    loaded = _loaded_by_command(args, demo_db, tmp_path)
    assert not {"reciprocal.config", "yaml"} & loaded


def test_a_command_does_not_walk_its_long_lived_objects_again_and_again(demo_db, tmp_path):
    """The cycle collector's full passes re-walk everything a command has built; the command sets
    thresholds under which a read on the demo makes none (CPython's defaults make one already
    while importing, and several a second at national scale)."""
    import shutil
    work = tmp_path / "work.db"
    shutil.copy(demo_db, work)
    code = ("import contextlib, gc, io, sys\nfrom cli.app import main\n"
            f"sys.argv = ['reciprocal', '--db', {str(work)!r}, 'proposal', 'list']\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n    main()\n"
            "print(json.dumps([gc.get_threshold(), [s['collections'] for s in gc.get_stats()]]))")
    proc = subprocess.run([sys.executable, "-c", "import json\n" + code], env=ENV, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    thresholds, collections = json.loads(proc.stdout.splitlines()[-1])
    assert thresholds[0] >= 100_000
    assert collections[2] == 0


@pytest.mark.parametrize("args", STATE_CHANGES, ids=" ".join)
def test_a_state_change_on_sqlite_loads_no_postgresql_dialect(args, demo_db, tmp_path, calendar_cache):
    """The live-proposal indexes named their PostgreSQL condition at import, which loaded
    SQLAlchemy's whole PostgreSQL dialect (its catalogue tables) into every SQLite command."""
    loaded = _loaded_by_command(args, demo_db, tmp_path, calendar_cache)
    assert "sqlalchemy.dialects.postgresql" not in loaded


def test_checking_the_configs_alone_loads_no_database_stack(demo_db, tmp_path):
    """`config validate` reads the configs; only `config validate --db` needs the database."""
    loaded = _loaded_by_command(["config", "validate"], demo_db, tmp_path)
    assert not {"sqlalchemy", "sqlmodel", "reciprocal.storage.database"} & loaded


def test_circulate_loads_numpy_for_its_rules_but_no_solver(demo_db, tmp_path):
    loaded = _loaded_by_command(["circulate", "--on", "2026-12-07"], demo_db, tmp_path)
    assert "numpy" in loaded
    assert _solver(loaded, allowed=("numpy",)) == []


def test_a_refusal_loads_the_solver_only_to_re_solve(demo_db, tmp_path):
    refuse = ["proposal", "refuse", "6", "--by", "household", "--reason", "unsuitable_property",
              "--not-reasonable", "--on", "2026-12-07"]
    loaded = _loaded_by_command(refuse, demo_db, tmp_path)
    assert "matching.engine" in loaded
    # The flow engine solves it (the demo has no debt limits per bedroom band): neither CP-SAT
    # (the tests' second formulation) nor MathOpt (band limits only) is loaded.
    assert [m for m in loaded if m.startswith(("ortools.sat", "ortools.math_opt", "matching.cpsat",
                                               "matching.mip"))] == []


# Read commands read through `reciprocal.storage.reader` with the plain driver: importing SQLAlchemy
# and SQLModel cost each of them 0.3 s of CPU (issue 24). (Typer itself loads pydantic.)
ORM = ("sqlalchemy", "sqlmodel", "alembic")
PLAIN_READS = [["due", "--on", "2026-12-07"], ["due", "--on", "2027-03-01", "--for-provider", "fenland"],
               ["proposal", "list"], ["proposal", "list", "--member", "fenland", "--stage", "live"],
               ["proposal", "show", "6"], ["round", "list"], ["round", "show", "1"],
               ["round", "show", "1", "--format", "json"], ["round", "show", "2", "--for-provider", "fenland"],
               ["offer", "list"], ["request", "list", "--status", "all"], ["ledger", "show"],
               ["circulate", "--on", "2026-12-07"], ["circulate", "--on", "2026-12-07", "--for-provider", "fenland"],
               ["audit", "verify"], ["audit", "verify", "--format", "json"]]


@pytest.mark.parametrize("args", PLAIN_READS, ids=" ".join)
def test_read_commands_load_no_orm(args, demo_db, tmp_path, calendar_cache):
    loaded = _loaded_by_command(args, demo_db, tmp_path, calendar_cache)
    assert sorted(m for m in loaded if m.split(".")[0] in ORM) == []


@pytest.mark.parametrize("args", [["round", "show", "1"], ["proposal", "show", "6"]], ids=" ".join)
def test_other_reads_that_need_no_scheme_load_no_config_models(args, demo_db, tmp_path):
    test_reads_that_need_no_scheme_load_no_config_models(args, demo_db, tmp_path)


def test_no_pydantic_plugin_is_loaded_into_a_command(demo_db, tmp_path, calendar_cache):
    """A pydantic plugin installed beside the tool (an observability package, say) would see every
    household's facts as the configs and tables validate them, and finding the plugins scans every
    installed package's metadata on each command's start. The command turns them off: a plugin
    registered here is never imported, whatever the environment asked for."""
    site = tmp_path / "site"
    (site / "spy_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "spy_plugin-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: spy-plugin\nVersion: 1.0\n")
    (site / "spy_plugin-1.0.dist-info" / "entry_points.txt").write_text("[pydantic]\nspy = spy_plugin:plugin\n")
    marker = tmp_path / "loaded"
    (site / "spy_plugin.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                        "class Spy:\n    def new_schema_validator(self, *args, **kwargs):\n"
                                        "        return None, None, None\nplugin = Spy()\n")
    env = {**calendar_cache, "PYTHONPATH": f"{site}:{calendar_cache.get('PYTHONPATH', ENV.get('PYTHONPATH', ''))}",
           "PYDANTIC_DISABLE_PLUGINS": "some_other_plugin"}
    # The spy is found where nothing turns plugins off.
    _loaded_after("from pydantic.plugin._loader import get_plugins\nlist(get_plugins())", env)
    assert marker.exists()
    marker.unlink()
    for args in (STATE_CHANGES[0], ["config", "validate"]):
        loaded = _loaded_by_command(args, demo_db, tmp_path, env)
        assert "spy_plugin" not in loaded and not marker.exists(), args
