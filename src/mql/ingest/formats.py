"""The file layout of accounts, contacts and events (CSV, JSONL, Parquet), both ways.

One row per record. Columns:

- accounts: ``domain`` plus the standard account fields (``name``, ``industry``,
  ``employees`` ...); any other column becomes a custom attribute.
- contacts: ``email`` (or, without one, a CRM id column: ``hubspot_id``, ``salesforce_id``,
  ``external_id``, ``user_id``, which keys the contact as ``salesforce:00Q1``), ``account``
  (the account domain; derived from the email when empty) plus the standard contact
  fields; any other column becomes a custom attribute.
- events: ``event_id``, ``type``, ``timestamp`` (ISO 8601; no offset means UTC), ``email``,
  ``anonymous_id``, ``account`` and ``properties`` (a JSON object in CSV and Parquet, an
  object in JSONL).

Empty cells mean "unknown". A row that cannot be used raises `InputError` naming the
file, the row and the field; that includes every value the store could not keep
(`mql.limits`: lengths, NUL characters, non-finite numbers, times outside 1900-2199 and
events before 1990), so a file is read the same way by `mql score` and by both databases.
Given a `warnings` list, the parsers keep a contact or account whose optional field cannot
be read or stored: the field is dropped and the reason added to the list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from mql import limits
from mql.errors import InputError
from mql.identity.match import is_free_mail
from mql.lifecycle.stages import Stage
from mql.model.vocabulary import INDUSTRIES, event_type
from mql.records import Account, Contact, Event, external_key

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

# the columns of CRM record ids, and their identity namespace (in order of preference
# for the key of a contact without an email)
EXTERNAL_ID_FIELDS = limits.EXTERNAL_ID_FIELDS
_INTEGER_FIELDS = frozenset({"employees"})
_NUMBER_FIELDS = frozenset({"revenue"})
_TIME_FIELDS = frozenset({"created_at"})


@dataclass(frozen=True, slots=True)
class DateStyle:
    """How to read dates that are not ISO 8601: an explicit strptime `format` (tried
    first), and whether `03/04/2025` is 3 April (`dayfirst`) or 4 March; None: unknown."""

    format: str | None = None
    dayfirst: bool | None = None


class AmbiguousDate(InputError):
    """A slash date whose day and month are both 12 or less, read without a day order."""


_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ ,T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"
                      r"(?:[ ,T]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?")
_YMD = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})(?:[ ,T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_EPOCH = re.compile(r"-?\d{9,16}(?:\.\d+)?")
EPOCH_MS_FROM = 100_000_000_000  # a number this large is milliseconds (seconds: year 5138)


def slash_order(text: str) -> bool | None:
    """For a `d/m/yyyy` or `m/d/yyyy` text: True if it can only be day first, False if only
    month first, None if either (both parts 12 or less) or not a slash date.

    >>> slash_order("14/03/2025"), slash_order("03/16/2025 05:00 PM"), slash_order("3/4/2025")
    (True, False, None)
    """
    found = _SLASHED.fullmatch(text.strip())
    if found is None:
        return None
    first, second = int(found.group(1)), int(found.group(2))
    if first > 12 >= second:
        return True
    if second > 12 >= first:
        return False
    return None


def _clock(hour: str | None, minute: str | None, second: str | None,
           half: str | None = None) -> tuple[int, int, int]:
    h = int(hour or 0)
    if half is not None:
        if not 1 <= h <= 12:
            raise ValueError("hour out of range for AM/PM")
        h = h % 12 + (12 if half.lower() == "pm" else 0)
    return h, int(minute or 0), int(second or 0)


def _locale_time(text: str, style: DateStyle, *, source: str, row: int, field: str
                 ) -> datetime | None:
    """`text` in one of the CRM export formats, or None if it is none of them."""
    if style.format is not None:
        try:
            found = datetime.strptime(text, style.format)  # noqa: DTZ007 - no offset: UTC
            return found if found.tzinfo else found.replace(tzinfo=UTC)
        except ValueError:
            pass
    if _EPOCH.fullmatch(text):
        number = float(text)
        return datetime.fromtimestamp(number / 1000 if abs(number) >= EPOCH_MS_FROM
                                      else number, UTC)
    if m := _DOTTED.fullmatch(text):
        return datetime(int(m[3]), int(m[2]), int(m[1]), *_clock(m[4], m[5], m[6]), tzinfo=UTC)
    if m := _YMD.fullmatch(text):
        return datetime(int(m[1]), int(m[2]), int(m[3]), *_clock(m[4], m[5], m[6]), tzinfo=UTC)
    if m := _SLASHED.fullmatch(text):
        dayfirst = slash_order(text)
        if dayfirst is None and int(m[1]) != int(m[2]):
            dayfirst = style.dayfirst
            if dayfirst is None:
                raise AmbiguousDate(source, row, field, f"{text!r} reads as day/month or "
                                    "month/day; give --dayfirst or --monthfirst (or "
                                    "--date-format)")
        day, month = (m[1], m[2]) if dayfirst else (m[2], m[1])
        return datetime(int(m[3]), int(month), int(day), *_clock(m[4], m[5], m[6], m[7]),
                        tzinfo=UTC)
    return None


def parse_time(text: Any, *, source: str, row: int, field: str,
               style: DateStyle | None = None) -> datetime:
    """ISO 8601 text (or a datetime) as an aware UTC datetime; no offset means UTC.

    The formats of CRM exports are read too: epoch seconds or milliseconds
    (`1741943520000`), `14.03.2025 09:12` (day first), `2025/03/14`, and slash dates
    (`03/16/2025 05:00 PM`, `3/14/2025`), whose order comes from a part over 12 or from
    `style.dayfirst` (`AmbiguousDate` when neither says). `style.format` (strptime) is
    tried first.

    >>> parse_time("2026-03-02T10:00:00Z", source="e.csv", row=2, field="timestamp")
    datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.timezone.utc)
    >>> parse_time("03/16/2025 05:00 PM", source="e.csv", row=2, field="t").isoformat()
    '2025-03-16T17:00:00+00:00'
    >>> parse_time(1741943520000, source="e.csv", row=2, field="t").isoformat()
    '2025-03-14T09:12:00+00:00'
    """
    style = style or DateStyle()
    if isinstance(text, datetime):
        value = text
    else:
        raw = str(text).strip()
        try:
            if isinstance(text, int | float) and not isinstance(text, bool):
                raw = repr(text)
                found = _locale_time(raw if _EPOCH.fullmatch(raw) else f"{text:.0f}", style,
                                     source=source, row=row, field=field)
            elif style.format is None and raw[4:5] == "-":  # yyyy-...: none of the CRM forms
                found = None
            else:
                found = _locale_time(raw, style, source=source, row=row, field=field)
            value = found if found is not None else datetime.fromisoformat(raw)
        except AmbiguousDate:
            raise
        except (ValueError, OverflowError, OSError):
            hint = (f"expected {style.format} or ISO 8601" if style.format else "expected "
                    "ISO 8601, epoch seconds or milliseconds, or 14.03.2025 09:12 / "
                    "03/16/2025 05:00 PM; give --date-format for another form")
            raise InputError(
                source, row, field, f"cannot read {str(text)[:100]!r} as a time ({hint})"
                ) from None
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):  # 9999-12-31T23:59:59-05:00 is after the year 9999
        raise InputError(source, row, field, limits.out_of_range(value.isoformat())) from None
    problem = limits.time_problem(value)
    if problem is not None:
        raise InputError(source, row, field, problem)
    return value


_SUFFIX = {"k": 1e3, "m": 1e6, "mm": 1e6, "b": 1e9, "bn": 1e9}
_RANGE = re.compile(r"([\d.,]+)\s*(?:-|–|to)\s*([\d.,]+)")


def _plain_number(text: str) -> float:
    cleaned = re.sub(r"^[^\d.-]+", "", text.replace(",", "").replace(" ", "").replace("_", ""))
    found = re.fullmatch(r"(-?[\d.]+)([a-zA-Z]{0,2})", cleaned)
    if found is None or (found[2] and found[2].lower() not in _SUFFIX):
        raise ValueError(text)
    return float(found[1]) * (_SUFFIX[found[2].lower()] if found[2] else 1)


def parse_number(value: Any, *, integer: bool = False) -> float | int:
    """A count or amount as CRM exports write it: `1,200`, `$5M`, `1.5k`; an employee
    range (`51-200`, `1,001-5,000`, `5000+`) reads as its lower bound.

    >>> parse_number("1,001-5,000", integer=True), parse_number("5000+", integer=True)
    (1001, 5000)
    >>> parse_number("$1.5M")
    1500000.0
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value) if integer else float(value)
    text = str(value).strip()
    if found := _RANGE.fullmatch(text):
        text = found[1]
    text = text.removesuffix("+").strip()
    number = _plain_number(text)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(text)
    return int(number) if integer else number


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country name or code (pycountry: names, official
    and common names, alpha-3, then a fuzzy search with exactly one hit); None if unknown.

    >>> country_code("Germany"), country_code("usa"), country_code("UK"), country_code("Atlantis")
    ('DE', 'US', 'GB', None)
    """
    import pycountry

    name = " ".join(text.strip().split())
    if not name:
        return None
    if name.upper() == "UK":  # the exceptionally reserved code everyone uses for GB
        return "GB"
    for candidate in (name, name.removeprefix("The ").removeprefix("the ")):
        try:
            return str(pycountry.countries.lookup(candidate).alpha_2)
        except LookupError:
            pass
    try:
        hits = pycountry.countries.search_fuzzy(name)
    except LookupError:
        return None
    return str(hits[0].alpha_2) if len(hits) == 1 else None


def snake(text: str) -> str:
    """`Computer Software` / `COMPUTER_SOFTWARE` -> `computer_software`."""
    return "_".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _industry(value: str) -> str:
    key = snake(value)
    return key if key in INDUSTRIES else value.strip()


def _stage(value: str, *, source: str, row: int) -> str:
    stage = snake(value)
    if stage not in {s.value for s in Stage}:
        raise InputError(source, row, "lifecycle_stage",
                         f"{value!r} is not a stage mql knows (one of "
                         f"{', '.join(s.value for s in Stage)}); map it in the mapping file")
    return stage


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _attribute(name: str, value: Any, *, source: str, row: int,
               style: DateStyle | None = None) -> Any:
    if _blank(value):
        return None
    if name in _INTEGER_FIELDS or name in _NUMBER_FIELDS:
        try:
            return parse_number(value, integer=name in _INTEGER_FIELDS)
        except (ValueError, OverflowError):
            raise InputError(source, row, name,
                             f"expected a number, got {str(value)[:100]!r}") from None
    if name in _TIME_FIELDS:
        return parse_time(value, source=source, row=row, field=name, style=style)
    if name == "country" and isinstance(value, str):
        code = country_code(value)
        if code is None:
            raise InputError(source, row, name, f"{value!r} is not a country (a name or an "
                             "ISO 3166 code)")
        return code
    if name == "industry" and isinstance(value, str):
        return _industry(value)
    if name == "lifecycle_stage" and isinstance(value, str):
        return _stage(value, source=source, row=row)
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value.strip() if isinstance(value, str) else value


KEPT = "the row was kept without this field"


def _attributes(
    row_data: Mapping[str, Any], skip: frozenset[str], *, source: str, row: int,
    style: DateStyle | None = None, warnings: list[InputError] | None = None,
) -> dict[str, Any]:
    """The attributes of a row; a value that cannot be read raises `InputError`, or, with
    a `warnings` list, is dropped and reported there (the row is kept)."""
    out: dict[str, Any] = {}
    for name, value in row_data.items():
        if name in skip or not name:
            continue
        try:
            out[name] = _attribute(name, value, source=source, row=row, style=style)
        except AmbiguousDate:
            raise
        except InputError as exc:
            if warnings is None:
                raise
            warnings.append(InputError(source, row, exc.field, f"{exc.reason}; {KEPT}"))
    return out


def normalize_email(text: str) -> str:
    """An email address as mql keys contacts: trimmed and lower case.

    >>> normalize_email("  Jane.Doe@ACME.example ")
    'jane.doe@acme.example'
    """
    return text.strip().lower()


def external_id_key(data: Mapping[str, Any]) -> str | None:
    """The key of a row known by a CRM record id (the first id column filled), or None.

    >>> external_id_key({"email": "", "salesforce_id": " 00Q1 "})
    'salesforce:00Q1'
    """
    for name, namespace in EXTERNAL_ID_FIELDS.items():
        value = data.get(name)
        if not _blank(value):
            return external_key(namespace, str(value))
    return None


def _email(value: Any, *, source: str, row: int, field: str = "email") -> str:
    if _blank(value):
        raise InputError(source, row, field, "is empty; every contact needs an email or a "
                         "CRM id (hubspot_id, salesforce_id, external_id)")
    email = normalize_email(str(value))
    problem = limits.email_problem(email)
    if problem is not None:
        raise InputError(source, row, field, problem)
    return email


def _refuse(violation: limits.Violation | None, *, source: str, row: int) -> None:
    if violation is not None:
        raise InputError(source, row, violation.field, violation.reason)


Rec = TypeVar("Rec", Account, Contact)


def _stored(build: Callable[[dict[str, Any]], Rec], check: Callable[[Rec], limits.Violation
            | None], attributes: dict[str, Any], keys: frozenset[str], *, source: str,
            row: int, warnings: list[InputError] | None) -> Rec:
    """The record `build` makes of `attributes` once it meets `mql.limits`: with a
    `warnings` list, an optional attribute the store could not keep (too long, a NUL) is
    dropped and reported there; a key field (or no list) refuses the row."""
    record = build(attributes)
    while (violation := check(record)) is not None:
        if warnings is None or violation.field in keys or violation.field not in attributes:
            raise InputError(source, row, violation.field, violation.reason)
        warnings.append(InputError(source, row, violation.field, f"{violation.reason}; {KEPT}"))
        attributes = {k: v for k, v in attributes.items() if k != violation.field}
        record = build(attributes)
    return record


def account_from_row(data: Mapping[str, Any], *, source: str, row: int,
                     style: DateStyle | None = None,
                     warnings: list[InputError] | None = None) -> Account:
    """An `Account` from one row; raises `InputError` naming the row and field (with a
    `warnings` list, an unreadable optional field is dropped and reported there)."""
    domain = data.get("domain")
    if _blank(domain):
        raise InputError(source, row, "domain", "is empty; every account needs a domain")
    attributes = _attributes(data, frozenset({"domain"}), source=source, row=row, style=style,
                             warnings=warnings)
    if attributes.get("name") is not None:  # stored in a text column: text on every backend
        attributes["name"] = str(attributes["name"])
    key = str(domain).strip().lower()
    return _stored(lambda a: Account(key, a), limits.check_account, attributes,
                   frozenset({"domain"}), source=source, row=row, warnings=warnings)


def contact_from_row(data: Mapping[str, Any], *, source: str, row: int,
                     style: DateStyle | None = None,
                     warnings: list[InputError] | None = None) -> Contact:
    """A `Contact` from one row; the account defaults to the email's domain. A row without
    an email but with a CRM record id is keyed by that id (``salesforce:00Q1``) and has
    no account unless the row names one."""
    account = data.get("account")
    named = None if _blank(account) else str(account).strip().lower()
    key = external_id_key(data) if _blank(data.get("email")) else None
    attributes = _attributes(data, frozenset({"email", "account"}), source=source, row=row,
                             style=style, warnings=warnings)
    if key is not None:
        email, domain = key, named
    else:
        email = _email(data.get("email"), source=source, row=row)
        host = email.rsplit("@", 1)[1]
        # free mail (gmail.com ...) never forms an account, as in the store
        domain = (None if is_free_mail(host) else host) if named is None else named
        attributes["email"] = email
        attributes["email_domain"] = email.rsplit("@", 1)[1]
    for name in ("owner", "lifecycle_stage"):  # stored in text columns: text on every backend
        if attributes.get(name) is not None:
            attributes[name] = str(attributes[name])
    return _stored(lambda a: Contact(email, domain, a), limits.check_contact, attributes,
                   frozenset({"email", "email_domain", "account"}), source=source, row=row,
                   warnings=warnings)


def event_from_row(data: Mapping[str, Any], *, source: str, row: int,
                   style: DateStyle | None = None,
                   warnings: list[InputError] | None = None) -> Event:
    """An `Event` from one row; needs an id, a type, a time and a contact or account."""
    event_id = data.get("event_id")
    if _blank(event_id):
        raise InputError(source, row, "event_id", "is empty; every event needs a unique id")
    kind = data.get("type")
    if _blank(kind):
        raise InputError(source, row, "type", "is empty; every event needs a type")
    if _blank(data.get("timestamp")):
        raise InputError(source, row, "timestamp", "is empty; every event needs a time")
    at = parse_time(data["timestamp"], source=source, row=row, field="timestamp", style=style)
    email = None if _blank(data.get("email")) else _email(data["email"], source=source, row=row)
    if email is None:
        email = external_id_key(data)  # an event of a contact known by its CRM id
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
