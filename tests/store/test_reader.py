"""The read commands' way in (issue 24): `Reader` reads with the plain driver and no ORM, and must
give exactly what the ORM gives, refuse exactly what `Database.check_ready` refuses, and never
write. Runs on SQLite and, with RECIPROCAL_TEST_DATABASE_URL set, on PostgreSQL."""
from __future__ import annotations

import hashlib
import shutil
import sqlite3
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, select

from reciprocal import storage
from reciprocal.domain import Offer, PropertyType, ProposalStatus, RequestOutcome, Role
from reciprocal.errors import DatabaseError
from reciprocal.intake import pot
from reciprocal.lifecycle import checklist, run, views
from reciprocal.lifecycle.updates import Update
from reciprocal.storage import Database, Reader, resolve_url
from reciprocal.storage.catalogue import KIND_OF, TABLES

from tests.conftest import DEMO_DATA, ON_POSTGRES, only_sqlite
from tests.helpers import demo_database, reciprocal
from tests.history import ROUND_1, _week_1
from tests.intake.test_hostile_input import URL_CASES

LATER = ROUND_1 + timedelta(days=2)


def _kind(column) -> str:
    """The catalogue's word for an ORM column's type."""
    from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, String
    from sqlmodel.sql.sqltypes import AutoString, UTCDateTime
    for sql_type, kind in ((Boolean, "bool"), (Integer, "int"), (Float, "float"), (DateTime, "datetime"),
                           (Date, "date"), (JSON, "json"), (String, "str"), (AutoString, "str"), (UTCDateTime, "datetime")):
        if isinstance(column.type, sql_type):
            return kind
    raise AssertionError(f"{column.table.name}.{column.name}: no kind for {column.type!r}")


def test_the_catalogue_is_the_orm_schema_exactly():
    import reciprocal.storage.tables  # noqa: F401 (defines the tables)
    orm = {name: {c.name: _kind(c) for c in table.columns} for name, table in SQLModel.metadata.tables.items()}
    assert TABLES == orm
    assert [list(columns) for columns in TABLES.values()] == [list(orm[t]) for t in TABLES]  # same order


def test_a_column_name_has_one_kind_in_every_table():
    """Rows are converted by their columns' names, whichever table they came from."""
    for table, columns in TABLES.items():
        for name, kind in columns.items():
            assert KIND_OF[name] == kind, f"{table}.{name}"


# -- every value of every column, as the ORM gives it ---------------------------------------------

@pytest.fixture
def lived(db, scheme) -> Database:
    """A database where every table has rows and almost every column a value: a round, a refusal,
    five signings, a correction, an update of a household's facts, a hold, a closing, a ticked
    checklist item, and a home offered for a household."""
    pot.import_offers(db, scheme, DEMO_DATA / "offers.csv")
    pot.import_requests(db, scheme, DEMO_DATA / "requests.csv", approved_on=ROUND_1)
    _week_1(db, scheme)
    # Left in the pot after week 1: RQ-0103, 0105, 0108, 0109 (a home is offered for it below), 0110...
    run.update_cases(db, scheme, "request", [Update("RQ-0103", {"risk": "high"}, "a new threat")], LATER,
                     Role.coordinator)
    run.request_change(db, scheme, "hold", "RQ-0105", LATER, reason="in hospital", until=LATER + timedelta(days=14))
    run.request_change(db, scheme, "close", "RQ-0108", LATER, outcome=RequestOutcome.no_longer_needs_to_move)
    checklist.tick(db, 1, "da_move_flagged_to_new_landlord", LATER)
    pot.add_records(db, [Offer("OF-R24", "peterborough_city", "peterborough", 4, PropertyType.house, LATER,
                               step_free=True, weekly_rent=98.5, tenancy_offered="secure",
                               available_until=LATER + timedelta(days=30), for_request="RQ-0109")], scheme=scheme)
    second = run.run_round(db, scheme, LATER).round_id
    live = [p["id"] for p in views.round_view(db, second)["proposals"]]
    run.advance(db, scheme, live[0], LATER, Role.coordinator, ProposalStatus.nomination_confirmed)
    run.advance(db, scheme, live[0], LATER, Role.coordinator, ProposalStatus.viewing, viewing_on=LATER + timedelta(days=3))
    return db


