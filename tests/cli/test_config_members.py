"""Issue 12: a member with records in the database but no provider file (deleted or renamed) is
never silently dropped. Every command that reads the configs and the database refuses, naming the
ids and the folder, and writes nothing; `config validate --db` lists them beside the YAML problems.
Runs on SQLite and, with RECIPROCAL_TEST_DATABASE_URL set, on PostgreSQL."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reciprocal.intake.pot import add_records
from reciprocal.storage import Database, resolve_url
from reciprocal.storage.members import MEMBER_COLUMNS, members_in_database

from tests.conftest import CONFIG_DIR, count, make_offer, make_request, no_traceback

GONE = ("cambridge_city", "fenland")  # offers of the first, a request of the second


@pytest.fixture
def configs(tmp_path) -> Path:
    target = tmp_path / "hampshire" / "mou_configs"
    shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target


@pytest.fixture
def stocked(db, scheme) -> Database:
    add_records(db, [make_offer(ref="OF-1"), make_offer(ref="OF-2", bedrooms=3)], scheme=scheme)
    add_records(db, [make_request(ref="RQ-1")], scheme=scheme)
    return db


def run(launcher, url: str, folder: Path, *commands: tuple[str, ...]):
    outcomes = launcher.run(*(["--db", url, "--config", str(folder), *c] for c in commands))
    no_traceback(outcomes)
    return outcomes


def expected_problems(db: Database, folder: Path) -> list[str]:
    return [f"  {db.display()}: member 'cambridge_city' has offers in the database but no file in "
            f"{folder}/providers/ defines it (deleted or renamed?)",
            f"  {db.display()}: member 'fenland' has requests in the database but no file in "
            f"{folder}/providers/ defines it (deleted or renamed?)"]


def test_commands_refuse_a_database_naming_members_the_configs_lack(launcher, stocked, db_url, configs):
    for member in GONE:
        (configs / "providers" / f"{member}.yaml").unlink()
    outcomes = run(launcher, db_url, configs, ("round", "run", "--on", "2026-11-23"), ("ledger", "show"),
                   ("offer", "list"), ("due", "--on", "2026-11-23"))
    for o in outcomes:
        assert o.code == 2, (o.argv, o.stderr)
        lines = o.stderr.splitlines()
        assert lines[0].startswith(f"The database {stocked.display()} has records of member(s) that the MoU "
                                   f"configs in {configs} do not define: cambridge_city, fenland. Nothing "
                                   f"was done"), o.stderr
        assert lines[1:] == expected_problems(stocked, configs)
        assert o.stdout == ""
    assert count(db_url, "round") == 0
    assert count(db_url, "proposal") == 0


def test_config_validate_db_lists_them_beside_the_yaml_problems(launcher, stocked, db_url, configs):
    for member in GONE:
        (configs / "providers" / f"{member}.yaml").unlink()
    text = (configs / "providers" / "peterborough_city.yaml").read_text()
    (configs / "providers" / "peterborough_city.yaml").write_text(text + "colour: blue\n")
    [o] = run(launcher, db_url, configs, ("config", "validate", "--db"))
    assert o.code == 2
    assert o.stdout.splitlines() == [f"MoU configs: {configs}"]
    assert o.stderr.splitlines() == [
        f"3 problem(s) in the MoU configs in {configs} checked against the database {stocked.display()}",
        "  mou_configs/providers/peterborough_city.yaml:19: colour: unknown key",
        *expected_problems(stocked, configs)]


def test_config_validate_db_passes_when_every_member_has_its_file(launcher, stocked, db_url):
    [o] = run(launcher, db_url, CONFIG_DIR, ("config", "validate", "--db"))
    assert o.code == 0, o.stderr
    assert o.stdout.splitlines()[-1].endswith(f"; database {stocked.display()} names no other member")
    [plain] = run(launcher, db_url, CONFIG_DIR, ("config", "validate"))  # without --db, no database
    assert plain.code == 0 and "database" not in plain.stdout


def test_members_are_read_with_one_distinct_query_per_table(stocked, monkeypatch):
    """Through the plain driver (`Reader`, no ORM: issue 24)."""
    from reciprocal.storage.reader import Reader
    statements = []
    rows = Reader.rows
    monkeypatch.setattr(Reader, "rows", lambda self, sql, params=None: statements.append(sql) or rows(self, sql, params))
    found = members_in_database(stocked)
    assert found == {"cambridge_city": ["offers"], "fenland": ["requests"]}
    assert len(statements) == len(MEMBER_COLUMNS)
    assert all("DISTINCT" in q.upper() or "UNION" in q.upper() for q in statements)


def test_a_round_on_a_scheme_with_reversed_risk_levels_cannot_exist(launcher, stocked, db_url, configs):
    path = configs / "scheme.yaml"
    path.write_text(path.read_text().replace("risk_levels: [high, medium, standard]",
                                             "risk_levels: [standard, medium, high]"))
    [o] = run(launcher, db_url, configs, ("round", "run", "--on", "2026-11-23"))
    assert o.code == 2
    assert "mou_configs/scheme.yaml:60: priority.risk_levels: must be [high, medium, standard]" in o.stderr
    assert count(db_url, "round") == 0


def test_every_column_holding_a_member_id_is_checked():
    """A table added later with a provider column must join MEMBER_COLUMNS, or its rows could name
    a member with no file unseen."""
    from sqlmodel import SQLModel
    checked = {(table, c) for _, table, columns in MEMBER_COLUMNS for c in columns}
    holding = {(t.name, c.name) for t in SQLModel.metadata.tables.values() for c in t.columns
               if c.name.endswith("provider") or c.name == "owner"}
    assert holding == checked
