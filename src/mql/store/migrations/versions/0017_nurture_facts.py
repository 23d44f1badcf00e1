"""nurture entry and exit facts (issue 21): one row per enrollment or exit of a contact
on a nurture track, with its moment, reason, cause and model version

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "nurture_facts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("contact_id", _ID, sa.ForeignKey("contacts.id"), nullable=False),
        sa.Column("track", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cause", sa.String(40), nullable=False),
        sa.Column("model_version_id", _ID, sa.ForeignKey("model_versions.id")),
        sa.Column("channels", _JSON),
    )
    op.create_index("ix_nurture_facts_contact_id_at", "nurture_facts", ["contact_id", "at"])
    op.create_index("ix_nurture_facts_track_at", "nurture_facts", ["track", "at"])


def downgrade() -> None:
    op.drop_index("ix_nurture_facts_track_at", table_name="nurture_facts")
    op.drop_index("ix_nurture_facts_contact_id_at", table_name="nurture_facts")
    op.drop_table("nurture_facts")
