"""Schema migrations: a database at an older schema, full of data, reaches this release's schema
with nothing lost; new databases are built by the migrations and match the tables the code
declares; an old or foreign revision is refused with the command that fixes it. On the suite's
backend."""
from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from reciprocal.lifecycle.run import decide, run_round
from reciprocal.lifecycle import checklist
from reciprocal import audits
from reciprocal.storage import migrations
from reciprocal.errors import DatabaseError
from reciprocal.ledger import correct
from reciprocal.intake.pot import import_offers, import_requests, withdraw_request
from reciprocal.lifecycle.rounds import close_round
from reciprocal.lifecycle.views import round_view
from reciprocal.storage import SCHEMA_HEAD, Database, resolve_url

from tests.conftest import DEMO_DATA, ON_POSTGRES, ROUND_DAY

# Parents before children, so that foreign keys hold while rows are copied.
TABLES = ("offer", "request", "round", "proposal", "move", "checklist_item", "ledger_entry")


def test_the_engine_knows_the_newest_revision():
    assert migrations.head() == SCHEMA_HEAD
    assert migrations.known_revisions() == [migrations.BASELINE, SCHEMA_HEAD]


def test_a_new_database_is_built_by_the_migrations_and_matches_the_tables(db):
    engine = create_engine(db.url, poolclass=NullPool)
    with engine.connect() as conn:
        assert migrations.current(conn) == SCHEMA_HEAD
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                SQLModel.metadata)
    engine.dispose()
    assert diff == []


# -- an old database full of data --------------------------------------------------------------

def fill(db: Database, scheme) -> None:
    """A real history: the demo week imported, one decline, the rest accepted and closed, one
    move corrected in the ledger, one request withdrawn, one checklist item done."""
    import_offers(db, scheme, DEMO_DATA / "offers.csv")
    import_requests(db, scheme, DEMO_DATA / "requests.csv")
    round_id = run_round(db, scheme, ROUND_DAY)
    proposals = round_view(db, round_id)["proposals"]
    decide(db, scheme, round_id, proposals[0]["id"], False, "declined: too far from school")
    for p in round_view(db, round_id)["proposals"]:
        if p["status"] == "pending":
            decide(db, scheme, round_id, p["id"], True)
    close_round(db, scheme, round_id)
    correct(db, 1, "board agreed this move does not count")
    withdraw_request(db, round_view(db, round_id)["unmatched"][0]["request"])
    checklist.tick(db, 2, "sanctuary_scheme_check_at_new_home", ROUND_DAY)


def table_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, as (column, value) pairs in id order."""
    engine = create_engine(resolve_url(url), poolclass=NullPool)
    meta = MetaData()
    with engine.connect() as conn:
        meta.reflect(conn)
        out = {}
        for name in TABLES + ("meta",):
            table = meta.tables[name]
            order = table.c.id if "id" in table.c else table.c.key
            out[name] = [tuple(sorted(r._mapping.items())) for r in
                         conn.execute(table.select().order_by(order))]
    engine.dispose()
    return out


def at_revision(url: str, revision: str) -> None:
    """Build an empty database's schema up to `revision` only, as an older release did."""
    database = Database(resolve_url(url))
    with database._migrating() as conn:
        command.upgrade(migrations._config(conn), revision)
    database.engine.dispose()


def copy_rows(source: str, target: str, scheme_id: str, legacy: bool) -> None:
    """Put every row of `source` into `target`, column by column as far as target has them: the
    data an older release would have written. `legacy`: made before migrations (meta
    schema_version 1 and no alembic_version table)."""
    src = create_engine(resolve_url(source), poolclass=NullPool)
    dst = create_engine(resolve_url(target), poolclass=NullPool)
    src_meta, dst_meta = MetaData(), MetaData()
    with src.connect() as s, dst.begin() as d:
        src_meta.reflect(s)
        dst_meta.reflect(d)
        for name in TABLES:
            columns = [c.name for c in dst_meta.tables[name].c]
            rows = [{c: r._mapping[c] for c in columns} for r in s.execute(src_meta.tables[name].select())]
            if rows:
                d.execute(dst_meta.tables[name].insert(), rows)
            if ON_POSTGRES:  # as if the rows had been inserted one by one
                d.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                               f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"))
        meta = dst_meta.tables["meta"]
        d.execute(meta.insert(), [{"key": "scheme_id", "value": scheme_id},
                                  {"key": "schema_version", "value": "1" if legacy else "2"}])
        if legacy:
            d.execute(text("DROP TABLE alembic_version"))
    src.dispose()
    dst.dispose()


