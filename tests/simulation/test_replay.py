"""The scheme's own stored year replayed on every column (`reciprocal.simulation.replay`, issue 22),
writing nothing. Two stored histories, both made through the real intake functions and real
rounds: the demo's two weeks (`tests.history.build_history`: a refusal, signings, a withdrawal),
and a generated month and a half (households and homes drawn by the simulation's own stream at
the generous setting, stored week by week, a round run each week from the third, with nobody
answering). The key check: the engine under the scheme's
own debt rule proposes, in the replay's first round, what the stored first round proposed."""
from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest
from sqlmodel import select

from reciprocal.domain import GIVES_COUNT_FROM
from reciprocal.intake import pot
from reciprocal.lifecycle import run as rounds
from reciprocal.simulation import process
from reciprocal.simulation.assumptions import Assumptions
from reciprocal.simulation.compare import setting_stream
from reciprocal.simulation.replay import replay, stored_days, stored_year
from reciprocal.storage import Database, MoveRow, ProposalRow, RoundRow, resolve_url

from tests.history import ROUND_1, ROUND_2, build_history, sql

GENERATED_WEEKS, FIRST_ROUND = 6, 2  # stored weeks; the week of the first stored round


@pytest.fixture(scope="module")
def history(tmp_path_factory, scheme):
    path = tmp_path_factory.mktemp("replay") / "history.db"
    return path, build_history(path, scheme)


@pytest.fixture(scope="module")
def generated(tmp_path_factory, scheme):
    """Six weeks of the generous stream stored through the intake functions; a round each week
    from the third (its pot holds the first three weeks' households and homes)."""
    path = tmp_path_factory.mktemp("generated") / "year.db"
    db = Database(resolve_url(str(path)))
    db.create(scheme.id)
    _, _, stream = setting_stream(scheme, "generous", GENERATED_WEEKS, 1, Assumptions())
    for week in range(GENERATED_WEEKS):
        on = stream.round_day(week)
        approved = [r for r in stream.requests[week] if stream.approved(r.ref)]
        homes = [stream.offer(week, p, k)[0] for p in stream.providers
                 for k in range(stream.offer_count(week, p, 0))]
        for table, records, given in (("request", approved, {"approved_on": on}), ("offer", homes, {"today": on})):
            if records:  # stored as on the week's day
                pot.add_records(db, records, scheme=scheme, **given)
                refs = [r.ref for r in records]
                sql(path, f"UPDATE {table} SET created_at = ? WHERE ref IN ({', '.join('?' * len(refs))})",
                    params=[f"{on.isoformat()} 09:00:00.000000", *refs])
        if week >= FIRST_ROUND:
            rounds.run_round(db, scheme, on)
    return path, db, stream


def stored_first_round(db: Database) -> tuple[date, list[tuple[str, str]]]:
    with db.reading() as session:
        first = session.exec(select(RoundRow).order_by(RoundRow.on, RoundRow.id)).first()
        rows = list(session.exec(select(ProposalRow).where(ProposalRow.round_id == first.id)
                                 .order_by(ProposalRow.id)))
    # The round's own proposals: a refused home re-offered the same week is a later row for it.
    return first.on, sorted({p.offer_ref: (p.request_ref, p.offer_ref) for p in reversed(rows)}.values())


def test_replaying_the_engine_proposes_what_the_stored_first_round_proposed(history, scheme):
    _, db = history
    on, stored = stored_first_round(db)
    assert stored and on == ROUND_1
    year = stored_year(db, scheme, ROUND_1, ROUND_2)
    run = process.run(scheme, year, "engine", year.opening)
    assert run.gives_count_from == scheme.gives_count_from
    day, pairs = run.proposed[0]
    assert day == ROUND_1 and sorted(pairs) == stored
    # The same through `replay`: its engine column under the scheme's own rule.
    done = replay(year, seeds=1).comparison.first_runs[f"engine:{scheme.gives_count_from}"]
    assert sorted(done.proposed[0][1]) == stored


def test_a_generated_year_replays_its_first_round(generated, scheme):
    _, db, stream = generated
    on, stored = stored_first_round(db)
    assert on == stream.round_day(FIRST_ROUND) and len(stored) >= 2
    assert stored_days(db) == (on, stream.round_day(GENERATED_WEEKS - 1))
    year = stored_year(db, scheme, *stored_days(db))
    # Every approved household and every home arrives in the replay's round after it was stored.
    def approved(weeks):
        return sorted(r.ref for k in weeks for r in stream.requests[k] if stream.approved(r.ref))
    assert [sorted(r.ref for r in w) for w in year.requests] == \
        [approved(range(FIRST_ROUND + 1))] + [approved([k]) for k in range(FIRST_ROUND + 1, GENERATED_WEEKS)]
    assert sum(len(w) for w in year.offers) == sum(stream.offer_count(k, p, 0) for k in range(GENERATED_WEEKS)
                                                   for p in stream.providers)
    run = process.run(scheme, year, "engine", year.opening)
    assert sorted(run.proposed[0][1]) == stored


