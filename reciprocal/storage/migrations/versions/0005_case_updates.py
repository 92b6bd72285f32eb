"""Case updates in the trail (issue 21): a household's or a home's facts changed in place.

The proposal trail (`proposal_event`) also records each update of a request or an offer, chained
with every change of stage, so `audit verify` and anchors cover it as they do the rest:
`proposal_id` becomes nullable (an update belongs to no proposal), `case_ref` names the case it
belongs to (`request:RQ-0106`, `offer:OF-2611-08`; its copy inside the chained detail is what
`audit verify` holds it to), and `case_values` holds the fields' values before and after, outside
the chain so that `request purge` can blank them (the chained detail holds their digest).
Existing events keep both new columns empty; nothing else changes.

Revision ID: 0005_case_updates
Revises: 0004_offer_for_request
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_case_updates"
down_revision = "0004_offer_for_request"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("proposal_event") as batch:
        batch.alter_column("proposal_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("case_ref", sa.String(), nullable=True))
        batch.add_column(sa.Column("case_values", sa.JSON(), nullable=True))
    op.create_index("ix_proposal_event_case_ref", "proposal_event", ["case_ref"])


def downgrade() -> None:
    op.drop_index("ix_proposal_event_case_ref", table_name="proposal_event")
    op.execute("DELETE FROM proposal_event WHERE proposal_id IS NULL")
    with op.batch_alter_table("proposal_event") as batch:
        batch.drop_column("case_values")
        batch.drop_column("case_ref")
        batch.alter_column("proposal_id", existing_type=sa.Integer(), nullable=False)
