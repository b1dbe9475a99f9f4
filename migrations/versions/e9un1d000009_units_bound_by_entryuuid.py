"""admin and idp: grants and OIDC clients keep their unit's entryUUID beside its code

A unit deleted and another later created with the same code must not inherit the old one's grants and clients.
Existing rows stay NULL here (the migration cannot read the directory): the application binds them to the unit that
has the code the first time it sees them, or marks them orphaned when none has it (admin.unit_identity).

Revision ID: e9un1d000009
Revises: eale0de00010
Create Date: 2026-12-05 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e9un1d000009"
down_revision: str | None = "eale0de00010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("admin_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_uuid", sa.String(length=64), nullable=True))
    with op.batch_alter_table("oidc_client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_uuid", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oidc_client", schema=None) as batch_op:
        batch_op.drop_column("unit_uuid")
    with op.batch_alter_table("admin_grant", schema=None) as batch_op:
        batch_op.drop_column("unit_uuid")
