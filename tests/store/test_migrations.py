"""Schema migrations: a database at an older schema, full of data, reaches this release's schema
with nothing lost; new databases are built by the migrations and match the tables the code
declares; an old or foreign revision is refused with the command that fixes it. On the suite's
backend.

The old data is a real history written by the release before proposals lived across rounds
(commit 3b6a0d9, schema 0002): `tests/store/data/history_0002.json` holds every row it wrote for
the demo week decided and closed (a decline, a correction, a withdrawal, a checklist item done)
and a second round left open with one proposal accepted and two pending."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Date, DateTime, MetaData, create_engine, text
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from reciprocal.errors import DatabaseError
from reciprocal.storage import SCHEMA_HEAD, Database, migrations, resolve_url

from tests.conftest import ON_POSTGRES

# Parents before children, so that foreign keys hold while rows are copied.
TABLES = ("offer", "request", "round", "proposal", "move", "checklist_item", "ledger_entry")
OLD = json.loads((Path(__file__).parent / "data" / "history_0002.json").read_text())
PREVIOUS = "0002_request_purged_on"
# What 0003 does to a status (SPEC section 6); any other value is kept.
STATUS = {"offer": {"open": "available"}, "request": {"open": "active", "withdrawn": "closed"},
          "round": {"open": "run"},
          "proposal": {"pending": "proposed", "declined": "refused", "moved": "signed"}}


def test_the_engine_knows_the_newest_revision():
    assert migrations.head() == SCHEMA_HEAD
    assert migrations.known_revisions() == [migrations.BASELINE, PREVIOUS, "0003_proposal_lifecycle",
                                            "0004_offer_for_request", SCHEMA_HEAD]


def test_a_new_database_is_built_by_the_migrations_and_matches_the_tables(db):
    engine = create_engine(db.url, poolclass=NullPool)
    with engine.connect() as conn:
        assert migrations.current(conn) == SCHEMA_HEAD
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                SQLModel.metadata)
    engine.dispose()
    assert diff == []


@pytest.mark.skipif(not ON_POSTGRES, reason="the PostgreSQL form of the live-proposal indexes")
def test_on_postgresql_the_live_proposal_indexes_name_their_condition(db):
    """Named when a PostgreSQL database is opened (not at import, which loaded the dialect on
    SQLite too): the model says what the migrations made."""
    from reciprocal.storage import LIVE_SQL, ProposalRow
    live = [i for i in ProposalRow.__table__.indexes if i.name.startswith("one_live_proposal_per_")]
    assert len(live) == 2
    for index in live:
        assert str(index.dialect_options["postgresql"]["where"]) == LIVE_SQL
        assert str(index.dialect_options["sqlite"]["where"]) == LIVE_SQL


# -- an old database full of data --------------------------------------------------------------

def table_rows(url: str, tables=TABLES) -> dict[str, list[dict]]:
    """Every row of every table, as {column: value} in id order."""
    engine = create_engine(resolve_url(url), poolclass=NullPool)
    meta = MetaData()
    with engine.connect() as conn:
        meta.reflect(conn)
        out = {}
        for name in tables:
            table = meta.tables[name]
            order = table.c.id if "id" in table.c else table.c.key
            out[name] = [dict(r._mapping) for r in conn.execute(table.select().order_by(order))]
    engine.dispose()
    return out


def at_revision(url: str, revision: str) -> None:
    """Build an empty database's schema up to `revision` only, as an older release did."""
    database = Database(resolve_url(url))
    with database._migrating() as conn:
        command.upgrade(migrations._config(conn), revision)
    database.engine.dispose()


def _value(column, value):
    if value is None:
        return None
    if isinstance(column.type, DateTime):  # written in UTC by the old release (SQLite keeps no offset)
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if isinstance(column.type, Date):
        return date.fromisoformat(value)
    return value


