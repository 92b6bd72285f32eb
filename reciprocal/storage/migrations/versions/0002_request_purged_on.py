"""request.purged_on: the day a closed household's details were purged (`request purge`).

A nullable date, so existing rows need nothing: no request has been purged before this revision.

Revision ID: 0002_request_purged_on
Revises: 0001_baseline
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_request_purged_on"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("request", sa.Column("purged_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request") as batch:
        batch.drop_column("purged_on")
