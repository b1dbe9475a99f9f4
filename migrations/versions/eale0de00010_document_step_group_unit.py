"""signing: a group step keeps its unit (a unit's leaders, its records office), filled in for the records office's

Revision ID: eale0de00010
Revises: e1a0c0rd0001
Create Date: 2026-12-05 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eale0de00010"
down_revision: str | None = "e1a0c0rd0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signing_document_step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_unit", sa.String(length=64), nullable=True))
    # the records office's steps made before: their unit is the register's issuing unit
    op.execute(
        "UPDATE signing_document_step SET assignee_unit = (SELECT unit_code FROM signing_document_issue"
        " WHERE signing_document_issue.document_id = signing_document_step.document_id)"
        " WHERE assignee_group IS NOT NULL AND assignee_unit IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("signing_document_step", schema=None) as batch_op:
        batch_op.drop_column("assignee_unit")
