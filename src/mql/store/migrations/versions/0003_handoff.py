"""hand-off: lifecycle scheduling, assignments, routing state, webhooks, outbox status

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("stage_since", _TIME))
        batch.add_column(sa.Column("due_at", _TIME))
        batch.create_index("ix_contacts_due_at", ["due_at"])
    with op.batch_alter_table("lifecycle_history") as batch:
        batch.add_column(sa.Column("reason", sa.Text()))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("status", sa.String(20), nullable=False,
                                   server_default="pending"))
        batch.add_column(sa.Column("delivery_id", sa.String(64)))
    op.create_table(
        "assignments",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("contact_id", _ID, sa.ForeignKey("contacts.id",
                  name="fk_assignments_contact_id_contacts"), nullable=False),
        sa.Column("team", sa.String(100)),
        sa.Column("owner", sa.String(320)),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("assigned_at", _TIME, nullable=False),
        sa.Column("sla", sa.String(100)),
        sa.Column("sla_due_at", _TIME),
        sa.Column("first_touch_at", _TIME),
        sa.Column("breaches", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("status", sa.String(20), nullable=False, server_default="open"),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
    )
    op.create_index("ix_assignments_status_sla_due_at", "assignments", ["status", "sla_due_at"])
    op.create_index("ix_assignments_contact_id", "assignments", ["contact_id"])
    op.create_table(
        "routing_state",
        sa.Column("team", sa.String(100), nullable=False),
        sa.Column("credit", _JSON, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("team", name="pk_routing_state"),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("topics", _JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
    )


def downgrade() -> None:
    op.drop_table("webhooks")
    op.drop_table("routing_state")
    op.drop_index("ix_assignments_contact_id", "assignments")
    op.drop_index("ix_assignments_status_sla_due_at", "assignments")
    op.drop_table("assignments")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("delivery_id")
        batch.drop_column("status")
    with op.batch_alter_table("lifecycle_history") as batch:
        batch.drop_column("reason")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_due_at")
        batch.drop_column("due_at")
        batch.drop_column("stage_since")
