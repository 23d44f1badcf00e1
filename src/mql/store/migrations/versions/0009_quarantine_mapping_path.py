"""quarantine: the mapping a row was read with may be a mapping file's path (up to 1000
characters, like the source), so `mql quarantine retry` can read it with that file again

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.alter_column("mapping", existing_type=sa.String(40), type_=sa.String(1000))


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.alter_column("mapping", existing_type=sa.String(1000), type_=sa.String(40))
