"""Scoring use cases on files: validate a model, score contacts, explain one contact."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from mql.errors import ConfigError, InputError, ModelError, NotFound, Problem
from mql.identity.match import is_free_mail
from mql.ingest import mapping as mappings
from mql.ingest.files import BadRow, Kind, ReadOptions, Rejected, read_rows, read_text
from mql.model.lists import list_files, values_of, with_values
from mql.model.parse import parse_model
from mql.model.spec import Model
from mql.model.yaml_marks import YamlSyntaxError
from mql.model.yaml_marks import load as load_yaml
from mql.records import Account, Contact, Event
from mql.scoring.explain import Explanation, explain_scored
from mql.scoring.qualify import Decision
from mql.scoring.scorer import Scorer

Progress = Callable[[str, int], None]  # (what, rows done so far)


def load_model_file(path: Path) -> Model:
    """The model in `path`; `ModelError` names the file, line and field of each problem."""
    return model_from_text(read_text(path, "model"), path)


def model_from_text(text: str, path: Path) -> Model:
    """The model written in `text`, read from the file `path` (its lists' files are read
    from beside it)."""
    return parse_model(text, source=str(path), lists=read_lists(text, path))


def read_lists(text: str, path: Path) -> dict[str, tuple[str, ...]]:
    """The values of the lists the model in `text` (the file `path`) names under `lists:`,
    each read from its CSV file relative to the model's folder. `ModelError` at the list's
    line and column when a file cannot be read or lacks the column."""
    source = str(path)
    try:
        located = load_yaml(text)
    except YamlSyntaxError:
        return {}  # parse_model reports it
    out: dict[str, tuple[str, ...]] = {}
    problems: list[Problem] = []
    for ref in list_files(located, source=source):
        file = path.parent / ref.file
        where = (source, ref.line, ref.col, f"lists.{ref.name}")
        if not file.is_file():
            problems.append(Problem(*where, f"no such list file {file}"))
            continue
        rows: list[dict[str, Any]] = []
        for number, row in read_rows(file):
            if isinstance(row, BadRow):
                problems.append(Problem(*where, f"{file}:{number}: {row.error}"))
                break
            rows.append(dict(row))
        header = list(rows[0]) if rows else []
        missing = [c for c in ([ref.column] if ref.column else []) + [k for k, _ in ref.filter]
                   if c not in header]
        if rows and missing:
            problems.append(Problem(*where, f"{file} has no column {missing[0]!r} (columns: "
                                    f"{', '.join(header)})"))
            continue
        out[ref.name] = values_of(ref, rows)
    if problems:
        raise ModelError(problems)
    return out


def model_text_to_store(path: Path) -> tuple[str, Model]:
    """The text to store as a version of the model in `path` (its lists' values appended,
    so the version reads back without the files), and the model."""
    text = read_text(path, "model")
    lists = read_lists(text, path)
    model = parse_model(text, source=str(path), lists=lists)
    return with_values(text, lists), model


@dataclass(frozen=True, slots=True)
class Inputs:
    """The files of one scoring run, with the column mapping (None: detected from each
    file's header; a built-in name or a mapping file) and the date options."""

    contacts: Path
    accounts: Path | None
    events: Path | None
    read: ReadOptions = field(default_factory=ReadOptions)  # encoding, value size limit
    mapping: str | Path | None = None
    date_format: str | None = None
    dayfirst: bool | None = None

    def reader(self, path: Path, kind: Kind) -> mappings.Reader:
        """The reader of one of these files."""
        return mappings.Reader(path, kind, mappings.resolve(self.mapping),
                               date_format=self.date_format, dayfirst=self.dayfirst,
                               options=self.read)


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
    latest_event: datetime | None = None  # the newest event read (to hint at --at)
    uncounted: dict[str, int] = field(default_factory=dict)  # types no rule reads
    warnings: list[InputError] = field(default_factory=list)


@dataclass(slots=True)
class _Read:
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[InputError] = field(default_factory=list)


def _load(inputs: Inputs, path: Path, kind: Kind, read: _Read, progress: Progress | None
          ) -> list[mappings.Parsed]:
    records: list[mappings.Parsed] = []
    for number, item in inputs.reader(path, kind).records():
        if isinstance(item, Rejected):
            read.rejected.append(item)
        else:
            records.append(item)
            read.warnings.extend(item.warnings)
        if progress is not None and number % 5000 == 0:
            progress(kind, number)
    return records


def _scorer(model: Model, inputs: Inputs, read: _Read,
            progress: Progress | None) -> tuple[Scorer, list[Event]]:
    accounts = _load(inputs, inputs.accounts, "accounts", read, progress) \
        if inputs.accounts is not None else []
    contacts = _load(inputs, inputs.contacts, "contacts", read, progress)
    parsed_events = _load(inputs, inputs.events, "events", read, progress) \
        if inputs.events else []
    return scorer_of(model, accounts, contacts, parsed_events)


def scorer_of(model: Model, accounts: Iterable[mappings.Parsed],
              contacts: Iterable[mappings.Parsed], parsed_events: Iterable[mappings.Parsed]
              ) -> tuple[Scorer, list[Event]]:
    """A scorer holding these parsed rows' accounts and contacts, and the events to feed
    it (the one way rows become a scorer: files, and the tests of a model file)."""
    scorer = Scorer(model)
    for parsed in accounts:
        if isinstance(parsed.record, Account):
            scorer.add_account(parsed.record)
    for parsed in contacts:
        contact = parsed.record
        assert isinstance(contact, Contact)
        scorer.add_contact(contact)
        # a contacts export's company columns describe the contact's account (never a
        # free-mail "account": strangers would share it)
        company = parsed.company
        if company is not None and not is_free_mail(company.domain):
            scorer.add_account(mappings.with_company(scorer.accounts.get(company.domain),
                                                     company))
    events = [p.record for p in parsed_events if isinstance(p.record, Event)]
    # an event that names only a CRM id joins the contact holding that id
    keys = {k: v for k, v in mappings.aliases(scorer.contacts.values()).items()
            if k not in scorer.contacts}
    if keys:
        events = [mappings.joined(e, keys) for e in events]
    return scorer, events


def score_files(model: Model, inputs: Inputs, *, at: datetime,
                progress: Progress | None = None) -> ScoreRun:
    """Score every contact of `inputs` at `at`, from the events up to `at`."""
    read = _Read()
    scorer, events = _scorer(model, inputs, read, progress)
    later = duplicates = 0
    for event in events:
        if event.event_id in scorer.seen:
            duplicates += 1
        elif not scorer.add(event, until=at) and event.at > at:
            later += 1
    decisions = [scorer.decide(email, at) for email in scorer.contacts]
    decisions.sort(key=lambda d: (not d.mql, -d.total, d.contact))
    latest = max((e.at for e in events), default=None)
    program = scorer.program
    uncounted = Counter(e.type for e in events if not program.trackers_for("contact", e.type)
                        and not program.trackers_for("account", e.type))
    return ScoreRun(model, at, decisions, read.rejected, len(events), later, duplicates, latest,
                    dict(uncounted.most_common()), read.warnings)


def explain_contact(model: Model, inputs: Inputs, email: str, *, at: datetime) -> Explanation:
    """The explanation of the contact with `email` at `at`."""
    scorer, events = _scorer(model, inputs, _Read(), None)
    key = email.strip().lower() if "@" in email else email.strip()  # or a CRM-id key
    contact: Contact | None = scorer.contacts.get(key)
    if contact is None:
        raise NotFound(f"no contact {email!r} in {inputs.contacts}")
    applied = [e for e in events if scorer.add(e, until=at)]
    return explain_scored(scorer, key, applied, at=at)


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
    times: list[datetime] = [
        item.record.at for _, item in inputs.reader(inputs.events, "events").records()
        if isinstance(item, mappings.Parsed) and isinstance(item.record, Event)]
    if not times:
        raise ConfigError(f"{inputs.events}: no readable events")
    return max(times)
