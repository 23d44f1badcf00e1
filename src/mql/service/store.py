"""Store use cases: create a workspace, migrate, activate a model, look a contact up,
list quarantined rows, undo a merge. One transaction each.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from mql.compliance.consent import state_at
from mql.errors import NotFound
from mql.identity.merge import Identifier, IdentityRules
from mql.identity.normalize import clean_email
from mql.records import split_key
from mql.service import activation
from mql.service import state as states
from mql.service.activation import Activation, Method
from mql.service.resolve import find_by_email
from mql.service.scoring import model_text_to_store
from mql.settings import workspace_url
from mql.store import consent as consent_store
from mql.store import contacts as contact_store
from mql.store import merges as merge_store
from mql.store import models as model_store
from mql.store import quarantine as quarantine_store
from mql.store import scores as score_store
from mql.store.db import connect, redact, translate_errors
from mql.store.migrate import check, current, upgrade

MODEL_FILE = "model.yaml"


@dataclass(frozen=True, slots=True)
class Workspace:
    """A created workspace: its folder, database URL, model file and active version id;
    `activated` says whether this run made the model file live (False: the store already
    had a live model and was left as it was)."""

    folder: Path
    database_url: str
    model_path: Path
    model_version_id: int
    activated: bool = True


def init_workspace(folder: Path, *, now: datetime, database_url: str | None = None,
                   activate: bool = False) -> Workspace:
    """Create (or complete) a workspace in `folder`: the database at the newest schema and
    a copy of the example model, activated as the current model version.

    Re-running it on a live workspace only completes what is missing (the schema, the
    model file): a store that already has a live model keeps it, with its scores, stages
    and history, unless `activate` asks to make the model file live again."""
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / MODEL_FILE
    if not model_path.exists():
        example = files("mql").joinpath("examples/models/b2b-saas.yaml")
        with example.open("rb") as src, model_path.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    url = database_url or workspace_url(folder.resolve())
    engine = connect(url)
    try:
        upgrade(engine)
        with translate_errors("reading the live model"), engine.connect() as conn:
            live = model_store.active_version(conn)
        if live is not None and not activate:
            return Workspace(folder, url, model_path, live.id, activated=False)
        version_id = activate_model(engine, model_path, now=now).version_id
    finally:
        engine.dispose()
    return Workspace(folder, url, model_path, version_id)


def migrate(engine: Engine) -> tuple[str | None, str | None]:
    """Upgrade the database to the newest schema; (revision before, revision after)."""
    before = current(engine)
    return before, upgrade(engine)


def model_versions(engine: Engine) -> list[model_store.ModelVersion]:
    """Every stored model version, oldest first."""
    with translate_errors("listing model versions"), engine.connect() as conn:
        return model_store.versions(conn)


@contextmanager
def _transaction(engine: Engine, dry_run: bool) -> Iterator[Connection]:
    """One transaction, committed at the end, or rolled back for a dry run (which so
    stores nothing, not even the model version it previews) or on any error."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()


def activate_model(engine: Engine, path: Path, *, now: datetime, dry_run: bool = False
                   ) -> Activation:
    """Store the model in `path` as a version and make it live (see `activate_version`);
    a dry run stores nothing, not even the version."""
    text, model = model_text_to_store(path)
    check(engine)
    with translate_errors("storing the model"), _transaction(engine, dry_run) as conn:
        version_id = model_store.save_version(conn, model.name, model.version or "", text,
                                              source=str(path), now=now)
        return _activate(conn, version_id, now=now, dry_run=dry_run, actor="cli",
                         method="batch")


def activate_version(engine: Engine, version_id: int, *, now: datetime, dry_run: bool = False,
                     actor: str = "cli", method: Method = "batch") -> Activation:
    """Make a stored version live: every contact's and account's state is re-derived from
    its ledger under it (the previous version's scores stay), the transitions it causes
    are recorded with cause `model_change`, and the contacts it newly qualifies are listed
    first. A dry run computes the same from the batch engine's decisions (DuckDB, over the
    store's ledger) and writes nothing, so sales is never flooded by surprise.
    `method="replay"` is the previous implementation (re-derive and roll back), kept for
    comparison. `NotFound` for an unknown version."""
    check(engine)
    with translate_errors("activating the model"), _transaction(engine, dry_run) as conn:
        return _activate(conn, version_id, now=now, dry_run=dry_run, actor=actor,
                         method=method)


