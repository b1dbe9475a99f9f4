"""audit: no index of entry_hash (no query reads an entry by its hash; each append paid a write at a random place)

An entry's hash covers its writer and its number in its writer's chain, which ``uq_audit_log_writer_seq`` keeps
unique, so two entries never share a hash short of a SHA-256 collision; the unique index on the hash checked
nothing more and no query used it, and its keys, random by construction, put every append's index write on a page
of its own (docs/benchmarks.md, "The audit entry in PostgreSQL").

Revision ID: a4d17ix00012
Revises: f4un1tke0011
Create Date: 2026-12-06 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a4d17ix00012"
down_revision: str | None = "f4un1tke0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_log_entry_hash", type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_audit_log_entry_hash", ["entry_hash"])
