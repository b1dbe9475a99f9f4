"""admin: the externalId SCIM provisioning clients give users and groups

Revision ID: b9c0d1e2f3a4
Revises: a8b9c0d1e2f3
Create Date: 2026-12-04 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b9c0d1e2f3a4"
down_revision: str | None = "a8b9c0d1e2f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scim_external_id",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_type", sa.String(length=16), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_external_id")),
        sa.UniqueConstraint("resource_type", "resource_id", name=op.f("uq_scim_external_id_resource_type")),
    )
    with op.batch_alter_table("scim_external_id", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scim_external_id_external_id"), ["external_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scim_external_id", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scim_external_id_external_id"))
    op.drop_table("scim_external_id")