def _activate(conn: Connection, version_id: int, *, now: datetime, dry_run: bool,
              actor: str, method: Method) -> Activation:
    """`activate_version` inside the caller's transaction (which rolls back a dry run)."""
    activation.version_of(conn, version_id)
    if dry_run and method in ("batch", "set"):
        return activation.preview(conn, version_id, now=now)
    done = activation.switch(conn, version_id, now=now, dry_run=dry_run, method=method)
    if not dry_run:
        live = states.live_model(conn)
        merge_store.audit(conn, actor, "model.activate", str(version_id),
                          {"name": live.model.name, "transitions": done.transitions}, now=now)
    return done


@dataclass(frozen=True, slots=True)
class ContactView:
    """A contact as the store knows it: record, identities, scores, consent, merges."""

    id: int
    email: str
    account: str | None
    match_method: str | None
    match_confidence: float | None
    attributes: dict[str, Any]
    identities: list[dict[str, Any]]
    scores: dict[str, Any] | None
    model: str | None
    consent: dict[str, str]
    merges: list[dict[str, Any]]


def find_contact(engine: Engine, email: str, *, rules: IdentityRules) -> ContactView:
    """The contact with `email` (any address of theirs, or a CRM id written
    ``salesforce:00Q1`` / ``hubspot:1001``); `NotFound` otherwise."""
    check(engine)
    parts = split_key(email.strip())
    try:
        clean = email.strip() if parts else clean_email(email)
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    with translate_errors("looking the contact up"), engine.connect() as conn:
        if parts is not None:
            ident = Identifier("external", parts[1], parts[0])
            hit = contact_store.find(conn, [ident]).get(ident)
            found = {} if hit is None else {clean: merge_store.resolve_survivor(conn, hit)}
        else:
            found = find_by_email(conn, [clean], rules)
        if not found:
            raise NotFound(f"no contact {email!r} in the store")
        cid = found[clean]
        stored = contact_store.load_contacts(conn, [cid])[cid]
        live = model_store.active_version(conn)
        rows = score_store.scores_of(conn, cid)
        current_row = next((r for r in rows if live and r["model_version_id"] == live.id), None)
        # each channel's consent after its newest record (`mql.compliance.consent`: the
        # stricter at one moment and across merged contacts); `mql consent show` reads
        # it as of a time, with expiry and the policy's verdict
        records = consent_store.records_of(conn, [cid]).get(cid, [])
        newest = max((r.at for r in records), default=None)
        statuses = {} if newest is None else {
            channel: state_at(records, channel, newest).status
            for channel in dict.fromkeys(r.channel for r in records)}
        return ContactView(
            cid, stored.record.email, stored.record.account, stored.match_method,
            stored.match_confidence, dict(stored.record.attributes),
            contact_store.identity_rows(conn, cid), current_row,
            None if live is None else f"{live.name} {live.version}".strip(), statuses,
            merge_store.history(conn, cid))


def undo_merge(engine: Engine, merge_id: int, *, now: datetime, actor: str = "cli") -> None:
    """Undo a recorded merge: both contacts get their own rows back and are re-derived."""
    check(engine)
    with translate_errors("undoing the merge"), engine.begin() as conn:
        survivor, merged = merge_store.unfold(conn, merge_id, actor=actor, now=now)
        live = states.live_model(conn)
        states.score_contacts(conn, live, states.rederive_contacts(conn, live,
                                                                   [survivor, merged]), now=now)


def quarantined(engine: Engine, *, status: str | None = "open", limit: int | None = None,
                source: str | None = None) -> list[quarantine_store.QuarantinedRow]:
    """Quarantined rows (open ones by default; of one source if given), oldest first."""
    check(engine)
    with translate_errors("listing quarantine"), engine.connect() as conn:
        return quarantine_store.listing(conn, status=status, limit=limit, source=source)


def dismiss_quarantined(engine: Engine, *, ids: list[int] | None = None,
                        source: str | None = None, note: str, now: datetime) -> int:
    """Dismiss open quarantined rows (`ids`, or all of `source`) with `note`; how many.
    `NotFound` for an unknown id (then nothing is dismissed)."""
    check(engine)
    with translate_errors("dismissing quarantined rows"), engine.begin() as conn:
        return quarantine_store.dismiss(conn, ids=ids, source=source, note=note, now=now)


def quarantined_row(engine: Engine, row_id: int) -> quarantine_store.QuarantinedRow:
    """One quarantined row; `NotFound` if there is none."""
    check(engine)
    with translate_errors("reading quarantine"), engine.connect() as conn:
        return quarantine_store.get(conn, row_id)


def describe(url: str) -> str:
    """The database URL for messages (password hidden)."""
    return redact(url)


__all__ = ["Activation", "ContactView", "NotFound", "Workspace", "activate_model",
           "activate_version", "describe",
           "find_contact", "init_workspace", "migrate", "quarantined", "quarantined_row",
           "undo_merge"]
