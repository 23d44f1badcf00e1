"""Scoring use cases on files: validate a model, score contacts, explain one contact."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from mql.errors import ConfigError, NotFound
from mql.ingest.files import Kind, Rejected, read_records
from mql.model.parse import parse_model
from mql.model.spec import Model
from mql.records import Account, Contact, Event
from mql.scoring.explain import Explanation, explain
from mql.scoring.qualify import Decision
from mql.scoring.scorer import Scorer

Progress = Callable[[str, int], None]  # (what, rows done so far)


def load_model_file(path: Path) -> Model:
    """The model in `path`; `ModelError` names the file, line and field of each problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such model file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_model(text, source=str(path))


@dataclass(frozen=True, slots=True)
class Inputs:
    """The files of one scoring run."""

    contacts: Path
    accounts: Path | None
    events: Path | None


@dataclass(frozen=True, slots=True)
class ScoreRun:
    """Decisions for every contact, plus every input row that could not be used."""

    model: Model
    at: datetime
    decisions: list[Decision]
    rejected: list[Rejected]
    events_read: int
    events_after_at: int
    duplicates: int


def _load(
    path: Path, kind: Kind, rejected: list[Rejected], progress: Progress | None
) -> list[Any]:
    records: list[Any] = []
    for number, item in read_records(path, kind):
        if isinstance(item, Rejected):
            rejected.append(item)
        else:
            records.append(item)
        if progress is not None and number % 5000 == 0:
            progress(kind, number)
    return records


def _scorer(model: Model, inputs: Inputs, rejected: list[Rejected],
            progress: Progress | None) -> tuple[Scorer, list[Event]]:
    scorer = Scorer(model)
    if inputs.accounts is not None:
        for account in _load(inputs.accounts, "accounts", rejected, progress):
            scorer.add_account(account)
    for contact in _load(inputs.contacts, "contacts", rejected, progress):
        scorer.add_contact(contact)
    events = _load(inputs.events, "events", rejected, progress) if inputs.events else []
    return scorer, events


def score_files(model: Model, inputs: Inputs, *, at: datetime,
                progress: Progress | None = None) -> ScoreRun:
    """Score every contact of `inputs` at `at`, from the events up to `at`."""
    rejected: list[Rejected] = []
    scorer, events = _scorer(model, inputs, rejected, progress)
    later = duplicates = 0
    for event in events:
        if event.at > at:
            later += 1
        elif not scorer.add(event):
            duplicates += 1
    decisions = [scorer.decide(email, at) for email in scorer.contacts]
    decisions.sort(key=lambda d: (not d.mql, -d.total, d.contact))
    return ScoreRun(model, at, decisions, rejected, len(events), later, duplicates)


def explain_contact(model: Model, inputs: Inputs, email: str, *, at: datetime) -> Explanation:
    """The explanation of the contact with `email` at `at`."""
    rejected: list[Rejected] = []
    scorer, events = _scorer(model, inputs, rejected, None)
    key = email.strip().lower()
    contact: Contact | None = scorer.contacts.get(key)
    if contact is None:
        raise NotFound(f"no contact {email!r} in {inputs.contacts}")
    account: Account | None = scorer.accounts.get(contact.account) if contact.account else None
    # an event naming a contact and no account is that contact's company's, as in `score`
    events = [e if e.account or e.contact is None
              else dataclasses.replace(e, account=scorer.account_of(e)) for e in events]
    return explain(model, contact, account, events, at=at)


def sample_inputs() -> tuple[Path, Inputs]:
    """The bundled example model and sample data (contacts, accounts, events)."""
    root = Path(str(files("mql").joinpath("examples")))
    sample = root / "sample"
    return root / "models" / "b2b-saas.yaml", Inputs(
        sample / "contacts.csv", sample / "accounts.csv", sample / "events.csv"
    )


def latest_event_time(inputs: Inputs) -> datetime:
    """The time of the newest readable event in `inputs` (the sample's "now")."""
    if inputs.events is None:
        raise ConfigError("no events file given")
    times: list[datetime] = [item.at for _, item in read_records(inputs.events, "events")
                             if not isinstance(item, Rejected)]
    if not times:
        raise ConfigError(f"{inputs.events}: no readable events")
    return max(times)
