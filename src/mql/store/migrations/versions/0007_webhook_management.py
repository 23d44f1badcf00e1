"""webhook management: paused and rotated secrets, per-subscription sequence numbers,
delivery claims by subscription and the history of every attempt

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.alter_column("secret", type_=sa.Text(), existing_type=sa.String(200),
                           existing_nullable=False)
        batch.add_column(sa.Column("previous_secret", sa.Text()))
        batch.add_column(sa.Column("previous_until", _TIME))
        batch.add_column(sa.Column("paused", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("next_sequence", sa.BigInteger(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("updated_at", _TIME))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("webhook_id", _ID))
        batch.add_column(sa.Column("sequence", sa.BigInteger()))
        batch.create_index("ix_outbox_status_available_at", ["status", "available_at"])
        batch.create_index("ix_outbox_webhook_id", ["webhook_id"])
    # the subscription of each queued row was kept in its payload only
    conn = op.get_bind()
    outbox = sa.table("outbox", sa.column("id", _ID), sa.column("payload", _JSON),
                      sa.column("webhook_id", _ID))
    rows = [{"b_id": i, "b_hook": (p or {}).get("webhook_id")}
            for i, p in conn.execute(sa.select(outbox.c.id, outbox.c.payload))]
    if rows:
        conn.execute(outbox.update().where(outbox.c.id == sa.bindparam("b_id"))
                     .values(webhook_id=sa.bindparam("b_hook")), rows)
    op.create_table(
        "delivery_attempts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("outbox_id", _ID, sa.ForeignKey("outbox.id", name="fk_delivery_attempts_"
                                                  "outbox_id_outbox"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("http_status", sa.Integer()),
        sa.Column("error", sa.Text()),
        sa.Column("seconds", sa.Float()),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
    )
    op.create_index("ix_delivery_attempts_outbox_id", "delivery_attempts", ["outbox_id"])


def downgrade() -> None:
    op.drop_index("ix_delivery_attempts_outbox_id", "delivery_attempts")
    op.drop_table("delivery_attempts")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_webhook_id")
        batch.drop_index("ix_outbox_status_available_at")
        batch.drop_column("sequence")
        batch.drop_column("webhook_id")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("next_sequence")
        batch.drop_column("paused")
        batch.drop_column("previous_until")
        batch.drop_column("previous_secret")
        batch.alter_column("secret", type_=sa.String(200), existing_type=sa.Text(),
                           existing_nullable=False)
