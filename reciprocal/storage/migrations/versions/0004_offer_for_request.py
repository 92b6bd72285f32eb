"""offer.for_request: the household a home is offered for (SPEC section 4, issue 11).

A nullable column, so existing offers need nothing: before this revision no offer named one.

Revision ID: 0004_offer_for_request
Revises: 0003_proposal_lifecycle
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_offer_for_request"
down_revision = "0003_proposal_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("offer", sa.Column("for_request", sa.String(), nullable=True))
    op.create_index("ix_offer_for_request", "offer", ["for_request"])


def downgrade() -> None:
    op.drop_index("ix_offer_for_request", table_name="offer")
    with op.batch_alter_table("offer") as batch:
        batch.drop_column("for_request")
