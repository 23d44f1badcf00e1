"""Outcome rows: opportunities (deals), marketing costs and sales dispositions, as records.

A row is read after its column mapping (`mql.ingest.mapping`); these are mql's own column
names, which the synthetic world's files (`mql synth`) use as they are:

- **opportunities**: `opportunity_id` (required), `created_at` (required for an
  opportunity not in the store yet), `account` (domain), `name`, `product` (or
  `product_line`), `amount`, `currency`, `closed_at`, `status` (open, won, lost; default:
  from the stage, or from `won`/`closed`), `stage`, `lost_reason`, `primary_contact`
  (email), `source` (the CRM's lead source), `stage_history` (JSON list of ``{"stage",
  "at"}``), `contacts` (JSON list of ``{"email", "role"}``, or ``email:role;email:role``),
  `updated_at` (the time of this state; default: the newest time the row holds); the
  close date of an open opportunity is its forecast (kept as the attribute
  `expected_close_at`). A row may give only some fields (a stage change: id, stage,
  updated_at): the fields it leaves empty keep their stored values. One contact role per
  row (Salesforce's OpportunityContactRole): `contact` (an email), or
  `contact_salesforce_id` / `contact_hubspot_id` (a CRM contact id), `contact_role`,
  `contact_is_primary`;
- **costs**: `month` (``YYYY-MM``, or any date in it), `channel` (required), `campaign`,
  `spend` (or `amount`, `cost`; required), `currency` (default USD), `touches` (or
  `clicks`);
- **dispositions**: `email` (required), `at` (or `disposed_at`; required), `status`
  (required), `reason`, `note`, `actor`, `opportunity_id`, `sql_at` (a row whose status
  is sql and that gives `sql_at` is two dispositions: accepted at `at`, sql at `sql_at`).

Values are checked here (a bad value raises `InputError` naming the row and field); what
needs the store (is the contact known, is the reason in the live model's list) is checked
by `mql.service.outcomes`.

>>> o = opportunity_from_row({"opportunity_id": "o-1", "created_at": "2025-03-01",
...     "stage": "Closed Won", "amount": "$12,000", "primary_contact": "Ann@Acme.example",
...     "stage_history": '[{"stage": "demo", "at": "2025-03-05"}]'},
...     source="o.csv", row=2)
>>> o.status, o.stage, o.amount, o.primary_email, [s for s, _ in o.stage_history]
('won', 'closed_won', 12000.0, 'ann@acme.example', ['demo'])
>>> c = cost_from_row({"month": "2025-03-14", "channel": "Paid Search", "spend": "1,200.50"},
...                   source="c.csv", row=2)
>>> c.month, c.channel, c.campaign, c.amount, c.currency
('2025-03', 'paid_search', '', 1200.5, 'USD')
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from mql import limits
from mql.errors import InputError
from mql.ingest.formats import DateStyle, parse_number, parse_time, snake
from mql.ingest.rows import blank, email_field, text_field, time_field

OutcomeKind = Literal["opportunities", "costs", "dispositions"]
OUTCOME_KINDS: tuple[OutcomeKind, ...] = ("opportunities", "costs", "dispositions")
STATUSES = ("open", "won", "lost")
# what sales did with a lead (the dispositions ledger); reasons come from the model
DISPOSITIONS = ("accepted", "rejected", "recycled", "disqualified", "sql", "opportunity",
                "customer", "no_response")
OPPORTUNITY_COLUMNS = (
    "opportunity_id", "account", "name", "product", "product_line", "amount", "currency",
    "created_at", "closed_at", "status", "stage", "lost_reason", "primary_contact", "source",
    "stage_history", "contacts", "updated_at", "won", "closed", "contact",
    "contact_salesforce_id", "contact_hubspot_id", "contact_role", "contact_is_primary",
    "role_created_at", "role_id", "role_meta")
COST_COLUMNS = ("month", "date", "channel", "campaign", "spend", "amount", "cost",
                "currency", "touches", "clicks")
DISPOSITION_COLUMNS = ("email", "at", "disposed_at", "status", "reason", "note", "actor",
                       "opportunity_id", "sql_at")
REQUIRED_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "opportunities": (("opportunity_id",),),
    "costs": (("month", "date"), ("channel",), ("spend", "amount", "cost")),
    "dispositions": (("email",), ("at", "disposed_at"), ("status",)),
}
FIELDS = {"opportunities": frozenset(OPPORTUNITY_COLUMNS), "costs": frozenset(COST_COLUMNS),
          "dispositions": frozenset(DISPOSITION_COLUMNS)}
TIME_FIELDS = {"opportunities": ("created_at", "closed_at", "updated_at"), "costs": (),
               "dispositions": ("at", "disposed_at", "sql_at")}
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f", ""}


@dataclass(frozen=True, slots=True)
class OpportunityRow:
    """One state of an opportunity, as of `as_of`, with the stage changes the row lists.

    A field left None is not known to the row (a partial update keeps the stored value);
    `opened_at` and `status` are None only on such a partial row. A contact is named by
    email or by a CRM id key (``salesforce:003...``)."""

    external_id: str
    opened_at: datetime | None
    as_of: datetime
    status: str | None
    stage: str | None = None
    name: str | None = None
    account_domain: str | None = None
    primary_email: str | None = None
    product_line: str | None = None
    amount: float | None = None
    currency: str | None = None
    closed_at: datetime | None = None
    lost_reason: str | None = None
    lead_source: str | None = None
    stage_history: tuple[tuple[str, datetime], ...] = ()
    contacts: tuple[tuple[str, str | None], ...] = ()  # (email, role)
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CostRow:
    """What marketing spent on one channel (and campaign) in one month."""

    month: str
    channel: str
    campaign: str
    amount: float
    currency: str
    touches: int | None


@dataclass(frozen=True, slots=True)
class DispositionRow:
    """What sales did with one lead at one time."""

    email: str
    at: datetime
    status: str
    reason: str | None = None
    note: str | None = None
    actor: str | None = None
    opportunity: str | None = None  # the CRM's opportunity id


def _amount(data: Mapping[str, Any], name: str, *, source: str, row: int,
            required: bool = False) -> float | None:
    value = data.get(name)
    if blank(value):
        if required:
            raise InputError(source, row, name, "is empty; an amount is required")
        return None
    try:
        number = float(parse_number(value))
    except (ValueError, OverflowError):
        raise InputError(source, row, name, f"expected an amount, got {str(value)[:100]!r}"
                         ) from None
    if number < 0:
        raise InputError(source, row, name, f"is negative ({number:g})")
    return number


def _currency(data: Mapping[str, Any], *, source: str, row: int) -> str | None:
    text = text_field(data, "currency", source=source, row=row, limit=10)
    if text is None:
        return None
    if not re.fullmatch(r"[A-Za-z]{3}", text):
        raise InputError(source, row, "currency", f"{text!r} is not a currency code (ISO "
                         "4217, e.g. USD, EUR)")
    return text.upper()


def _flag(value: Any, *, source: str, row: int, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False if text else None
    raise InputError(source, row, name, f"expected true or false, got {str(value)[:40]!r}")


def status_of(stage: str | None) -> str:
    """The status a stage name implies: won, lost, else open.

    >>> status_of("closed_won"), status_of("Closed Lost"), status_of("proposal")
    ('won', 'lost', 'open')
    """
    words = snake(stage or "")
    if "won" in words.split("_"):
        return "won"
    if "lost" in words.split("_"):
        return "lost"
    return "open"


def _stage_history(value: Any, *, source: str, row: int, style: DateStyle | None
                   ) -> tuple[tuple[str, datetime], ...]:
    if blank(value):
        return ()
    items = value
    if isinstance(value, str):
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            raise InputError(source, row, "stage_history", 'is not a JSON list of {"stage", '
                             '"at"} objects') from None
    if not isinstance(items, list) or not all(
            isinstance(i, Mapping) and not blank(i.get("stage")) and not blank(i.get("at"))
            for i in items):
        raise InputError(source, row, "stage_history", 'must be a list of {"stage", "at"} '
                         "objects, each with both")
    out = []
    for item in items:
        stage = snake(str(item["stage"]))
        problem = limits.text_problem(stage, 200)
        if problem is not None:
            raise InputError(source, row, "stage_history", f"a stage {problem}")
        out.append((stage, parse_time(item["at"], source=source, row=row,
                                      field="stage_history", style=style)))
    return tuple(sorted(set(out), key=lambda s: (s[1], s[0])))


def _contacts(value: Any, *, source: str, row: int) -> tuple[tuple[str, str | None], ...]:
    if blank(value):
        return ()
    items: Any = value
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            raise InputError(source, row, "contacts", 'is not a JSON list of {"email", '
                             '"role"} objects') from None
    elif isinstance(value, str):
        items = [dict(zip(("email", "role"), (p.strip() for p in part.split(":", 1)),
                          strict=False)) for part in value.split(";") if part.strip()]
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise InputError(source, row, "contacts", 'must be a list of {"email", "role"}')
    out: dict[str, str | None] = {}
    for item in items:
        email = email_field(item, "email", source=source, row=row, required=True)
        role = item.get("role")
        assert email is not None
        out[email] = None if blank(role) else snake(str(role))[:100]
    return tuple(sorted(out.items()))


def _contact_role(data: Mapping[str, Any], *, source: str, row: int
                  ) -> tuple[str, str | None, bool] | None:
    """The contact role one row gives (contact email or CRM id key, role, primary?)."""
    ref = email_field(data, "contact", source=source, row=row)
    for name, namespace in (("contact_salesforce_id", "salesforce"),
                            ("contact_hubspot_id", "hubspot")):
        crm = text_field(data, name, source=source, row=row, limit=limits.MAX_EXTERNAL_ID)
        if ref is None and crm is not None:
            ref = f"{namespace}:{crm}"
    role = text_field(data, "contact_role", source=source, row=row, limit=100)
    is_primary = _flag(data.get("contact_is_primary"), source=source, row=row,
                       name="contact_is_primary")
    if ref is None:
        if role is not None or is_primary:
            field = "contact_role" if role is not None else "contact_is_primary"
            raise InputError(source, row, field, "names no contact (give contact, "
                             "contact_salesforce_id or contact_hubspot_id)")
        return None
    return ref, snake(role)[:100] if role else None, bool(is_primary)


def opportunity_from_row(data: Mapping[str, Any], *, source: str, row: int,
                         style: DateStyle | None = None,
                         warnings: list[InputError] | None = None) -> OpportunityRow:
    """An `OpportunityRow` from one mapped row; `InputError` names the field that cannot
    be used. Columns mql does not know become the opportunity's attributes."""
    del warnings  # every field of an opportunity is used: a bad one costs the row
    external = text_field(data, "opportunity_id", source=source, row=row, required=True)
    opened = time_field(data, "created_at", source=source, row=row, style=style)
    assert external is not None
    closed = time_field(data, "closed_at", source=source, row=row, style=style)
    stage_text = text_field(data, "stage", source=source, row=row)
    stage = snake(stage_text) if stage_text else None
    history = _stage_history(data.get("stage_history"), source=source, row=row, style=style)
    if stage is None and history:
        stage = history[-1][0]
    status_text = text_field(data, "status", source=source, row=row, limit=20)
    status: str | None
    if status_text is not None:
        status = snake(status_text).replace("closed_", "")
        if status not in STATUSES:
            raise InputError(source, row, "status", f"{status_text!r} is not open, won or "
                             "lost")
    else:
        won = _flag(data.get("won"), source=source, row=row, name="won")
        shut = _flag(data.get("closed"), source=source, row=row, name="closed")
        status = ("won" if won else "lost" if shut else "open" if shut is False else
                  status_of(stage) if stage is not None or opened is not None else None)
    if status == "open" and closed is not None:
        # an open deal's close date is the forecast (HubSpot, Salesforce), not a closing
        data = {**data, "expected_close_at": closed.isoformat()}
        closed = None
    updated = time_field(data, "updated_at", source=source, row=row, style=style)
    if status in ("won", "lost") and closed is None:
        # a closed deal without a close date closed when this state was recorded, else at
        # its last stage change
        closed = updated or (history[-1][1] if history else None)
    times = ([opened] if opened is not None else []) + [t for _, t in history] + (
        [closed] if closed is not None else [])
    if updated is None and not times:
        raise InputError(source, row, "updated_at", "is empty; a row without created_at, "
                         "closed_at or stage_history needs updated_at (the time of its "
                         "state)")
    as_of = updated if updated is not None else max(times)
    if closed is not None and opened is not None and closed < opened:
        raise InputError(source, row, "closed_at", f"{closed:%Y-%m-%d} is before created_at "
                         f"{opened:%Y-%m-%d}")
    account = text_field(data, "account", source=source, row=row, limit=limits.MAX_DOMAIN)
    product = text_field(data, "product_line", source=source, row=row) or text_field(
        data, "product", source=source, row=row)
    contacts = _contacts(data.get("contacts"), source=source, row=row)
    primary = email_field(data, "primary_contact", source=source, row=row)
    role_of = _contact_role(data, source=source, row=row)
    if role_of is not None:
        ref, role, is_primary = role_of
        contacts = tuple(sorted({**dict(contacts), ref: role}.items()))
        if is_primary:
            primary = ref
    known = FIELDS["opportunities"]
    attributes = {k: v for k, v in data.items() if k and k not in known and not blank(v)}
    for name, value in attributes.items():  # stored as JSON text: what every backend keeps
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        problem = limits.text_problem(text) or limits.text_problem(str(name), 200)
        if problem is not None:
            raise InputError(source, row, str(name), problem)
    return OpportunityRow(
        external_id=external, opened_at=opened, as_of=as_of, status=status, stage=stage,
        name=text_field(data, "name", source=source, row=row, limit=500),
        account_domain=account.lower().removeprefix("www.") if account else None,
        primary_email=primary,
        product_line=product, amount=_amount(data, "amount", source=source, row=row),
        currency=_currency(data, source=source, row=row), closed_at=closed,
        lost_reason=text_field(data, "lost_reason", source=source, row=row),
        lead_source=text_field(data, "source", source=source, row=row),
        stage_history=history, contacts=contacts,
        attributes={k: (v.isoformat() if isinstance(v, datetime) else v)
                    for k, v in attributes.items()})


