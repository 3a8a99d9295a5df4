"""sandbox per client: each sandbox message remembers the client that sent it

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sandbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.String(length=32), nullable=True))
        batch_op.create_index(
            "ix_sandbox_messages_client", ["client_id", "channel", "recipient", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sandbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_messages_client")
        batch_op.drop_column("client_id")
