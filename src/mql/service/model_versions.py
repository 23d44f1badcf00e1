"""Model version use cases for the HTTP API: check a model text, store it (a dry run shows
what activation would change), list versions, activate a stored version. One transaction
each; activations are written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from mql.model.parse import parse_model
from mql.service import store as store_service
from mql.service.store import Activation
from mql.store import contacts as contact_store
from mql.store import merges as merge_store
from mql.store import models as model_store
from mql.store.db import translate_errors
from mql.store.migrate import check
from mql.store.models import ModelVersion


@dataclass(frozen=True, slots=True)
class Upload:
    """A stored (not yet active) model version and the contacts its activation rescores."""

    version: ModelVersion
    contacts: int


def upload_model(engine: Engine, text: str, *, source: str, actor: str, now: datetime
                 ) -> Upload:
    """Validate `text` (`ModelError` lists every problem as file:line:column) and store it
    as a version, inactive; storing the same text twice gives the same version."""
    model = parse_model(text, source=source)
    check(engine)
    with translate_errors("storing the model"), engine.begin() as conn:
        version_id = model_store.save_version(conn, model.name, model.version or "", text,
                                              source=source, now=now)
        merge_store.audit(conn, actor, "model.upload", str(version_id),
                          {"name": model.name, "source": source}, now=now)
        stored = next(v for v in model_store.versions(conn) if v.id == version_id)
        return Upload(stored, len(contact_store.live_contact_ids(conn)))


def model_versions(engine: Engine) -> list[ModelVersion]:
    """Every stored model version, oldest first."""
    check(engine)
    with translate_errors("listing models"), engine.connect() as conn:
        return model_store.versions(conn)


def activate_version(engine: Engine, version_id: int, *, actor: str, now: datetime,
                     dry_run: bool = False) -> tuple[ModelVersion, Activation]:
    """Make a stored version live (or dry-run it); the version and what changed."""
    done = store_service.activate_version(engine, version_id, now=now, dry_run=dry_run,
                                          actor=actor)
    with translate_errors("reading model versions"), engine.connect() as conn:
        version = next(v for v in model_store.versions(conn) if v.id == version_id)
    return version, done


def check_model(text: str, *, source: str) -> str:
    """The model's name when `text` is a valid model; `ModelError` listing every problem."""
    return parse_model(text, source=source).name