def cost_from_row(data: Mapping[str, Any], *, source: str, row: int,
                  style: DateStyle | None = None,
                  warnings: list[InputError] | None = None) -> CostRow:
    """A `CostRow` from one mapped row (the month from `month` or `date`)."""
    del warnings
    month_field = "month" if not blank(data.get("month")) else "date"
    value = data.get(month_field)
    if blank(value):
        raise InputError(source, row, "month", "is empty; give the month (YYYY-MM)")
    text = str(value).strip()
    found = _MONTH.fullmatch(text)
    if found is None:
        at = parse_time(value, source=source, row=row, field=month_field, style=style)
        month = f"{at:%Y-%m}"
    elif not 1 <= int(found[2]) <= 12:
        raise InputError(source, row, month_field, f"{text!r} is not a month (YYYY-MM)")
    else:
        month = text
    channel = text_field(data, "channel", source=source, row=row, limit=100, required=True)
    assert channel is not None
    spend = next((n for n in ("spend", "amount", "cost") if not blank(data.get(n))), "spend")
    amount = _amount(data, spend, source=source, row=row, required=True)
    assert amount is not None
    count_field = "touches" if not blank(data.get("touches")) else "clicks"
    touches = None
    if not blank(data.get(count_field)):
        try:
            touches = int(parse_number(data[count_field], integer=True))
        except (ValueError, OverflowError):
            raise InputError(source, row, count_field, "expected a whole number, got "
                             f"{str(data[count_field])[:40]!r}") from None
    return CostRow(month, snake(channel), (text_field(data, "campaign", source=source, row=row)
                                           or ""), amount,
                   _currency(data, source=source, row=row) or "USD", touches)


