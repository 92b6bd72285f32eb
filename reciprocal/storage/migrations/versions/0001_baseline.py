"""Baseline: the schema as it stood when migrations began (meta schema_version 1).

These are the tables `SQLModel.metadata.create_all` made up to then, written out so that a new
database is built by migrations alone. Moments in time are `DateTime(timezone=True)` (SQLModel's
`UTCDateTime`: timestamptz on PostgreSQL, UTC text on SQLite).

Revision ID: 0001_baseline
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

LIVE = sa.text("status IN ('pending', 'accepted')")


def _moment(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("bedrooms", sa.Integer(), nullable=False),
        sa.Column("property_type", sa.String(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("step_free", sa.Boolean(), nullable=False),
        sa.Column("wheelchair_accessible", sa.Boolean(), nullable=False),
        sa.Column("tenancy_offered", sa.String(), nullable=True),
        sa.Column("weekly_rent", sa.Float(), nullable=True),
        sa.Column("available_from", sa.Date(), nullable=False),
        sa.Column("restrictions", sa.JSON(), nullable=False),
        sa.Column("notes", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        _moment("created_at"),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_offer_provider", "offer", ["provider"], unique=False)
    op.create_index("ix_offer_ref", "offer", ["ref"], unique=True)
    op.create_index("ix_offer_status", "offer", ["status"], unique=False)
    op.create_table(
        "request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("current_tenancy", sa.String(), nullable=False),
        sa.Column("bedrooms_needed", sa.Integer(), nullable=False),
        sa.Column("max_bedrooms", sa.Integer(), nullable=True),
        sa.Column("needs_step_free", sa.Boolean(), nullable=False),
        sa.Column("needs_wheelchair", sa.Boolean(), nullable=False),
        sa.Column("avoid_areas", sa.JSON(), nullable=False),
        sa.Column("preferred_areas", sa.JSON(), nullable=False),
        sa.Column("risk", sa.String(), nullable=False),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("age", sa.String(), nullable=True),
        sa.Column("survivor_area", sa.String(), nullable=True),
        sa.Column("survivor_consent", sa.Boolean(), nullable=False),
        sa.Column("safety_decision_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        _moment("created_at"),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_request_provider", "request", ["provider"], unique=False)
    op.create_index("ix_request_ref", "request", ["ref"], unique=True)
    op.create_index("ix_request_status", "request", ["status"], unique=False)
    op.create_table(
        "round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        _moment("opened_at"),
        _moment("closed_at", nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_round_status", "round", ["status"], unique=False)
    op.create_table(
        "proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("request_ref", sa.String(), nullable=False),
        sa.Column("offer_ref", sa.String(), nullable=False),
        sa.Column("from_provider", sa.String(), nullable=False),
        sa.Column("to_provider", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("decline_reason", sa.String(), nullable=True),
        _moment("decided_at", nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_proposal_offer_ref", "proposal", ["offer_ref"], unique=False)
    op.create_index("ix_proposal_request_ref", "proposal", ["request_ref"], unique=False)
    op.create_index("ix_proposal_round_id", "proposal", ["round_id"], unique=False)
    # At most one live proposal per home and per household, enforced by the database.
    op.create_index("one_live_proposal_per_offer", "proposal", ["offer_ref"], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index("one_live_proposal_per_request", "proposal", ["request_ref"], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_table(
        "move",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("request_ref", sa.String(), nullable=False),
        sa.Column("offer_ref", sa.String(), nullable=False),
        sa.Column("from_provider", sa.String(), nullable=False),
        sa.Column("to_provider", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("bedrooms", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(), nullable=False),
        sa.Column("moved_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposal.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"]),
        sa.PrimaryKeyConstraint("id"),
        # A home is never let twice; a household moves once through the scheme.
        sa.UniqueConstraint("offer_ref"),
        sa.UniqueConstraint("proposal_id"),
        sa.UniqueConstraint("request_ref"),
    )
    op.create_index("ix_move_round_id", "move", ["round_id"], unique=False)
    op.create_table(
        "checklist_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("move_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["move_id"], ["move.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_checklist_item_move_id", "checklist_item", ["move_id"], unique=False)
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("move_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(), nullable=False),
        sa.Column("entry_kind", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        _moment("created_at"),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["move_id"], ["move.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
        sa.UniqueConstraint("move_id", "provider", "entry_kind", name="one_leg_per_side"),
    )
    op.create_index("ix_ledger_entry_move_id", "ledger_entry", ["move_id"], unique=False)
    op.create_index("ix_ledger_entry_provider", "ledger_entry", ["provider"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: drop the database instead")
