"""signing: the records office's register of issued documents (number, date, unit) and their recipients

Revision ID: e1a0c0rd0001
Revises: e3c1e0000003
Create Date: 2026-12-05 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e1a0c0rd0001"
down_revision: str | None = "e3c1e0000003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_document_issue",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("unit_name", sa.String(length=255), nullable=False),
        sa.Column("records_office", sa.String(length=128), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("number_key", sa.String(length=64), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["signing_document.id"],
            name=op.f("fk_signing_document_issue_document_id_signing_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_signing_document_issue")),
        sa.UniqueConstraint("unit_code", "year", "number_key", name=op.f("uq_signing_document_issue_unit_code")),
    )
    with op.batch_alter_table("signing_document_issue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_document_issue_unit_code"), ["unit_code"], unique=False)
    op.create_table(
        "signing_document_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["signing_document.id"],
            name=op.f("fk_signing_document_recipient_document_id_signing_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_document_recipient")),
        sa.UniqueConstraint("document_id", "kind", "reference", name=op.f("uq_signing_document_recipient_document_id")),
    )
    with op.batch_alter_table("signing_document_recipient", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_document_recipient_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_signing_document_recipient_reference"), ["reference"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signing_document_recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_document_recipient_reference"))
        batch_op.drop_index(batch_op.f("ix_signing_document_recipient_document_id"))
    op.drop_table("signing_document_recipient")
    with op.batch_alter_table("signing_document_issue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_document_issue_unit_code"))
    op.drop_table("signing_document_issue")
