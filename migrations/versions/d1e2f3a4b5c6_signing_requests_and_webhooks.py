"""signing: Party applications' signing requests, their webhook secrets and the webhook queue

Revision ID: d1e2f3a4b5c6
Revises: c0d1e2f3a4b5
Create Date: 2026-12-05 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d1e2f3a4b5c6"
down_revision: str | None = "c0d1e2f3a4b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_request",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("callback_url", sa.String(length=2000), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["signing_document.id"],
            name=op.f("fk_signing_request_document_id_signing_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_signing_request")),
    )
    with op.batch_alter_table("signing_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_request_client_id"), ["client_id"], unique=False)
    op.create_table(
        "signing_webhook_secret",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_signing_webhook_secret")),
    )
    op.create_table(
        "signing_webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_webhook_delivery")),
        sa.UniqueConstraint("event_id", name=op.f("uq_signing_webhook_delivery_event_id")),
    )
    with op.batch_alter_table("signing_webhook_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_webhook_delivery_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_signing_webhook_delivery_next_attempt_at"), ["next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("signing_webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_webhook_delivery_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_signing_webhook_delivery_client_id"))
    op.drop_table("signing_webhook_delivery")
    op.drop_table("signing_webhook_secret")
    with op.batch_alter_table("signing_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_request_client_id"))
    op.drop_table("signing_request")
