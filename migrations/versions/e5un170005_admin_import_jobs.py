"""admin: CSV import jobs (the checked file, the dry run, the real run's progress and report)

Revision ID: e5un170005
Revises: e2d0ead10002
Create Date: 2026-12-05 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5un170005"
down_revision: str | None = "e2d0ead10002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_import_job",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("skip_refused", sa.Boolean(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_import_job")),
    )
    with op.batch_alter_table("admin_import_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_import_job_actor"), ["actor"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("admin_import_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_import_job_actor"))
    op.drop_table("admin_import_job")
