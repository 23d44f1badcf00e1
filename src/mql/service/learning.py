"""`mql learn`: a points model learned from outcomes, from the store or a lead export.

From the store, each contact is taken at its decision moment (first MQL move or first
disposition, `store.learning`) with the touches before it (its own, and every person's
at its account: company-wide behaviour), and its outcome is the one `mql calibrate` and
`mql backtest` read (`service.conversions`), from that moment on. From a flat lead export
(one row per lead, behaviour already counted in columns, an outcome column) each row is a
lead as the file says, read through the mapping layer like `mql score` reads it. Both
end in the same `learning.scorecard.learn` and the same model file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Connection, Engine

from mql.errors import ConfigError, InputError
from mql.ingest import mapping as mappings
from mql.ingest.files import ReadOptions, Rejected
from mql.ingest.formats import snake
from mql.learning.dataset import OUTCOMES, FieldCheck, LeadRow, check_fields, lead_touches
from mql.learning.prior import hand_prior
from mql.learning.scorecard import Scorecard, learn
from mql.learning.write import learned_threshold, model_text
from mql.model.parse import parse_model
from mql.model.spec import FitRule, Model
from mql.service import scoring
from mql.service.conversions import OutcomeTimes, first_outcomes
from mql.service.state import live_model
from mql.store import learning as store_learning

_EMPTY = "name: none\nfit: {rules: []}\nintent: {rules: []}\nmql: {thresholds: [{total: 0}]}\n"

_YES = {"1", "true", "yes", "y", "won", "closed won", "closed_won", "x", "sql", "t"}
_NO = {"0", "false", "no", "n", "lost", "closed lost", "closed_lost", "", "f", "open", "-"}


@dataclass(frozen=True, slots=True)
class LearnRun:
    """A learned model: the scorecard, its model file text, the fields used and left
    out, and the rows that could not be used (each with file, row and field)."""

    card: Scorecard
    text: str
    fields: FieldCheck
    rejected: list[Rejected] = field(default_factory=list)
    source: str = ""
    rows: Sequence[LeadRow] = ()  # the leads it learned from


def _check_outcome(outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise ConfigError(f"--outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")


def _score_of(model: Model | None, names: Sequence[str]) -> dict[str, str]:
    """The score of the hand model whose rules read each field (fit when none does)."""
    if model is None:
        return {}
    placed: dict[str, str] = {}
    for score in model.scores.values():
        if score.kind != "fit":
            continue
        for rule in score.rules:
            assert isinstance(rule, FitRule)
            read = [*rule.when.fields()]
            for extra in (rule.points_by, rule.points_per):
                if extra is not None:
                    read.append(extra.field)
            for name in read:
                placed.setdefault(name, score.name)
    return {n: placed[n] for n in names if n in placed}


def learn_rows(rows: Sequence[LeadRow], *, outcome: str, features: Sequence[str] = (),
               hand: Model | None = None, source: str, version: str,
               rejected: list[Rejected] | None = None, account_wide: bool = False
               ) -> LearnRun:
    """Learn from `rows` and write the model file text. `account_wide`: the rows'
    `account:TYPE` touches count every person's events at the account too
    (`dataset.lead_touches`), so account rules for page views may be learned."""
    if not rows:
        raise ConfigError(f"{source}: no leads to learn from")
    attributes = [f for f in features if not f.startswith("event:")]
    touches = [f.partition(":")[2] for f in features if f.startswith("event:")] or None
    checked = check_fields(rows, requested=attributes)
    if features and not attributes:
        checked = FieldCheck((), checked.skipped, checked.warnings)
    prior = hand_prior(hand, rows) if hand is not None else None
    card = learn(rows, checked.used, outcome=outcome, score_of=_score_of(hand, checked.used),
                 prior=prior, touch_kinds=touches, warnings=checked.warnings,
                 account_wide=account_wide)
    name = f"learned_{outcome}"
    text = model_text(card, name=name, version=version, source=source,
                      threshold=learned_threshold(card, rows), rows=rows)
    return LearnRun(card, text, checked, rejected or [], source, rows)


def store_rows(conn: Connection, *, outcome: str, start: datetime | None,
               end: datetime | None) -> list[LeadRow]:
    """The leads whose decision moment falls in [start, end), each with its touches
    before the moment and whether `outcome` followed it (`conversions.first_outcomes`:
    the outcomes `mql calibrate` and `mql backtest` count)."""
    moments = store_learning.decision_moments(conn, start=start, end=end)
    stored = store_learning.stored_leads(conn, moments)
    outcomes = first_outcomes(conn)
    return [LeadRow(lead.email, lead.attributes,
                    lead_touches(lead.at,
                                 [(k, at, p) for k, at, p, shared in lead.touches if not shared],
                                 [(k, at, p) for k, at, p, shared in lead.touches if shared],
                                 lead.colleagues),
                    outcomes.get(lead.contact_id, OutcomeTimes()).after(outcome, lead.at),
                    lead.at) for lead in stored]


def learn_from_store(engine: Engine, *, outcome: str, start: datetime | None,
                     end: datetime | None, features: Sequence[str] = (),
                     hand: Model | None = None, version: str) -> LearnRun:
    """Learn from the contacts whose decision moment falls in [start, end); the hand
    model is the store's live model unless `hand` is given."""
    _check_outcome(outcome)
    with engine.connect() as conn:
        rows = store_rows(conn, outcome=outcome, start=start, end=end)
        if hand is None:
            try:
                hand = live_model(conn).model
            except ConfigError:  # no live model: nothing to shrink towards
                hand = None
    window = (f"{start:%Y-%m-%d}" if start else "the start") + " to " + (
        f"{end:%Y-%m-%d}" if end else "now")
    return learn_rows(rows, outcome=outcome, features=features, hand=hand, version=version,
                      source=f"the store: {len(rows)} leads at their MQL or hand-off moment, "
                             f"{window}", account_wide=True)


