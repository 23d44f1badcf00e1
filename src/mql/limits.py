"""The limits every input value meets before the store sees it, one set for every path.

Files (`mql ingest`, `mql score`), Segment messages and the HTTP API check records with
these functions, so SQLite and PostgreSQL accept and refuse exactly the same rows: a value
the database would refuse (too long for its column, a NUL character, text that is not
Unicode, a number JSON cannot carry) costs its own row, named by field, never the batch.
This module imports only `mql.records` and `email_validator`, so every layer may use it.

- lengths (characters): event id and anonymous id 200, event type 100, email 254 (RFC 5321),
  domains 253 (DNS), external ids 200, owner 320, lifecycle stage 40, account name 500;
- text anywhere in a record (keys and values, nested properties too) holds no NUL
  character and no unpaired surrogate (an undecodable byte read with the wrong encoding);
  the row is refused, never silently changed;
- numbers are finite (no NaN or infinity);
- every time read from input lies in [`EARLIEST_TIME`, `LATEST_TIME`) (1900 to 2200), so no
  date arithmetic can overflow; event times also lie after `EARLIEST_EVENT` (1990) and at
  most `future_skew` after the time they are received (`event_time_problem`, which takes
  the receiving time as an argument: no clock here);
- a value (a CSV cell, a JSON value, a Parquet value) is at most `MAX_FIELD_BYTES` bytes of
  UTF-8 (the readers take the limit as an option).

>>> from datetime import UTC, datetime
>>> from mql.records import Event
>>> check_event(Event("e" * 303, "page_view", datetime(2026, 3, 2, tzinfo=UTC), contact="a@b.co"))
Violation(field='event_id', reason='is 303 characters long; at most 200 are allowed')
>>> check_event(Event("e1", "page_view", datetime(2026, 3, 2, tzinfo=UTC), anonymous_id="a\\x00"))
... # doctest: +ELLIPSIS
Violation(field='anonymous_id', reason='contains a NUL character (\\\\x00), which mql ...')
>>> print(email_problem("a@b@acme.example"))  # doctest: +NORMALIZE_WHITESPACE
'a@b@acme.example' is not an email address (the part after the @-sign contains invalid
characters: '@')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from email_validator import EmailNotValidError, validate_email

from mql.records import Account, Contact, Event, split_key

MAX_EVENT_ID = 200
MAX_EVENT_TYPE = 100
MAX_ANONYMOUS_ID = 200
MAX_EMAIL = 254
MAX_DOMAIN = 253
MAX_EXTERNAL_ID = 200
MAX_OWNER = 320
MAX_STAGE = 40
MAX_ACCOUNT_NAME = 500
MAX_FIELD_BYTES = 128 * 1024  # the default; `MQL_MAX_FIELD_BYTES`, `--max-field-bytes`

EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)  # also what `records.Event` accepts
LATEST_TIME = datetime(2200, 1, 1, tzinfo=UTC)
EARLIEST_EVENT = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SKEW = timedelta(hours=24)  # the default; `MQL_EVENT_MAX_FUTURE_HOURS`

# the columns of CRM record ids and their identity namespace, in order of preference for
# the key of a contact without an email (`records.external_key`: ``salesforce:00Q1``)
EXTERNAL_ID_FIELDS = {"hubspot_id": "hubspot", "salesforce_id": "salesforce",
                      "external_id": "crm", "user_id": "segment"}
MAX_NAMESPACE = 40


class Violation(NamedTuple):
    """Why a record cannot be stored: the field and the reason."""

    field: str
    reason: str


def text_problem(value: str, limit: int | None = None) -> str | None:
    """Why `value` cannot be stored as text (None if it can): a NUL, an unpaired
    surrogate, or more than `limit` characters.

    >>> text_problem("ok"), text_problem("abc", 2)
    (None, 'is 3 characters long; at most 2 are allowed')
    """
    if "\x00" in value:
        return "contains a NUL character (\\x00), which mql does not store"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            code = ord(value[exc.start])
            if 0xDC80 <= code <= 0xDCFF:
                return (f"holds byte 0x{code - 0xDC00:02x}, which the file's encoding cannot "
                        "decode (try --encoding)")
            return f"holds an unpaired surrogate (U+{code:04X}), which is not text"
    if limit is not None and len(value) > limit:
        return f"is {len(value):,} characters long; at most {limit:,} are allowed"
    return None


def value_problem(value: Any, depth: int = 0) -> str | None:
    """Why a JSON-like value (attribute, property, nested objects) cannot be stored: bad
    text in a key or value, a number that is not finite, nesting deeper than 64."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value} is not a finite number"
    if depth > 64 and isinstance(value, Mapping | list | tuple):
        return "is nested more than 64 levels deep"
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = text_problem(str(key)) or value_problem(item, depth + 1)
            if problem is not None:
                return f"{key!r}: {problem}"
        return None
    if isinstance(value, list | tuple):
        for item in value:
            problem = value_problem(item, depth + 1)
            if problem is not None:
                return problem
    return None


def _attributes_problem(attributes: Mapping[str, Any]) -> Violation | None:
    for name, value in attributes.items():
        problem = text_problem(str(name))
        if problem is not None:
            return Violation(str(name)[:200], f"the column name {problem}")
        problem = value_problem(value)
        if problem is not None:
            return Violation(str(name), problem)
    return None


