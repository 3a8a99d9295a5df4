"""withdrawal state on legs; one lease row per long-poll connection reader

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("legs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawal", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("withdraw_attempts", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "reader_leases",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("connection_id"),
    )


def downgrade() -> None:
    op.drop_table("reader_leases")
    with op.batch_alter_table("legs", schema=None) as batch_op:
        batch_op.drop_column("withdraw_attempts")
        batch_op.drop_column("withdrawal")
