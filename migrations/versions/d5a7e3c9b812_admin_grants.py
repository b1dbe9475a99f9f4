"""admin: grants of administrative roles on units (delegated administration)

Revision ID: d5a7e3c9b812
Revises: 5e8a1f0c2d47
Create Date: 2026-12-04 22:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5a7e3c9b812"
down_revision: str | None = "5e8a1f0c2d47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_grant",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("granted_by", sa.String(length=128), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_grant")),
        sa.UniqueConstraint("subject", "role", "unit_code", name=op.f("uq_admin_grant_subject")),
    )
    with op.batch_alter_table("admin_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_grant_subject"), ["subject"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("admin_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_grant_subject"))
    op.drop_table("admin_grant")
