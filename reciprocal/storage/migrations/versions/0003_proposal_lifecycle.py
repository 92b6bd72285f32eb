"""Proposals live across weekly rounds (SPEC section 6): stages, due dates, refusals, the trail.

Schema: offers gain `available_until`; requests gain `outcome`, `hold_reason`, `look_again_on`,
`reconfirmed_on`; proposals gain `stage_on`, `due_on`, `refused_by`, `refusal_reason`,
`reasonable_offer`, `viewing_on`, `tenancy_start`; a new append-only, hash-chained table
`proposal_event` records every change of stage. The partial unique indexes that keep one live
proposal per home and per household are rebuilt for the new live stages.

Data, carried over with nothing lost:
- offers `open` -> `available`; requests `open` -> `active`, `withdrawn` -> `closed` with outcome
  `withdrawn`;
- proposals: `pending` -> `proposed` (due 3 working days after its round, the default term),
  `accepted` -> `accepted` (due 20 working days after it was decided), `declined` -> `refused`
  by the household (reason `other`, the typed reason kept as its text, reasonableness unknown),
  `moved` -> `signed` (tenancy start = the move's date), `cancelled` stays;
- rounds: `open` -> `run` (its live proposals carry on as above), `closed` stays `closed`;
- every existing proposal gets one trail event, role `engine`, detail `{"migrated": "0003"}`,
  from no stage to the stage it now has, so the trail covers every proposal.
The ledger and moves are untouched, so `audit verify` passes as before.

Revision ID: 0003_proposal_lifecycle
Revises: 0002_request_purged_on
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa
from alembic import op

from sqlmodel.sql.sqltypes import UTCDateTime

from reciprocal.hashchain import GENESIS, chain_hash, event_payload
from reciprocal.working_days import add_working_days

revision = "0003_proposal_lifecycle"
down_revision = "0002_request_purged_on"
branch_labels = None
depends_on = None

OLD_LIVE = sa.text("status IN ('pending', 'accepted')")
NEW_LIVE = sa.text("status IN ('proposed', 'nomination_confirmed', 'viewing', 'accepted')")
MIGRATED = {"migrated": "0003"}


def upgrade() -> None:
    op.add_column("offer", sa.Column("available_until", sa.Date(), nullable=True))
    for name, kind in (("outcome", sa.String()), ("hold_reason", sa.String()), ("look_again_on", sa.Date()),
                       ("reconfirmed_on", sa.Date())):
        op.add_column("request", sa.Column(name, kind, nullable=True))
    for name, kind in (("stage_on", sa.Date()), ("due_on", sa.Date()), ("refused_by", sa.String()),
                       ("refusal_reason", sa.String()), ("reasonable_offer", sa.Boolean()),
                       ("viewing_on", sa.Date()), ("tenancy_start", sa.Date())):
        op.add_column("proposal", sa.Column(name, kind, nullable=True))
    op.create_table(
        "proposal_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(), nullable=True),
        sa.Column("to_status", sa.String(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposal.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    op.create_index("ix_proposal_event_proposal_id", "proposal_event", ["proposal_id"], unique=False)

    # The live-proposal indexes name the live statuses: drop them while the data changes.
    op.drop_index("one_live_proposal_per_offer", table_name="proposal")
    op.drop_index("one_live_proposal_per_request", table_name="proposal")
    _carry_data_over(op.get_bind())
    for name, column in (("one_live_proposal_per_offer", "offer_ref"),
                         ("one_live_proposal_per_request", "request_ref")):
        op.create_index(name, "proposal", [column], unique=True, sqlite_where=NEW_LIVE,
                        postgresql_where=NEW_LIVE)


def _day(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _carry_data_over(bind) -> None:
    run = bind.execute
    run(sa.text("UPDATE offer SET status = 'available' WHERE status = 'open'"))
    run(sa.text("UPDATE request SET status = 'active' WHERE status = 'open'"))
    run(sa.text("UPDATE request SET status = 'closed', outcome = 'withdrawn' WHERE status = 'withdrawn'"))
    run(sa.text("UPDATE round SET status = 'run' WHERE status = 'open'"))
    rounds = {rid: _day(on) for rid, on in run(sa.text("SELECT id, \"on\" FROM round")).all()}
    moved_on = {pid: _day(on) for pid, on in run(sa.text("SELECT proposal_id, moved_on FROM move")).all()}
    rows = run(sa.text("SELECT id, round_id, status, decided_at FROM proposal ORDER BY id")).all()
    prev = GENESIS
    now = datetime.now(timezone.utc)
    for seq, (pid, round_id, status, decided_at) in enumerate(rows, start=1):
        round_on = rounds.get(round_id) or date.today()
        decided = _day(decided_at) or round_on
        values: dict = {"id": pid}
        if status == "pending":
            values.update(status="proposed", stage_on=round_on, due_on=add_working_days(round_on, 3))
        elif status == "accepted":
            values.update(status="accepted", stage_on=decided, due_on=add_working_days(decided, 20))
        elif status == "declined":
            values.update(status="refused", stage_on=decided, refused_by="household", refusal_reason="other")
        elif status == "moved":
            values.update(status="signed", stage_on=moved_on.get(pid, decided), tenancy_start=moved_on.get(pid))
        else:  # cancelled
            values.update(status=status, stage_on=decided)
        sets = ", ".join(f"{k} = :{k}" for k in values if k != "id")
        run(sa.text(f"UPDATE proposal SET {sets} WHERE id = :id"), values)
        digest = chain_hash(prev, event_payload(seq=seq, proposal_id=pid, from_status=None,
                                                to_status=values["status"], on=values["stage_on"],
                                                role="engine", detail=MIGRATED, created_at=now))
        run(sa.text('INSERT INTO proposal_event (id, proposal_id, from_status, to_status, "on", role, detail, '
                    'created_at, prev_hash, hash) VALUES (:id, :pid, NULL, :to, :on, :role, :detail, :at, '
                    ':prev, :hash)').bindparams(sa.bindparam("detail", type_=sa.JSON()),
                                                sa.bindparam("at", type_=UTCDateTime())),
            {"id": seq, "pid": pid, "to": values["status"], "on": values["stage_on"], "role": "engine",
             "detail": MIGRATED, "at": now, "prev": prev, "hash": digest})
        prev = digest


def downgrade() -> None:
    raise NotImplementedError("0003 carries proposals into stages that 0002 cannot hold; restore a backup")