def _orm_rows(db: Database, table: str) -> list[dict]:
    row_type = next(m.class_ for m in SQLModel._sa_registry.mappers if m.class_.__tablename__ == table)
    key = "key" if table == "meta" else "id"
    with db.reading() as session:
        return [{c: getattr(r, c) for c in TABLES[table]}
                for r in session.exec(select(row_type).order_by(getattr(row_type, key))).all()]


def _typed(rows: list[dict]) -> list[dict]:
    return [{c: (type(v).__name__, v) for c, v in r.items()} for r in rows]


def test_the_reader_gives_every_column_of_every_table_as_the_orm_does(lived):
    reader = Reader(lived.url).check_ready()
    empty = []
    for table, columns in TABLES.items():
        key = "key" if table == "meta" else "id"
        got = reader.rows(f'SELECT * FROM "{table}" ORDER BY "{key}"')
        want = _orm_rows(lived, table)
        assert want, f"{table} has no rows: the test would prove nothing"
        assert [set(r) for r in got] == [set(columns)] * len(got)  # the migrations' order, not the ORM's
        assert _typed(got) == _typed(want), table
        empty += [f"{table}.{c}" for c in columns if all(r[c] is None for r in want)]
    # Columns no current command fills (a round's closed_at is history; a purge needs years).
    assert sorted(empty) == ["request.purged_on", "round.closed_at"]


def test_a_write_session_reads_the_same_rows_as_the_reader(lived):
    """`ReciprocalSession.rows`: what a writer shares with the read commands reads alike."""
    reader = Reader(lived.url)
    for table in TABLES:
        sql = f'SELECT * FROM "{table}" ORDER BY 1'
        with lived.reading() as session:
            assert _typed(session.rows(sql)) == _typed(reader.rows(sql)), table


def test_circulate_counts_rule_9_as_a_round_does(lived, scheme):
    """Rule 9's counted balances (`counted.counted_balances`, which a round calls as
    `proposals.counted_balances`) are the same through a Reader (`circulate`) as in a session."""
    from reciprocal.ledger import counted
    from reciprocal.lifecycle import proposals
    with lived.reading() as session:
        by_orm = proposals.counted_balances(session, scheme)
    assert by_orm.total != counted.balances(Reader(lived.url), list(scheme.providers)).total  # live ones count
    assert counted.counted_balances(Reader(lived.url), scheme) == by_orm
    with lived.reading() as session:
        assert counted.counted_balances(session, scheme) == by_orm


def test_lists_and_days_are_parameters(lived):
    reader = Reader(lived.url)
    got = reader.rows("SELECT ref FROM request WHERE status IN :s AND referred_on <= :day ORDER BY ref",
                      {"s": ["on_hold", "closed"], "day": LATER})
    assert len(got) == 2
    assert reader.rows("SELECT ref FROM request WHERE status IN :s", {"s": []}) == []


# -- the same refusals as Database.check_ready -----------------------------------------------------

def _refusal(check) -> str:
    with pytest.raises(DatabaseError) as raised:
        check()
    return raised.value.message


def _same_refusal(url: str, scheme_id: str | None = None) -> str:
    by_orm = _refusal(lambda: Database(url).check_ready(scheme_id))
    assert _refusal(lambda: Reader(url).check_ready(scheme_id)) == by_orm
    return by_orm


def _set_revision(db: Database, revision: str) -> None:
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})


def test_the_reader_refuses_what_the_database_refuses(db, db_url, empty_db_url):
    url = resolve_url(db_url)
    Reader(url).check_ready("cambs-peterborough")  # ready
    assert "belongs to scheme 'cambs-peterborough', not 'hampshire'" in _same_refusal(url, "hampshire")
    assert "is not initialised; run `reciprocal init` first" in _same_refusal(resolve_url(empty_db_url)) \
        or not ON_POSTGRES and "does not exist" in _same_refusal(resolve_url(empty_db_url))
    _set_revision(db, "0004_offer_for_request")
    assert "is at schema revision 0004_offer_for_request; this engine needs" in _same_refusal(url)
    _set_revision(db, "9999_from_the_future")
    assert "which this engine does not know" in _same_refusal(url)
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    assert "was made before schema migrations" in _same_refusal(url)


