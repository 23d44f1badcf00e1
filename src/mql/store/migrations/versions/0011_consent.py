"""consent (issue 17): the history of consent records (purpose, evidence, expiry, the
contact that gave it, a fingerprint that makes loading idempotent) and suppression lists

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("consent") as batch:
        batch.add_column(sa.Column("purpose", sa.String(40), nullable=False,
                                   server_default="marketing"))
        batch.add_column(sa.Column("evidence", _JSON))
        batch.add_column(sa.Column("expires_at", _TIME))
        batch.add_column(sa.Column("origin_id", _ID))
        batch.add_column(sa.Column("recorded_at", _TIME))
        batch.add_column(sa.Column("fingerprint", sa.String(64)))
        batch.create_index("ix_consent_fingerprint", ["fingerprint"], unique=True)
    op.create_table(
        "suppressions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(320), nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("source", sa.String(1000)),
        sa.Column("at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_suppressions"),
        sa.UniqueConstraint("kind", "value", name="uq_suppressions_kind_value"),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    with op.batch_alter_table("consent") as batch:
        batch.drop_index("ix_consent_fingerprint")
        for name in ("fingerprint", "recorded_at", "origin_id", "expires_at", "evidence",
                     "purpose"):
            batch.drop_column(name)
