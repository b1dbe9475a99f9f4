"""oidc_token: no foreign key to oidc_grant (its check locked the grant's row at every token stored)

Every statement that stores a token takes its grant id from the grant it inserts or reads in that same statement
(a code grant's new grant, the rotated token's grant), the application never deletes a grant, and every read of a
token joins its grant (introspection, userinfo, the resource servers' check, a refresh, RFC 7009), so a token whose
grant was deleted by hand is an unknown token. The key's check ran a ``SELECT … FOR KEY SHARE`` of the grant for
each token stored, writing a row lock on it: 12 % of PostgreSQL's CPU per refresh (docs/benchmarks.md, "The
refresh grant's PostgreSQL cost"). The index on ``grant_id`` stays (a family revoked together).

Revision ID: r14nofk00013
Revises: a4d17ix00012
Create Date: 2026-12-06 04:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "r14nofk00013"
down_revision: str | None = "a4d17ix00012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oidc_token", schema=None) as batch_op:
        batch_op.drop_constraint("fk_oidc_token_grant_id_oidc_grant", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("oidc_token", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_oidc_token_grant_id_oidc_grant", "oidc_grant", ["grant_id"], ["id"], ondelete="CASCADE"
        )
