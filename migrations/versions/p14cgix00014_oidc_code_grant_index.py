"""oidc_authorization_code: an index on grant_id (the purge deletes grants; each deletion sets its code's grant_id
to NULL through the foreign key, which without this index scanned the whole code table once per grant)

Revision ID: p14cgix00014
Revises: r14nofk00013
Create Date: 2026-12-06 05:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "p14cgix00014"
down_revision: str | None = "r14nofk00013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_authorization_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_authorization_code_grant_id"), ["grant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oidc_authorization_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_authorization_code_grant_id"))
