"""signing: units' seal certificates and the records office's register keep their unit's entryUUID beside its code

A unit deleted and another later created with the same code must not seal with the old one's key nor continue its
register (its numbers of the year). Existing rows stay NULL here (the migration cannot read the directory): the
application binds them to the unit that has the code the first time it sees them (directory.unit_identity).

Revision ID: f4un1tke0011
Revises: e9un1d000009
Create Date: 2026-12-05 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f4un1tke0011"
down_revision: str | None = "e9un1d000009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signing_certificate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_uuid", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signing_certificate", schema=None) as batch_op:
        batch_op.drop_column("unit_uuid")
