"""signing: reminders of the documents' deadlines (sent once), and the round of each step (re-sending)

Revision ID: e2d0ead10002
Revises: d1e2f3a4b5c6
Create Date: 2026-12-05 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e2d0ead10002"
down_revision: str | None = "d1e2f3a4b5c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signing_document_step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("round", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "signing_document_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["signing_document.id"],
            name=op.f("fk_signing_document_reminder_document_id_signing_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["signing_document_step.id"],
            name=op.f("fk_signing_document_reminder_step_id_signing_document_step"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_document_reminder")),
        sa.UniqueConstraint("step_id", "kind", "deadline", name=op.f("uq_signing_document_reminder_step_id")),
    )
    with op.batch_alter_table("signing_document_reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_document_reminder_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_signing_document_reminder_step_id"), ["step_id"], unique=False)
    with op.batch_alter_table("signing_document_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_document_step_deadline"), ["deadline"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signing_document_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_document_step_deadline"))
    with op.batch_alter_table("signing_document_reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_document_reminder_step_id"))
        batch_op.drop_index(batch_op.f("ix_signing_document_reminder_document_id"))
    op.drop_table("signing_document_reminder")
    with op.batch_alter_table("signing_document_step", schema=None) as batch_op:
        batch_op.drop_column("round")
