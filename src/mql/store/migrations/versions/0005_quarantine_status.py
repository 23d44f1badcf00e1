"""quarantine: a fingerprint (one row per bad input row), the subject it is about, a note

Revision ID: 0005
Revises: 0004

Rows quarantined twice before this revision (a re-ingested file) keep their oldest copy;
the later copies are marked dismissed, with a note naming the row they repeat.
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _fingerprint(kind: str, source: str, row: int, raw: str) -> str:
    # the same digest as mql.store.quarantine.fingerprint (copied: a migration is frozen)
    text = json.dumps([kind, source, row, raw], ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(64)))
        batch.add_column(sa.Column("subject", sa.String(320)))
        batch.add_column(sa.Column("note", sa.Text()))
    conn = op.get_bind()
    table = sa.table("quarantine", sa.column("id"), sa.column("kind"), sa.column("source"),
                     sa.column("row"), sa.column("raw"), sa.column("fingerprint"),
                     sa.column("status"), sa.column("note"))
    seen: dict[str, int] = {}
    for qid, kind, source, row, raw in conn.execute(
            sa.select(table.c.id, table.c.kind, table.c.source, table.c.row, table.c.raw)
            .order_by(table.c.id)).all():
        digest = _fingerprint(kind, source, int(row), raw)
        if digest in seen:
            conn.execute(table.update().where(table.c.id == qid).values(
                status="dismissed", note=f"a repeat of #{seen[digest]} (migration 0005)"))
            continue
        seen[digest] = int(qid)
        conn.execute(table.update().where(table.c.id == qid).values(fingerprint=digest))
    op.create_index("ix_quarantine_fingerprint", "quarantine", ["fingerprint"], unique=True)
    op.create_index("ix_quarantine_subject", "quarantine", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_quarantine_subject", "quarantine")
    op.drop_index("ix_quarantine_fingerprint", "quarantine")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("note")
        batch.drop_column("subject")
        batch.drop_column("fingerprint")
