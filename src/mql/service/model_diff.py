"""`mql diff OLD NEW`: which rules changed, in words, and who changes state on a data set.

On files (contacts, accounts, events), both models score the same rows at the same time
through `mql score`'s path, and every contact whose verdict or grade differs is listed.
On a store (`--db`), the activation dry run of NEW says whom activating it would qualify
and unqualify (from the store's stages, i.e. relative to the live model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from mql.model.diff import describe_changes
from mql.model.spec import Model
from mql.scoring.qualify import Decision
from mql.service import state as states
from mql.service import store as store_service
from mql.service.activation import Activation, equivalent
from mql.service.scoring import Inputs, load_model_file, score_files
from mql.store import models as model_store


@dataclass(frozen=True, slots=True)
class StateChange:
    """One contact decided differently by the two models."""

    contact: str
    before: Decision
    after: Decision

    @property
    def kind(self) -> str:
        """"qualifies" (new MQL), "no longer qualifies", or "grade" (same verdict)."""
        if self.after.mql and not self.before.mql:
            return "qualifies"
        if self.before.mql and not self.after.mql:
            return "no longer qualifies"
        return "grade"


@dataclass(frozen=True, slots=True)
class ModelDiff:
    """The rule changes and, when data was given, the state changes."""

    old: Model
    new: Model
    changes: list[str]
    at: datetime | None = None
    states: list[StateChange] = field(default_factory=list)
    contacts: int = 0
    activation: Activation | None = None
    note: str = ""


def diff_models(old: Path, new: Path) -> ModelDiff:
    """The rule changes between the model files `old` and `new` (no data)."""
    a, b = load_model_file(old), load_model_file(new)
    return ModelDiff(a, b, describe_changes(a, b))


def diff_on_files(old: Path, new: Path, inputs: Inputs, *, at: datetime) -> ModelDiff:
    """The rule changes, and every contact of `inputs` decided differently at `at`."""
    base = diff_models(old, new)
    before = {d.contact: d for d in score_files(base.old, inputs, at=at).decisions}
    after = score_files(base.new, inputs, at=at).decisions
    changed = [StateChange(d.contact, before[d.contact], d) for d in after
               if d.contact in before and (d.mql != before[d.contact].mql
                                           or d.grade != before[d.contact].grade)]
    order = {"qualifies": 0, "no longer qualifies": 1, "grade": 2}
    changed.sort(key=lambda c: (order[c.kind], c.contact))
    return ModelDiff(base.old, base.new, base.changes, at, changed, len(after))


def diff_on_store(engine: Engine, old: Path, new: Path, *, now: datetime) -> ModelDiff:
    """The rule changes, and what activating `new` in the store would do now (the dry run
    of `mql model activate --dry-run`: nothing is written)."""
    base = diff_models(old, new)
    with engine.connect() as conn:
        live = model_store.active_version(conn)
    note = ""
    if live is None:
        note = "the store has no live model: every contact's move is from its current stage"
    elif not equivalent(states.compiled(live).model, base.old):
        note = (f"the store's live model is {live.name} {live.version} (version {live.id}), "
                f"not OLD: the moves are from the live model to NEW")
    activation = store_service.activate_model(engine, new, now=now, dry_run=True)
    return ModelDiff(base.old, base.new, base.changes, now, activation=activation, note=note)