def _short(field: str, value: Any, limit: int) -> Violation | None:
    if value is None:
        return None
    problem = text_problem(str(value), limit)
    return None if problem is None else Violation(field, problem)


@lru_cache(maxsize=65_536)
def email_problem(text: str) -> str | None:
    """Why `text` is not an email address mql accepts (None if it is): one @, a dot-atom
    local part, a domain with a dot and valid labels (email-validator, no DNS lookup),
    at most 254 characters.

    >>> email_problem("jane.doe@acme.example") is None
    True
    """
    problem = text_problem(text, MAX_EMAIL)
    if problem is not None:
        return problem
    local, _, domain = text.rpartition("@")
    if not local or "." not in domain:
        return f"{text!r} is not an email address"
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        detail = str(exc).rstrip(".")
        return f"{text!r} is not an email address ({detail[:1].lower()}{detail[1:]})"
    return None


def key_problem(key: str) -> str | None:
    """Why `key` cannot key a contact (None if it can): an email address as
    `email_problem` says, or a CRM id key (``salesforce:00Q1``) whose id is at most 200
    characters of storable text.

    >>> key_problem("salesforce:00Q1") is None, key_problem("jane@acme.example") is None
    (True, True)
    """
    parts = split_key(key)
    if parts is None:
        return email_problem(key)
    return text_problem(parts[0], MAX_NAMESPACE) or text_problem(parts[1], MAX_EXTERNAL_ID)


def time_problem(at: datetime) -> str | None:
    """Why `at` is outside the times mql reads (None if it is inside).

    >>> time_problem(datetime(9999, 12, 31, tzinfo=UTC))
    'is 9999-12-31T00:00:00+00:00, outside the years 1900 to 2199 mql accepts'
    """
    if EARLIEST_TIME <= at < LATEST_TIME:
        return None
    return out_of_range(at.isoformat())


def out_of_range(text: str) -> str:
    """The reason for a time outside the years mql reads."""
    return f"is {text}, outside the years 1900 to 2199 mql accepts"


def event_time_problem(at: datetime, received: datetime | None = None,
                       future_skew: timedelta = FUTURE_SKEW) -> str | None:
    """Why an event at `at`, received at `received`, is refused (None if it is accepted):
    before 1990, or more than `future_skew` after it was received.

    >>> t = datetime(2026, 3, 2, tzinfo=UTC)
    >>> print(event_time_problem(datetime(2030, 1, 1, tzinfo=UTC), t))
    ... # doctest: +NORMALIZE_WHITESPACE
    is 2030-01-01T00:00:00+00:00, 1,401 days after it was received (at most 24 hours ahead
    are accepted)
    """
    problem = time_problem(at)
    if problem is not None:
        return problem
    if at < EARLIEST_EVENT:
        return f"is {at.isoformat()}, before 1990-01-01, the earliest event time mql accepts"
    if received is not None and at - received > future_skew:
        ahead = at - received
        span = (f"{ahead.days:,} days" if ahead.days >= 2
                else f"{ahead.total_seconds() / 3600:.1f} hours")
        hours = future_skew.total_seconds() / 3600
        return (f"is {at.isoformat()}, {span} after it was received (at most {hours:g} "
                "hours ahead are accepted)")
    return None


def check_event(event: Event) -> Violation | None:
    """The first reason `event` cannot be stored, or None."""
    found = (_short("event_id", event.event_id, MAX_EVENT_ID)
             or _short("type", event.type, MAX_EVENT_TYPE)
             or _short("anonymous_id", event.anonymous_id, MAX_ANONYMOUS_ID)
             or _short("account", event.account, MAX_DOMAIN))
    if found is not None:
        return found
    if event.contact is not None:
        problem = key_problem(event.contact)
        if problem is not None:
            return Violation("email", problem)
    problem = event_time_problem(event.at)
    if problem is not None:
        return Violation("timestamp", problem)
    problem = value_problem(dict(event.properties))
    return None if problem is None else Violation("properties", problem)


def check_contact(contact: Contact) -> Violation | None:
    """The first reason `contact` cannot be stored, or None."""
    problem = key_problem(contact.email)
    if problem is not None:
        return Violation("email", problem)
    attributes = contact.attributes
    found = (_short("account", contact.account, MAX_DOMAIN)
             or _short("owner", attributes.get("owner"), MAX_OWNER)
             or _short("lifecycle_stage", attributes.get("lifecycle_stage"), MAX_STAGE))
    for name in EXTERNAL_ID_FIELDS:
        found = found or _short(name, attributes.get(name), MAX_EXTERNAL_ID)
    return found or _attributes_problem(attributes)


def check_account(account: Account) -> Violation | None:
    """The first reason `account` cannot be stored, or None."""
    found = (_short("domain", account.domain, MAX_DOMAIN)
             or _short("name", account.attributes.get("name"), MAX_ACCOUNT_NAME))
    for name in EXTERNAL_ID_FIELDS:
        found = found or _short(name, account.attributes.get(name), MAX_EXTERNAL_ID)
    return found or _attributes_problem(account.attributes)


# The identities column's width (`mql.store.tables`): a Segment userId may be this long
IDENTIFIER = 320