def disposition_from_row(data: Mapping[str, Any], *, source: str, row: int,
                         style: DateStyle | None = None,
                         warnings: list[InputError] | None = None) -> list[DispositionRow]:
    """The dispositions of one mapped row (one, or two for an SQL with `sql_at`)."""
    del warnings
    email = email_field(data, "email", source=source, row=row, required=True)
    name = "at" if not blank(data.get("at")) else "disposed_at"
    at = time_field(data, name, source=source, row=row, style=style, required=True)
    text = text_field(data, "status", source=source, row=row, limit=40, required=True)
    assert email is not None and at is not None and text is not None
    status = snake(text)
    if status not in DISPOSITIONS:
        raise InputError(source, row, "status", f"{text!r} is not a disposition (one of "
                         f"{', '.join(DISPOSITIONS)})")
    reason_text = text_field(data, "reason", source=source, row=row, limit=100)
    common = {"note": text_field(data, "note", source=source, row=row, limit=2000),
              "actor": text_field(data, "actor", source=source, row=row, limit=320),
              "opportunity": text_field(data, "opportunity_id", source=source, row=row)}
    reason = snake(reason_text) if reason_text else None
    sql_at = time_field(data, "sql_at", source=source, row=row, style=style)
    if status == "sql" and sql_at is not None and sql_at != at:
        if sql_at < at:
            raise InputError(source, row, "sql_at", f"{sql_at:%Y-%m-%d %H:%M} is before the "
                             f"disposition at {at:%Y-%m-%d %H:%M}")
        return [DispositionRow(email, at, "accepted", reason, **common),
                DispositionRow(email, sql_at, "sql", None, **common)]
    return [DispositionRow(email, at, status, reason, **common)]


PARSERS = {"opportunities": opportunity_from_row, "costs": cost_from_row,
           "dispositions": disposition_from_row}