def test_the_replay_reads_the_stored_weeks(history, scheme):
    _, db = history
    year = stored_year(db, scheme, ROUND_1, ROUND_2)
    assert year.weeks == 2 and len(year.offers[1]) == 4  # week 2's homes
    assert all(v == 0 for v in year.opening.values())  # nothing was signed before the first round
    assert year.request_leaves == {"RQ-0112": ROUND_2}  # withdrawn in week 2
    # Later, the ledger's balances before --since are the opening balances.
    later = stored_year(db, scheme, ROUND_2, ROUND_2)
    assert sum(later.opening.values()) == 0 and any(later.opening.values())
    with pytest.raises(ValueError, match="before --since"):
        stored_year(db, scheme, ROUND_2, ROUND_1)


def test_the_replay_runs_every_column_on_the_same_arrivals_and_writes_nothing(history, scheme):
    path, db = history
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    year = stored_year(db, scheme, ROUND_1, ROUND_2)
    done = replay(year, seeds=2)
    data = done.comparison
    assert [c.key for c in data.columns] == ["today", "fcfs"] + [f"engine:{g}" for g in GIVES_COUNT_FROM]
    for key, seeds in data.per_seed.items():
        assert len(seeds) == 2, key
        assert len({(f["referrals"], f["circulated"], f["homes_offered"]) for f in seeds}) == 1  # stored arrivals
    assert (done.since, done.until) == (ROUND_1, ROUND_2)
    json = done.to_json()
    assert json["weeks"] == 2 and json["since"] == ROUND_1.isoformat() and json["opening_balances"] == year.opening
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_year_stored_through_the_import_commands_replays_and_the_command_writes_nothing(tmp_path, scheme):
    """Households and homes imported from CSV files as members send them (`request import`,
    `offer import`), a real `round run`, then `simulate --replay`: the engine's first replayed
    round is the stored one, and the database is byte for byte as it was."""
    from typer.testing import CliRunner

    from benchmarks.whole_path import write_csv
    from cli.app import app
    from reciprocal.domain import OFFER_FIELDS, REQUEST_FIELDS

    _, _, stream = setting_stream(scheme, "generous", 3, 2, Assumptions())
    on = stream.round_day(2)
    write_csv(tmp_path / "requests.csv", REQUEST_FIELDS,
              [r for week in stream.requests for r in week if stream.approved(r.ref)])
    write_csv(tmp_path / "offers.csv", OFFER_FIELDS,
              [stream.offer(k, p, n)[0] for k in range(3) for p in stream.providers
               for n in range(stream.offer_count(k, p, 0))])
    runner, path = CliRunner(), tmp_path / "scheme.db"
    for args in (["init"], ["request", "import", str(tmp_path / "requests.csv"), "--on", on.isoformat()],
                 ["offer", "import", str(tmp_path / "offers.csv")], ["round", "run", "--on", on.isoformat()]):
        done = runner.invoke(app, ["--db", str(path), *args], env={"RECIPROCAL_CONFIG_DIR": scheme.source})
        assert done.exit_code == 0, (args, done.output)
    db = Database(resolve_url(str(path)))
    first_on, stored = stored_first_round(db)
    assert first_on == on and len(stored) >= 2
    year = stored_year(db, scheme, on, on)
    assert sorted(process.run(scheme, year, "engine", year.opening).proposed[0][1]) == stored
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    done = runner.invoke(app, ["--db", str(path), "simulate", "--replay", "--seeds", "2", "--format", "json"],
                         env={"RECIPROCAL_CONFIG_DIR": scheme.source})
    assert done.exit_code == 0, done.output
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert json.loads(done.stdout)["since"] == on.isoformat()


def test_a_replay_from_a_later_day_leaves_out_what_ended_before_it(history, scheme):
    """Households moved or closed, and homes let or gone, before `--since` are not replayed: their
    moves are in the opening balances, and replaying them would move a household twice."""
    from datetime import timedelta

    path, db = history
    since = ROUND_2 + timedelta(days=7)
    year = stored_year(db, scheme, since, since + timedelta(days=7))
    with db.reading() as session:
        moves = list(session.exec(select(MoveRow)))
    assert moves and any(year.opening.values())
    replayed = {r.ref for week in year.requests for r in week} | {o.ref for week in year.offers for o in week}
    assert not replayed & ({m.request_ref for m in moves} | {m.offer_ref for m in moves})
    assert year.left_out["moved or closed before the replay"] >= len(moves)
    assert year.left_out["let or gone before the replay"] >= len(moves)
    for key in (f"engine:{scheme.gives_count_from}", "today"):
        run = replay(year, seeds=1).comparison.first_runs[key]
        assert not {m.request for m in run.moves} & {m.request_ref for m in moves}
