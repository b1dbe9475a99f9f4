"""oidc: the DPoP key a pushed request and an authorization code are bound to (RFC 9449 §10)

Revision ID: 9c4e2a7d1b60
Revises: b7b34cb2d10d
Create Date: 2026-12-04 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c4e2a7d1b60"
down_revision: str | None = "b7b34cb2d10d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_pushed_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dpop_jkt", sa.String(length=64), nullable=True))
    with op.batch_alter_table("oidc_authorization_code", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dpop_jkt", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oidc_authorization_code", schema=None) as batch_op:
        batch_op.drop_column("dpop_jkt")
    with op.batch_alter_table("oidc_pushed_request", schema=None) as batch_op:
        batch_op.drop_column("dpop_jkt")