@pytest.fixture
def history(db, scheme):
    fill(db, scheme)
    verification = audits.verify(db)
    assert verification.ok and verification.entries >= 6
    return db


@pytest.mark.parametrize("legacy", [False, True], ids=["at-baseline", "before-migrations"])
def test_upgrade_from_the_baseline_loses_nothing(launcher, history, empty_db_url, scheme, legacy):
    at_revision(empty_db_url, migrations.BASELINE)
    copy_rows(history.url, empty_db_url, scheme.id, legacy)
    before = table_rows(empty_db_url)

    refused = launcher.reciprocal("ledger", "show", db=empty_db_url)
    assert refused.code == 5
    assert "run `reciprocal db upgrade`" in refused.stderr
    current = launcher.reciprocal("db", "current", db=empty_db_url)
    assert current.code == 0, current.stderr
    assert ("(before migrations)" if legacy else migrations.BASELINE) in current.stdout

    upgrade = launcher.reciprocal("db", "upgrade", db=empty_db_url)
    assert upgrade.code == 0, upgrade.stderr
    assert upgrade.stdout.strip().endswith(f"to {SCHEMA_HEAD}.")
    again = launcher.reciprocal("db", "upgrade", db=empty_db_url)
    assert again.code == 0 and "already at schema revision" in again.stdout

    after, source = table_rows(empty_db_url), table_rows(history.url)
    for name in TABLES:
        # Every row, every value, as it was; the one new column is empty...
        assert [tuple(p for p in row if p[0] != "purged_on") for row in after[name]] == before[name], name
        assert all(dict(row).get("purged_on") is None for row in after[name])
        # ... and exactly what the engine that wrote them has.
        assert after[name] == source[name], name
    assert {dict(r)["key"]: dict(r)["value"] for r in after["meta"]}["schema_version"] == "2"
    verify = launcher.reciprocal("audit", "verify", "--format", "json", db=empty_db_url)
    assert verify.code == 0, verify.stderr
    assert f'"head_hash": "{audits.verify(history).head_hash}"' in verify.stdout
    ledger = launcher.reciprocal("ledger", "show", "--format", "json", db=empty_db_url)
    source = launcher.reciprocal("ledger", "show", "--format", "json", db=history.url)
    assert ledger.code == 0 and ledger.stdout == source.stdout
    # The upgraded database carries on: a purge (which needs the new column) and the next round.
    purged = launcher.reciprocal("request", "purge", "--closed-before", "2100-01-01", db=empty_db_url)
    assert purged.code == 0, purged.stderr
    run = launcher.reciprocal("round", "run", "--on", "2026-11-30", db=empty_db_url)
    assert run.code == 0, run.stderr


def test_a_database_older_than_the_baseline_is_adopted(launcher, history, empty_db_url, scheme):
    """Databases made before checklist items had a done date lack that one column."""
    at_revision(empty_db_url, migrations.BASELINE)
    copy_rows(history.url, empty_db_url, scheme.id, legacy=True)
    engine = create_engine(resolve_url(empty_db_url), poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE checklist_item DROP COLUMN done_on"))
    engine.dispose()
    upgrade = launcher.reciprocal("db", "upgrade", db=empty_db_url)
    assert upgrade.code == 0, upgrade.stderr
    assert "from schema revision (before migrations) to" in upgrade.stdout
    rows = table_rows(empty_db_url)["checklist_item"]
    assert len(rows) == len(table_rows(history.url)["checklist_item"])
    assert all(dict(r)["done_on"] is None for r in rows)


def test_a_failed_migration_changes_nothing(history, empty_db_url, scheme):
    at_revision(empty_db_url, migrations.BASELINE)
    copy_rows(history.url, empty_db_url, scheme.id, legacy=False)
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


def test_init_upgrades_an_old_database(launcher, history, empty_db_url, scheme):
    at_revision(empty_db_url, migrations.BASELINE)
    copy_rows(history.url, empty_db_url, scheme.id, legacy=True)
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
