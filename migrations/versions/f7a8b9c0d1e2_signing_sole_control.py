"""signing sole control: WebAuthn authorisations of officials' HSM keys

Revision ID: f7a8b9c0d1e2
Revises: e6f7a8b9c0d1
Create Date: 2026-12-04 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f7a8b9c0d1e2"
down_revision: str | None = "e6f7a8b9c0d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_sole_control",
        sa.Column("id", sa.String(length=43), nullable=False),
        sa.Column("official", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("digests", sa.Text(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_sole_control")),
    )
    with op.batch_alter_table("signing_sole_control", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_sole_control_official"), ["official"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signing_sole_control", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_sole_control_official"))
    op.drop_table("signing_sole_control")
