"""oidc_client: the unit a client belongs to (its client managers manage it); existing clients on the root

Revision ID: e3c1e0000003
Revises: e5un170005
Create Date: 2026-12-05 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3c1e0000003"
down_revision: str | None = "e5un170005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_code", sa.String(length=64), server_default="*", nullable=False))
        batch_op.create_index(batch_op.f("ix_oidc_client_unit_code"), ["unit_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oidc_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_client_unit_code"))
        batch_op.drop_column("unit_code")
