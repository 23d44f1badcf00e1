"""A synthetic world loaded into a store the way a company loads its exports: accounts,
contacts and events through `mql ingest`, then the world's own sales dispositions (the
legacy hand-offs, made without the model's score) and opportunities as outcome files."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.service import ingest as ingest_service
from mql.service import outcomes
from mql.service.synth import write_world
from mql.synthetic.params import DEFAULT_START

RULES = IdentityRules()


def load_world(store: Engine, folder: Path, *, accounts: int, months: int, seed: int
               ) -> datetime:
    """The world of `seed` in `store` and its files in `folder`; the moment after it."""
    write_world(folder, accounts=accounts, months=months, seed=seed)
    end = DEFAULT_START + timedelta(days=31 * months + 1)
    for kind in ("accounts", "contacts", "events"):
        ingest_service.ingest_file(store, folder / f"{kind}.csv", kind, rules=RULES,
                                   now=end)
    for kind in ("opportunities", "dispositions"):
        outcomes.ingest_outcomes(store, folder / f"{kind}.csv", kind,  # type: ignore[arg-type]
                                 rules=RULES, now=end)
    return end
