"""indexes for the sales queue and the audit reads: contacts by lifecycle stage (the
queue, the MQA's attached MQLs and the lead filters read the few contacts in `mql` or
`sal` among all of them), and the audit log by action and subject, then time (an
account's MQA hand-offs and stage moves, the engagement alerts, a lead's audit lines)

Revision ID: 0016
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_contacts_lifecycle_stage", "contacts", ["lifecycle_stage"])
    op.create_index("ix_audit_log_action_subject_at", "audit_log", ["action", "subject", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_subject_at", table_name="audit_log")
    op.drop_index("ix_contacts_lifecycle_stage", table_name="contacts")