def load_old_history(target: str, scheme_id: str, legacy: bool = False) -> None:
    """Put the old release's rows into `target`, column by column as far as target has them.
    `legacy`: made before migrations (meta schema_version 1 and no alembic_version table)."""
    dst = create_engine(resolve_url(target), poolclass=NullPool)
    meta = MetaData()
    with dst.begin() as d:
        meta.reflect(d)
        for name in TABLES:
            table = meta.tables[name]
            rows = [{c.name: _value(c, r.get(c.name)) for c in table.c} for r in OLD["rows"][name]]
            if rows:
                d.execute(table.insert(), rows)
            if ON_POSTGRES:  # as if the rows had been inserted one by one
                d.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                               f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"))
        d.execute(meta.tables["meta"].insert(), [{"key": "scheme_id", "value": scheme_id},
                                                 {"key": "schema_version", "value": "1" if legacy else "2"}])
        if legacy:
            d.execute(text("DROP TABLE alembic_version"))
    dst.dispose()


def plain(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat() if value.tzinfo is None else value.astimezone().isoformat()
    return value.isoformat() if isinstance(value, date) else value


def test_upgrade_from_0002_carries_every_row_over(launcher, empty_db_url, scheme):
    at_revision(empty_db_url, PREVIOUS)
    load_old_history(empty_db_url, scheme.id)
    refused = launcher.reciprocal("ledger", "show", db=empty_db_url)
    assert refused.code == 5 and "run `reciprocal db upgrade`" in refused.stderr

    upgrade = launcher.reciprocal("db", "upgrade", db=empty_db_url)
    assert upgrade.code == 0, upgrade.stderr
    assert upgrade.stdout.strip().endswith(f"to {SCHEMA_HEAD}.")
    again = launcher.reciprocal("db", "upgrade", db=empty_db_url)
    assert again.code == 0 and "already at schema revision" in again.stdout

    after = table_rows(empty_db_url, TABLES + ("proposal_event",))
    for name in TABLES:
        old_rows = OLD["rows"][name]
        assert len(after[name]) == len(old_rows), name
        for old, new in zip(old_rows, after[name]):
            for column, value in old.items():
                if column == "status":
                    assert new[column] == STATUS.get(name, {}).get(value, value), (name, old["id"])
                elif column in ("created_at", "decided_at", "opened_at", "closed_at"):
                    continue  # timestamps: same moment, read back in the backend's own form
                else:
                    assert plain(new[column]) == value, (name, old["id"], column)
    # The ledger is untouched: same entries, same hashes, and it still verifies.
    assert [e["hash"] for e in after["ledger_entry"]] == [e["hash"] for e in OLD["rows"]["ledger_entry"]]
    verify = launcher.reciprocal("audit", "verify", "--format", "json", db=empty_db_url)
    assert verify.code == 0, verify.stdout + verify.stderr
    assert f'"head_hash": "{OLD["rows"]["ledger_entry"][-1]["hash"]}"' in verify.stdout
    # Every proposal has a trail from the migration; the withdrawn request is closed as withdrawn.
    assert sorted(e["proposal_id"] for e in after["proposal_event"]) == [p["id"] for p in OLD["rows"]["proposal"]]
    withdrawn = [r for r in after["request"] if r["status"] == "closed"]
    assert withdrawn and all(r["outcome"] == "withdrawn" for r in withdrawn)
    statuses = {p["id"]: p["status"] for p in after["proposal"]}
    assert sorted(statuses.values()) == ["accepted", "proposed", "proposed", "refused", "signed", "signed",
                                         "signed", "signed", "signed"]

    # The upgraded database carries on: the accepted proposal is signed (its move), the next
    # round lapses the two pending ones by name, and everything still verifies.
    accepted = next(i for i, s in statuses.items() if s == "accepted")
    sign = launcher.reciprocal("proposal", "sign", str(accepted), "--tenancy-start", "2026-12-14",
                               "--on", "2026-12-02", db=empty_db_url)
    assert sign.code == 0, sign.stderr
    assert "signed" in sign.stdout and "let" in sign.stdout
    run = launcher.reciprocal("round", "run", "--on", "2026-12-07", db=empty_db_url)
    assert run.code == 0, run.stderr
    assert run.stdout.count("-> lapsed") == 2, run.stdout
    verify = launcher.reciprocal("audit", "verify", db=empty_db_url)
    assert verify.code == 0, verify.stdout + verify.stderr
    purged = launcher.reciprocal("request", "purge", "--closed-before", "2100-01-01", db=empty_db_url)
    assert purged.code == 0, purged.stderr


@pytest.mark.parametrize("legacy", [False, True], ids=["at-baseline", "before-migrations"])
def test_upgrade_from_the_baseline_reaches_the_newest_schema(launcher, empty_db_url, scheme, legacy):
    at_revision(empty_db_url, migrations.BASELINE)
    load_old_history(empty_db_url, scheme.id, legacy)
    current = launcher.reciprocal("db", "current", db=empty_db_url)
    assert current.code == 0, current.stderr
    assert ("(before migrations)" if legacy else migrations.BASELINE) in current.stdout
    upgrade = launcher.reciprocal("db", "upgrade", db=empty_db_url)
    assert upgrade.code == 0, upgrade.stderr
    assert upgrade.stdout.strip().endswith(f"to {SCHEMA_HEAD}.")
    after = table_rows(empty_db_url)
    assert all(r["purged_on"] is None for r in after["request"])
    assert [e["hash"] for e in after["ledger_entry"]] == [e["hash"] for e in OLD["rows"]["ledger_entry"]]
    verify = launcher.reciprocal("audit", "verify", db=empty_db_url)
    assert verify.code == 0, verify.stdout + verify.stderr


def test_a_database_older_than_the_baseline_is_adopted(launcher, empty_db_url, scheme):
    """Databases made before checklist items had a done date lack that one column."""
    at_revision(empty_db_url, migrations.BASELINE)
    engine = create_engine(resolve_url(empty_db_url), poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE checklist_item DROP COLUMN done_on"))
    engine.dispose()
    load_old_history(empty_db_url, scheme.id, legacy=True)
    upgrade = launcher.reciprocal("db", "upgrade", db=empty_db_url)
    assert upgrade.code == 0, upgrade.stderr
    assert "from schema revision (before migrations) to" in upgrade.stdout
    rows = table_rows(empty_db_url)["checklist_item"]
    assert len(rows) == len(OLD["rows"]["checklist_item"])
    assert all(r["done_on"] is None for r in rows)


def test_a_failed_migration_changes_nothing(empty_db_url, scheme):
    at_revision(empty_db_url, migrations.BASELINE)
    load_old_history(empty_db_url, scheme.id)
    engine = create_engine(resolve_url(empty_db_url), poolclass=NullPool)
    with engine.begin() as conn:  # the next revision's column is there already: it cannot be added
        conn.execute(text("ALTER TABLE request ADD COLUMN purged_on DATE"))
        conn.execute(text("CREATE TABLE bystander (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    before = table_rows(empty_db_url)
    database = Database(resolve_url(empty_db_url))
    with pytest.raises(Exception):
        database.upgrade()
    assert table_rows(empty_db_url) == before
    with database.engine.connect() as conn:
        assert migrations.current(conn) == migrations.BASELINE
    database.engine.dispose()


def test_init_upgrades_an_old_database(launcher, empty_db_url, scheme):
    at_revision(empty_db_url, migrations.BASELINE)
    load_old_history(empty_db_url, scheme.id, legacy=True)
    proc = launcher.reciprocal("init", db=empty_db_url)
    assert proc.code == 0, proc.stderr
    current = launcher.reciprocal("db", "current", "--format", "json", db=empty_db_url)
    assert '"up_to_date": true' in current.stdout


def test_a_newer_or_unknown_revision_is_refused(launcher, db):
    engine = create_engine(db.url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    engine.dispose()
    with pytest.raises(DatabaseError, match="which this engine does not know"):
        db.check_ready()
    upgrade = launcher.reciprocal("db", "upgrade", db=db.url)
    assert upgrade.code == 5
    assert "0099_from_the_future, which this engine does not know" in upgrade.stderr


def test_upgrade_needs_an_initialised_database(launcher, empty_db_url):
    proc = launcher.reciprocal("db", "upgrade", db=empty_db_url)
    assert proc.code == 5
    assert "run `reciprocal init` first" in proc.stderr
