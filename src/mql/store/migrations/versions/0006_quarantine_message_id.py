"""quarantine: the message id of a held Segment message, so holding it again is a no-op

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("message_id", sa.String(200)))
        batch.create_index("ix_quarantine_message_id", ["kind", "message_id"])


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_index("ix_quarantine_message_id")
        batch.drop_column("message_id")
