"""intent resets: the moments from which only fresh intent counts for a contact

Under `requalify: fresh_intent` a recycle or a rejection used to empty the contact's
stored state, which no re-derivation (a merge, a model activation, a question about the
past) knew about. The moments are stored instead, and filled here from the history: the
recycles and rejections recorded under a model version that asks for fresh intent.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "intent_resets",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("contact_id", _ID, nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("cause", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_intent_resets"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name="fk_intent_resets_contact_id_contacts"),
    )
    op.create_index("ix_intent_resets_contact_id_at", "intent_resets", ["contact_id", "at"])
    op.execute(
        "INSERT INTO intent_resets (contact_id, at, cause) "
        "SELECT h.contact_id, h.at, h.cause FROM lifecycle_history h "
        "JOIN model_versions v ON v.id = h.model_version_id "
        "WHERE h.from_stage IN ('mql', 'pql', 'sal', 'sql') "
        "AND h.to_stage IN ('recycled', 'disqualified') "
        "AND h.cause IN ('timeout', 'sales_action') "
        "AND v.text LIKE '%fresh_intent%' ORDER BY h.id")


def downgrade() -> None:
    op.drop_index("ix_intent_resets_contact_id_at", table_name="intent_resets")
    op.drop_table("intent_resets")
