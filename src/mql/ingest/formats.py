"""The file layout of accounts, contacts and events (CSV, JSONL, Parquet), both ways.

One row per record. Columns:

- accounts: ``domain`` plus the standard account fields (``name``, ``industry``,
  ``employees`` ...); any other column becomes a custom attribute.
- contacts: ``email``, ``account`` (the account domain; derived from the email when empty)
  plus the standard contact fields; any other column becomes a custom attribute.
- events: ``event_id``, ``type``, ``timestamp`` (ISO 8601; no offset means UTC), ``email``,
  ``anonymous_id``, ``account`` and ``properties`` (a JSON object in CSV and Parquet, an
  object in JSONL).

Empty cells mean "unknown". A row that cannot be used raises `InputError` naming the
file, the row and the field; that includes every value the store could not keep
(`mql.limits`: lengths, NUL characters, non-finite numbers, times outside 1900-2199 and
events before 1990), so a file is read the same way by `mql score` and by both databases.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mql import limits
from mql.errors import InputError
from mql.identity.match import is_free_mail
from mql.model.vocabulary import event_type
from mql.records import Account, Contact, Event

ACCOUNT_COLUMNS = (
    "domain",
    "name",
    "industry",
    "employees",
    "revenue",
    "country",
    "region",
    "technologies",
    "abm_tier",
    "owner",
    "status",
)
CONTACT_COLUMNS = (
    "email",
    "account",
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "committee_role",
    "country",
    "region",
    "source",
    "lifecycle_stage",
    "owner",
    "created_at",
)
EVENT_COLUMNS = ("event_id", "type", "timestamp", "email", "anonymous_id", "account", "properties")
# the columns a file of each kind must have (after its column mapping): each entry is a group
# of which at least one column must be present
REQUIRED_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "accounts": (("domain",),),
    "contacts": (("email", *limits.EXTERNAL_ID_FIELDS),),
    "events": (("event_id",), ("type",), ("timestamp",),
               ("email", "anonymous_id", "account", *limits.EXTERNAL_ID_FIELDS)),
}

_INTEGER_FIELDS = frozenset({"employees"})
_NUMBER_FIELDS = frozenset({"revenue"})
_TIME_FIELDS = frozenset({"created_at"})


def parse_time(text: Any, *, source: str, row: int, field: str) -> datetime:
    """ISO 8601 text (or a datetime) as an aware UTC datetime; no offset means UTC.

    >>> parse_time("2026-03-02T10:00:00Z", source="e.csv", row=2, field="timestamp")
    datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.timezone.utc)
    """
    if isinstance(text, datetime):
        value = text
    else:
        try:
            value = datetime.fromisoformat(str(text).strip())
        except ValueError:
            raise InputError(
                source, row, field, f"cannot read {str(text)[:100]!r} as a time (ISO 8601 "
                "expected)") from None
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):  # 9999-12-31T23:59:59-05:00 is after the year 9999
        raise InputError(source, row, field, limits.out_of_range(value.isoformat())) from None
    problem = limits.time_problem(value)
    if problem is not None:
        raise InputError(source, row, field, problem)
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _attribute(name: str, value: Any, *, source: str, row: int) -> Any:
    if _blank(value):
        return None
    if name in _INTEGER_FIELDS or name in _NUMBER_FIELDS:
        try:
            number = float(str(value).replace(",", "").strip())
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise InputError(source, row, name, f"expected a number, got {str(value)[:100]!r}")
        return int(number) if name in _INTEGER_FIELDS else number
    if name in _TIME_FIELDS:
        return parse_time(value, source=source, row=row, field=name)
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value.strip() if isinstance(value, str) else value


def _attributes(
    row_data: Mapping[str, Any], skip: frozenset[str], *, source: str, row: int
) -> dict[str, Any]:
    return {
        name: _attribute(name, value, source=source, row=row)
        for name, value in row_data.items()
        if name not in skip and name
    }


def normalize_email(text: str) -> str:
    """An email address as mql keys contacts: trimmed and lower case.

    >>> normalize_email("  Jane.Doe@ACME.example ")
    'jane.doe@acme.example'
    """
    return text.strip().lower()


def _email(value: Any, *, source: str, row: int, field: str = "email") -> str:
    if _blank(value):
        raise InputError(source, row, field, "is empty; every contact needs an email")
    email = normalize_email(str(value))
    problem = limits.email_problem(email)
    if problem is not None:
        raise InputError(source, row, field, problem)
    return email


def _refuse(violation: limits.Violation | None, *, source: str, row: int) -> None:
    if violation is not None:
        raise InputError(source, row, violation.field, violation.reason)


def account_from_row(data: Mapping[str, Any], *, source: str, row: int) -> Account:
    """An `Account` from one row; raises `InputError` naming the row and field."""
    domain = data.get("domain")
    if _blank(domain):
        raise InputError(source, row, "domain", "is empty; every account needs a domain")
    attributes = _attributes(data, frozenset({"domain"}), source=source, row=row)
    if attributes.get("name") is not None:  # stored in a text column: text on every backend
        attributes["name"] = str(attributes["name"])
    account = Account(str(domain).strip().lower(), attributes)
    _refuse(limits.check_account(account), source=source, row=row)
    return account


def contact_from_row(data: Mapping[str, Any], *, source: str, row: int) -> Contact:
    """A `Contact` from one row; the account defaults to the email's domain, except for
    free mail (gmail.com ...), which never forms an account (as in the store)."""
    email = _email(data.get("email"), source=source, row=row)
    account = data.get("account")
    host = email.rsplit("@", 1)[1]
    domain = ((None if is_free_mail(host) else host) if _blank(account)
              else str(account).strip().lower())
    attributes = _attributes(data, frozenset({"email", "account"}), source=source, row=row)
    attributes["email"] = email
    attributes["email_domain"] = email.rsplit("@", 1)[1]
    for name in ("owner", "lifecycle_stage"):  # stored in text columns: text on every backend
        if attributes.get(name) is not None:
            attributes[name] = str(attributes[name])
    contact = Contact(email, domain, attributes)
    _refuse(limits.check_contact(contact), source=source, row=row)
    return contact


def event_from_row(data: Mapping[str, Any], *, source: str, row: int) -> Event:
    """An `Event` from one row; needs an id, a type, a time and a contact or account."""
    event_id = data.get("event_id")
    if _blank(event_id):
        raise InputError(source, row, "event_id", "is empty; every event needs a unique id")
    kind = data.get("type")
    if _blank(kind):
        raise InputError(source, row, "type", "is empty; every event needs a type")
    if _blank(data.get("timestamp")):
        raise InputError(source, row, "timestamp", "is empty; every event needs a time")
    at = parse_time(data["timestamp"], source=source, row=row, field="timestamp")
    email = None if _blank(data.get("email")) else _email(data["email"], source=source, row=row)
    account = None if _blank(data.get("account")) else str(data["account"]).strip().lower()
    anonymous = None if _blank(data.get("anonymous_id")) else str(data["anonymous_id"]).strip()
    if email is None and account is None and anonymous is None:
        raise InputError(
            source, row, "email", "the event names no contact, anonymous id or account"
        )
    properties = _properties(data.get("properties"), source=source, row=row)
    kind = event_type(str(kind))
    if not kind:
        raise InputError(source, row, "type", "has no letters or digits; every event needs a "
                         "type")
    event = Event(
        str(event_id).strip(),
        kind,
        at,
        contact=email,
        account=account,
        properties=properties,
        anonymous_id=anonymous,
    )
    _refuse(limits.check_event(event), source=source, row=row)
    return event


def _properties(value: Any, *, source: str, row: int) -> dict[str, Any]:
    if _blank(value):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InputError(
                source, row, "properties", f"is not valid JSON ({exc.msg} at char {exc.pos})"
            ) from None
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, deep nesting
            raise InputError(source, row, "properties",
                             f"is not JSON mql can read ({str(exc)[:100]})") from None
    if not isinstance(value, dict):
        raise InputError(source, row, "properties", "must be a JSON object")
    return value


def account_to_row(account: Account) -> dict[str, Any]:
    """One flat row for `account`, in ACCOUNT_COLUMNS order, extra attributes after."""
    return {"domain": account.domain, **_flat(account.attributes, ACCOUNT_COLUMNS[1:])}


def contact_to_row(contact: Contact) -> dict[str, Any]:
    """One flat row for `contact`, in CONTACT_COLUMNS order (email_domain is derived)."""
    attributes = {k: v for k, v in contact.attributes.items() if k not in ("email", "email_domain")}
    return {
        "email": contact.email,
        "account": contact.account,
        **_flat(attributes, CONTACT_COLUMNS[2:]),
    }


def event_to_row(event: Event) -> dict[str, Any]:
    """One flat row for `event`; properties as a JSON object text with sorted keys."""
    return {
        "event_id": event.event_id,
        "type": event.type,
        "timestamp": event.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "email": event.contact,
        "anonymous_id": event.anonymous_id,
        "account": event.account,
        "properties": json.dumps(dict(event.properties), sort_keys=True, default=str),
    }


def _flat(attributes: Mapping[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    row = {name: _cell(attributes.get(name)) for name in columns}
    row.update({k: _cell(v) for k, v in attributes.items() if k not in row})
    return row


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value