def _label(value: object, *, source: str, row: int, column: str) -> bool:
    text = "" if value is None else str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise InputError(source, row, column, f"expected an outcome (yes/no, true/false, 1/0, "
                                          f"won/lost), got {value!r}")


def learn_from_file(path: Path, *, outcome: str, outcome_column: str | None = None,
                    mapping: str | Path | None = None, features: Sequence[str] = (),
                    hand: Model | None = None, version: str,
                    read: ReadOptions | None = None, date_format: str | None = None,
                    dayfirst: bool | None = None) -> LearnRun:
    """Learn from a flat lead export: one row per lead with an outcome column (named
    `outcome_column`, default the outcome's name; compared in snake case, so `Won`,
    `won` and `WON` are the same column)."""
    _check_outcome(outcome)
    column = snake(outcome_column or outcome)
    reader = mappings.Reader(path, "contacts", mappings.resolve(mapping),
                             date_format=date_format, dayfirst=dayfirst,
                             options=read or ReadOptions())
    parsed: list[mappings.Parsed] = []
    rejected: list[Rejected] = []
    numbers: dict[str, int] = {}
    for number, item in reader.records():
        if isinstance(item, Rejected):
            rejected.append(item)
        else:
            parsed.append(item)
            numbers[item.record.email] = number
    # the contacts and their accounts joined as `mql score` joins them (one join)
    scorer, _ = scoring.scorer_of(hand or parse_model(_EMPTY, source="learn"), [], parsed, [])
    rows: list[LeadRow] = []
    seen_column = False
    for key, contact in scorer.contacts.items():
        attrs = dict(contact.attributes)
        name = next((k for k in attrs if snake(k) == column), None)
        seen_column = seen_column or name is not None
        try:
            label = _label(attrs.pop(name, None) if name is not None else None,
                           source=str(path), row=numbers.get(key, 0), column=name or column)
        except InputError as exc:
            rejected.append(Rejected(str(path), numbers.get(key, 0), dict(attrs), exc))
            continue
        values = {f"contact.{k}": v for k, v in attrs.items()}
        account = scorer.accounts.get(contact.account) if contact.account else None
        if account is not None:
            values.update({f"account.{k}": v for k, v in account.attributes.items()})
            values["account.domain"] = account.domain
        rows.append(LeadRow(key, values, (), label))
    if not seen_column:
        raise ConfigError(f"{path}: no outcome column {column!r} (name it with "
                          "--outcome-column)")
    return learn_rows(rows, outcome=outcome, features=features, hand=hand, version=version,
                      source=f"{path.name}: {len(rows)} leads of a lead export",
                      rejected=rejected)