def test_the_reader_cannot_connect_as_the_database_cannot_and_shows_no_password():
    url = "postgresql+psycopg://someone:s3cret-pw@127.0.0.1:1/nowhere?connect_timeout=2"
    message = _same_refusal(url)
    assert message.startswith("cannot connect to database postgresql+psycopg://someone:***@127.0.0.1:1/")
    assert "s3cret" not in message


@pytest.mark.parametrize("url", [u for u, _ in URL_CASES] + ["postgresql+psycopg://u:sekrit@[::1]:1/db",
                                                             "postgresql://u:se/krit@127.0.0.1:1/db"])
def test_a_bad_or_unreachable_url_is_refused_as_the_database_refuses_it(url):
    assert "sekrit" not in _same_refusal(url)


@only_sqlite
def test_the_reader_refuses_a_missing_file_and_one_that_is_not_a_database(tmp_path):
    missing = resolve_url(str(tmp_path / "nowhere.db"))
    assert "does not exist; run `reciprocal init` first" in _same_refusal(missing)
    assert not (tmp_path / "nowhere.db").exists()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all, just some bytes " * 100)
    assert "is not a reciprocal database (file is not a database)" in _same_refusal(resolve_url(str(junk)))
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert "is not initialised" in _same_refusal(resolve_url(str(empty)))


@only_sqlite
def test_a_read_command_refuses_with_the_same_message_and_exit_code(tmp_path, db_url, scheme):
    Database(resolve_url(db_url)).check_ready()
    _set_revision(Database(resolve_url(db_url)), "0004_offer_for_request")
    want = _refusal(lambda: Database(resolve_url(db_url)).check_ready())
    for args in (("round", "list"), ("proposal", "list"), ("due", "--on", "2026-12-07")):
        done = reciprocal(*args, db=db_url, cwd=tmp_path)
        assert (done.returncode, done.stderr.strip()) == (5, want), args


# -- a reader never writes -------------------------------------------------------------------------

def test_the_reader_cannot_write(lived):
    reader = Reader(lived.url)
    with pytest.raises(Exception, match="read-only|readonly"):
        reader.rows("UPDATE offer SET notes = 'x'")
    assert "x" not in {r["notes"] for r in reader.rows("SELECT notes FROM offer")}


READS = [["round", "list"], ["round", "show", "1"], ["round", "show", "1", "--format", "json"],
         ["proposal", "list"], ["proposal", "show", "6"], ["due", "--on", "2026-12-07"], ["offer", "list"],
         ["request", "list", "--status", "all"], ["ledger", "show"], ["circulate", "--on", "2026-12-07"]]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    return demo_database(tmp_path_factory.mktemp("reads"))


@only_sqlite
def test_read_commands_leave_the_file_as_it_was_and_read_a_read_only_file(demo_db, tmp_path):
    path = tmp_path / "read-only.db"
    shutil.copy(demo_db, path)
    path.chmod(0o400)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for args in READS:
        done = reciprocal(*args, db=path, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stderr)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before, args
    assert sorted(p.name for p in tmp_path.iterdir()) == ["read-only.db"]  # no journal left behind


def test_every_name_of_the_read_path_is_importable_from_the_package():
    assert storage.Reader is Reader
    assert storage.SCHEMA_HEAD and storage.MAX_ID == 2**31 - 1


# -- after a review: the reader opens what the writers open -----------------------------------------

