"""threads, messages, webhooks, feedback

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 15:20:37.890428
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "classifier_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("context", sa.String(length=16), nullable=True),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("previous", sa.String(length=16), nullable=True),
        sa.Column("at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("classifier_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_classifier_feedback_client_id"), ["client_id"], unique=False)

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("deleted_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_endpoints_client_id"), ["client_id"], unique=False)

    op.create_table(
        "threads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("needs_agent", sa.Boolean(), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("last_channel", sa.String(length=16), nullable=True),
        sa.Column("confirm_pending", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "contact_id"),
    )
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.create_index("ix_threads_list", ["client_id", "updated_at"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("endpoint_id", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("order_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Double(), nullable=False),
        sa.Column("claimed_until", sa.Double(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("delivered_at", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_client", ["client_id", "created_at"], unique=False)
        batch_op.create_index("ix_webhook_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_webhook_order", ["endpoint_id", "order_key", "seq"], unique=False)

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=200), nullable=True))

    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("direction", sa.String(length=8), nullable=False, server_default="in"))
        batch_op.add_column(sa.Column("label", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("confidence", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("labeled_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("context", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("author", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_inbound_messages_thread_id"), ["thread_id"], unique=False)

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch_op.alter_column("template_id", existing_type=sa.VARCHAR(length=32), nullable=True)


def downgrade() -> None:

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("template_id", existing_type=sa.VARCHAR(length=32), nullable=False)
        batch_op.drop_column("rating")

    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_messages_thread_id"))
        batch_op.drop_column("author")
        batch_op.drop_column("context")
        batch_op.drop_column("labeled_by")
        batch_op.drop_column("confidence")
        batch_op.drop_column("rating")
        batch_op.drop_column("label")
        batch_op.drop_column("direction")
        batch_op.drop_column("thread_id")

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("name")

    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_order")
        batch_op.drop_index("ix_webhook_due")
        batch_op.drop_index("ix_webhook_client")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_index("ix_threads_list")

    op.drop_table("threads")
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_endpoints_client_id"))

    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("classifier_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classifier_feedback_client_id"))

    op.drop_table("classifier_feedback")
