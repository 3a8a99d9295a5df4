"""campaigns: a template or A/B variants to a frozen audience, one row per recipient

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("start_at", sa.Double(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=True),
        sa.Column("finished_at", sa.Double(), nullable=True),
        sa.Column("audience_size", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_campaigns_client", "campaigns", ["client_id", "created_at"], unique=False)
    op.create_table(
        "campaign_recipients",
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.Column("template_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.Double(), nullable=True),
        sa.Column("skip_reason", sa.String(length=32), nullable=True),
        sa.Column("notification_id", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "contact_id"),
    )
    op.create_index("ix_campaign_recipients_due", "campaign_recipients", ["status", "due_at"], unique=False)
    op.create_index(
        "ix_campaign_recipients_notification_id", "campaign_recipients", ["notification_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_recipients_notification_id", table_name="campaign_recipients")
    op.drop_index("ix_campaign_recipients_due", table_name="campaign_recipients")
    op.drop_table("campaign_recipients")
    op.drop_index("ix_campaigns_client", table_name="campaigns")
    op.drop_table("campaigns")
