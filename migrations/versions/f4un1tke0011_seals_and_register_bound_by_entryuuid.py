"""signing: units' seal certificates, the records office's register and group steps keep their unit's entryUUID

A unit deleted and another later created with the same code must not seal with the old one's key, continue its
register (its numbers of the year: unique per unit code, entryUUID and year now), act on its leaders' and records
office's steps, see its documents nor receive what was issued to it. Existing rows stay NULL here (the migration cannot read the directory): the
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
    with op.batch_alter_table("signing_document_issue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_uuid", sa.String(length=64), nullable=True))
        batch_op.drop_constraint("uq_signing_document_issue_unit_code", type_="unique")
        batch_op.create_unique_constraint(
            "uq_signing_document_issue_unit_code", ["unit_code", "unit_uuid", "year", "number_key"]
        )
    with op.batch_alter_table("signing_document_step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_unit_uuid", sa.String(length=64), nullable=True))
    for table in ("signing_document", "signing_document_recipient"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("unit_uuid", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in ("signing_document_recipient", "signing_document"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("unit_uuid")
    with op.batch_alter_table("signing_document_step", schema=None) as batch_op:
        batch_op.drop_column("assignee_unit_uuid")
    with op.batch_alter_table("signing_document_issue", schema=None) as batch_op:
        batch_op.drop_constraint("uq_signing_document_issue_unit_code", type_="unique")
        batch_op.create_unique_constraint("uq_signing_document_issue_unit_code", ["unit_code", "year", "number_key"])
        batch_op.drop_column("unit_uuid")
    with op.batch_alter_table("signing_certificate", schema=None) as batch_op:
        batch_op.drop_column("unit_uuid")
