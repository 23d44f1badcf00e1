"""Small stores for the outcome tests: contacts loaded through the ingest, MQL moves in the
lifecycle history, outcome files written as text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.service import ingest as ingest_service
from mql.service import outcomes
from mql.service.ingest import IngestSummary
from mql.store import handoff
from mql.store.tables import contacts, metadata

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RULES = IdentityRules()


def day(month: int, d: int, hour: int = 0) -> datetime:
    return datetime(2025, month, d, hour, tzinfo=UTC)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def load_contacts(store: Engine, folder: Path, *emails: str) -> dict[str, int]:
    """Each email as a contact in the store; its id."""
    path = write(folder, "people.csv", "email\n" + "\n".join(emails) + "\n")
    ingest_service.ingest_file(store, path, "contacts", rules=RULES, now=NOW)
    with store.connect() as conn:
        rows = conn.execute(sa.select(contacts.c.email, contacts.c.id, contacts.c.account_id))
        return {str(e): int(i) for e, i, _ in rows}


def qualify(store: Engine, contact_id: int, at: datetime, stage: str = "mql") -> int:
    """A move into `stage` in the contact's lifecycle history; its id."""
    with store.begin() as conn:
        handoff.add_history(conn, contact_id, "captured", stage, at, "threshold", "mql", None,
                            None)
        return int(conn.execute(sa.text("select max(id) from lifecycle_history")).scalar_one())


def ingest(store: Engine, path: Path, kind: Any, **options: Any) -> IngestSummary:
    return outcomes.ingest_outcomes(store, path, kind, rules=RULES, now=NOW, **options)


def rows(store: Engine, table: str, *order: str) -> list[dict[str, Any]]:
    """The rows of a store table (typed as the store reads them), in `order` (default id)."""
    t = metadata.tables[table]
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            t.select().order_by(*(t.c[o] for o in order or ("id",))))]