@only_sqlite
def test_a_read_after_a_writer_died_mid_transaction_recovers_the_file_as_a_writer_would(demo_db, tmp_path):
    """kill -9 inside a write leaves a hot journal; a read-only connection cannot roll it back
    and the reads said the file was "not a reciprocal database" until some writer ran."""
    live = tmp_path / "live.db"
    shutil.copy(demo_db, live)
    before = reciprocal("round", "list", db=live, cwd=tmp_path)
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("PRAGMA cache_size=1")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE filler (x TEXT)")
    writer.executemany("INSERT INTO filler VALUES (?)", [("x" * 1000,)] * 3000)  # spills to the file
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    shutil.copy(live, crashed / "c.db")  # the files as a crash leaves them, mid-transaction
    shutil.copy(f"{live}-journal", crashed / "c.db-journal")
    writer.execute("ROLLBACK")
    writer.close()
    after = reciprocal("round", "list", db=crashed / "c.db", cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    assert "filler" not in {r["name"] for r in Reader(resolve_url(str(crashed / "c.db"))).rows(
        "SELECT name FROM sqlite_master")}


@only_sqlite
def test_a_path_with_a_percent_names_the_file_the_writers_use(demo_db, tmp_path):
    """SQLAlchemy percent-decodes the path of a `sqlite:///` URL; the reader did not, so
    `--db a%41.db` was written as `aA.db` and read as `a%41.db`."""
    shutil.copy(demo_db, tmp_path / "aA.db")
    url = resolve_url(str(tmp_path / "a%41.db"))
    assert Database(url).path == Reader(url).path == tmp_path / "aA.db"
    done = reciprocal("round", "list", db=tmp_path / "a%41.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not ON_POSTGRES, reason="a PostgreSQL URL with several hosts")
def test_a_url_with_several_hosts_is_read_as_the_writers_connect_to_it(db_url):
    """Several `host=` in the query: the writers join them (SQLAlchemy's dialect), the reader
    kept only the last and handed the driver a tuple."""
    from sqlalchemy.engine import make_url
    url = make_url(db_url)
    host = f"{url.host}:{url.port or 5432}"
    several = url._replace(host=None, port=None).update_query_pairs([("host", host), ("host", host)], append=True)
    several = several.render_as_string(hide_password=False)
    Database(several).check_ready()
    with Reader(several).check_ready() as reader:
        assert reader.rows("SELECT key FROM meta")


def test_the_pot_as_read_is_what_the_constructors_make(lived):
    """`records.offer_of`/`request_of` make each object without the frozen dataclass's `__init__`
    (issue 24: half of a national pot's reading time): every one must equal, hash, print and
    refuse changes as the one `Offer(...)`/`Request(...)` makes from the ORM's row."""
    import dataclasses
    from reciprocal.domain import OfferStatus, Request, RequestKind, RequestStatus, Risk
    from reciprocal.intake.listing import records
    from reciprocal.storage.tables import OfferRow, RequestRow

    def made(cls, row):  # the constructor, field by field, from the ORM's values
        values = {f.name: getattr(row, f.name) for f in dataclasses.fields(cls)}
        kinds = {"property_type": PropertyType, "status": OfferStatus if cls is Offer else RequestStatus,
                 "kind": RequestKind, "risk": Risk}
        for name, enum in kinds.items():
            if name in values:
                values[name] = enum(values[name])
        for name in ("restrictions", "avoid_areas", "preferred_areas"):
            if name in values:
                values[name] = tuple(values[name] or ())
        if "notes" in values:
            values["notes"] = values["notes"] or ""
        return cls(**values)

    for kind, cls, row_type in (("offer", Offer, OfferRow), ("request", Request, RequestRow)):
        with lived.reading() as session:
            want = [made(cls, r) for r in session.exec(select(row_type).order_by(row_type.id)).all()]
        got = records(Reader(lived.url), kind, None, order="id")
        assert len(got) == len(want) > 5
        for g, w in zip(got, want):
            assert type(g) is cls and g == w and hash(g) == hash(w) and repr(g) == repr(w)
            assert vars(g) == vars(w)  # the same fields, no more
            with pytest.raises(dataclasses.FrozenInstanceError):
                g.ref = "changed"


def test_a_stored_value_that_is_no_member_is_refused_as_the_enum_refuses_it():
    from reciprocal.storage.records import _members
    from reciprocal.domain import Risk
    risk = _members(Risk)
    assert risk("high") is Risk.high
    with pytest.raises(ValueError, match="'extreme' is not a valid Risk"):
        risk("extreme")
