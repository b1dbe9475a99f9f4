"""mfa webauthn credentials: columns of mfa_factor

Revision ID: e6f7a8b9c0d1
Revises: d5e8f1a2b3c4
Create Date: 2026-12-04 22:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e6f7a8b9c0d1"
down_revision: str | None = "d5e8f1a2b3c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mfa_factor", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential_id", sa.String(length=1400), nullable=True))
        batch_op.add_column(sa.Column("public_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("sign_count", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("transports", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("aaguid", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("backup_eligible", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("backed_up", sa.Boolean(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_mfa_factor_credential_id"), ["credential_id"])


def downgrade() -> None:
    with op.batch_alter_table("mfa_factor", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_mfa_factor_credential_id"), type_="unique")
        batch_op.drop_column("backed_up")
        batch_op.drop_column("backup_eligible")
        batch_op.drop_column("aaguid")
        batch_op.drop_column("transports")
        batch_op.drop_column("sign_count")
        batch_op.drop_column("public_key")
        batch_op.drop_column("credential_id")
