"""callback tokens: an unguessable callback URL per connection, its IP allow-list, parked receipts' source

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 19:00:00.000000

Connections made before this revision get a fresh token here: their old `/channels/{channel}/{id}`
URLs stop working, and `notifyhub connections list` shows the new ones to configure.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("ip_allowlist", sa.JSON(), nullable=True))
    connections = sa.table("connections", sa.column("id", sa.Integer()), sa.column("callback_token", sa.String()))
    bind = op.get_bind()
    for (connection_id,) in bind.execute(sa.select(connections.c.id)).all():
        token = secrets.token_urlsafe(24)
        bind.execute(connections.update().where(connections.c.id == connection_id).values(callback_token=token))
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.alter_column("callback_token", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_connections_callback_token", ["callback_token"])
    with op.batch_alter_table("pending_receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("connection_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_pending_receipts_connection", ["connection_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_receipts", schema=None) as batch_op:
        batch_op.drop_index("ix_pending_receipts_connection")
        batch_op.drop_column("connection_id")
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_constraint("uq_connections_callback_token", type_="unique")
        batch_op.drop_column("ip_allowlist")
        batch_op.drop_column("callback_token")
