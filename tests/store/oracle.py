"""Oracle for store tests: every persisted state equals a replay of the contact's ledger."""

from __future__ import annotations

import math

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.model.spec import Decay
from mql.scoring.decay import DecayedSum
from mql.scoring.intent import IntentState
from mql.service.state import contact_states, live_model, rederive_contacts
from mql.store import tables
from mql.store.contacts import live_contact_ids


def same_state(a: IntentState, b: IntentState, decays: dict[str, Decay]) -> bool:
    """Equal trackers (sums to 1e-9 relative; the reference times may differ)."""
    if a.as_of != b.as_of or a.values.keys() != b.values.keys():
        return False
    for key, x in a.values.items():
        y = b.values[key]
        if isinstance(x, DecayedSum) and isinstance(y, DecayedSum):
            at = max(x.as_of, y.as_of)
            vx, vy = x.value_at(at, decays[key]), y.value_at(at, decays[key])
            if not math.isclose(vx, vy, rel_tol=1e-9, abs_tol=1e-12):
                return False
        elif x != y:
            return False
    return True


def mismatches(engine: Engine) -> list[int]:
    """Ids of live contacts whose persisted state differs from a from-scratch replay."""
    with engine.connect() as conn:
        live = live_model(conn)
        ids = live_contact_ids(conn)
        stored = contact_states(conn, live, ids)
        replayed = rederive_contacts(conn, live, ids)
    decays = {t.key: t.decay for t in live.program.trackers}
    return [i for i in ids if not same_state(stored[i], replayed[i], decays)]


def event_count(engine: Engine) -> tuple[int, int]:
    """(rows in the ledger, distinct event ids)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(tables.events)).scalar_one()
        ids = conn.execute(sa.select(sa.func.count(sa.distinct(tables.events.c.event_id))))
        return int(rows), int(ids.scalar_one())
