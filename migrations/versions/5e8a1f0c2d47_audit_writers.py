"""audit: one chain per writer (a process), anchored by a sealed register of writers

Revision ID: 5e8a1f0c2d47
Revises: 9c4e2a7d1b60
Create Date: 2026-12-04 22:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e8a1f0c2d47"
down_revision: str | None = "9c4e2a7d1b60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The entries written so far are writer 1's chain: their number in it is their number in the log.
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("writer", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column("writer_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
    op.execute("UPDATE audit_log SET writer_seq = seq")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("writer_seq", nullable=False)
        batch_op.create_unique_constraint("uq_audit_log_writer_seq", ["writer", "writer_seq"])
    if op.get_bind().dialect.name == "postgresql":
        # the database numbers the entries from now on: a sequence that starts after the last one
        op.execute("CREATE SEQUENCE IF NOT EXISTS audit_log_seq_seq OWNED BY audit_log.seq")
        op.execute("ALTER TABLE audit_log ALTER COLUMN seq SET DEFAULT nextval('audit_log_seq_seq')")
        op.execute("SELECT setval('audit_log_seq_seq', COALESCE((SELECT MAX(seq) FROM audit_log), 0) + 1, false)")


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_log_writer_seq", type_="unique")
        batch_op.drop_column("writer_seq")
        batch_op.drop_column("writer")
