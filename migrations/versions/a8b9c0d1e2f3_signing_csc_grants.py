"""signing csc grants: CSC credential authorisations (code, then SAD)

Revision ID: a8b9c0d1e2f3
Revises: f7a8b9c0d1e2
Create Date: 2026-12-05 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a8b9c0d1e2f3"
down_revision: str | None = "f7a8b9c0d1e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_csc_grant",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("authorisation_id", sa.String(length=43), nullable=False),
        sa.Column("official", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("credential_id", sa.String(length=64), nullable=False),
        sa.Column("hashes", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exchanged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sad_digest", sa.String(length=64), nullable=True),
        sa.Column("sad_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_csc_grant")),
        sa.UniqueConstraint("authorisation_id", name=op.f("uq_signing_csc_grant_authorisation_id")),
        sa.UniqueConstraint("code_digest", name=op.f("uq_signing_csc_grant_code_digest")),
        sa.UniqueConstraint("sad_digest", name=op.f("uq_signing_csc_grant_sad_digest")),
    )
    with op.batch_alter_table("signing_csc_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_csc_grant_official"), ["official"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signing_csc_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_csc_grant_official"))
    op.drop_table("signing_csc_grant")
