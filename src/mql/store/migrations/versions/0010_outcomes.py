"""outcomes: opportunities with their stage history, contact roles and the hand-offs they
are credited to; marketing costs per month and channel; sales dispositions with reasons

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _key() -> sa.Column[int]:
    return sa.Column("id", _ID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "opportunities", _key(),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(500)),
        sa.Column("account_id", _ID),
        sa.Column("account_domain", sa.String(255)),
        sa.Column("primary_contact_id", _ID),
        sa.Column("primary_email", sa.String(320)),
        sa.Column("product_line", sa.String(200)),
        sa.Column("amount", sa.Float()),
        sa.Column("currency", sa.String(3)),
        sa.Column("opened_at", _TIME, nullable=False),
        sa.Column("closed_at", _TIME),
        sa.Column("stage", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("lost_reason", sa.String(200)),
        sa.Column("lead_source", sa.String(200)),
        sa.Column("attributes", _JSON, nullable=False),
        sa.Column("as_of", _TIME, nullable=False),
        sa.Column("source", sa.String(1000)),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_opportunities"),
        sa.UniqueConstraint("external_id", name="uq_opportunities_external_id"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name="fk_opportunities_account_id_accounts"),
        sa.ForeignKeyConstraint(["primary_contact_id"], ["contacts.id"],
                                name="fk_opportunities_primary_contact_id_contacts"),
    )
    op.create_index("ix_opportunities_account_id", "opportunities", ["account_id"])
    op.create_table(
        "opportunity_history", _key(),
        sa.Column("opportunity_id", _ID, nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("stage", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("amount", sa.Float()),
        sa.Column("closed_at", _TIME),
        sa.Column("source", sa.String(1000)),
        sa.Column("recorded_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_opportunity_history"),
        sa.UniqueConstraint("opportunity_id", "at", "stage",
                            name="uq_opportunity_history_opportunity_id_at_stage"),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"],
                                name="fk_opportunity_history_opportunity_id_opportunities"),
    )
    op.create_table(
        "opportunity_contacts", _key(),
        sa.Column("opportunity_id", _ID, nullable=False),
        sa.Column("contact_id", _ID, nullable=False),
        sa.Column("role", sa.String(100)),
        sa.Column("is_primary", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("source", sa.String(1000)),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_opportunity_contacts"),
        sa.UniqueConstraint("opportunity_id", "contact_id",
                            name="uq_opportunity_contacts_opportunity_id_contact_id"),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"],
                                name="fk_opportunity_contacts_opportunity_id_opportunities"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name="fk_opportunity_contacts_contact_id_contacts"),
    )
    op.create_table(
        "opportunity_links", _key(),
        sa.Column("opportunity_id", _ID, nullable=False),
        sa.Column("contact_id", _ID, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("history_id", _ID),
        sa.Column("qualified_at", _TIME),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("linked_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_opportunity_links"),
        sa.UniqueConstraint("opportunity_id", "contact_id",
                            name="uq_opportunity_links_opportunity_id_contact_id"),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"],
                                name="fk_opportunity_links_opportunity_id_opportunities"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name="fk_opportunity_links_contact_id_contacts"),
        sa.ForeignKeyConstraint(["history_id"], ["lifecycle_history.id"],
                                name="fk_opportunity_links_history_id_lifecycle_history"),
    )
    op.create_table(
        "marketing_costs", _key(),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("campaign", sa.String(200), nullable=False, server_default=""),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("touches", sa.Integer()),
        sa.Column("source", sa.String(1000)),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_marketing_costs"),
        sa.UniqueConstraint("month", "channel", "campaign",
                            name="uq_marketing_costs_month_channel_campaign"),
    )
    op.create_table(
        "dispositions", _key(),
        sa.Column("contact_id", _ID, nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(100)),
        sa.Column("note", sa.Text()),
        sa.Column("actor", sa.String(320)),
        sa.Column("opportunity_id", _ID),
        sa.Column("source", sa.String(1000)),
        sa.Column("recorded_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dispositions"),
        sa.UniqueConstraint("contact_id", "at", "status",
                            name="uq_dispositions_contact_id_at_status"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name="fk_dispositions_contact_id_contacts"),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"],
                                name="fk_dispositions_opportunity_id_opportunities"),
    )
    op.create_index("ix_dispositions_at", "dispositions", ["at"])


def downgrade() -> None:
    op.drop_index("ix_dispositions_at", table_name="dispositions")
    for table in ("dispositions", "marketing_costs", "opportunity_links",
                  "opportunity_contacts", "opportunity_history"):
        op.drop_table(table)
    op.drop_index("ix_opportunities_account_id", table_name="opportunities")
    op.drop_table("opportunities")
