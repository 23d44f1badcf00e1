"""The records mql reasons about: accounts, contacts and events, as frozen values.

These are the core's inputs. Adapters build them from files, HTTP and the store; the
synthetic world generates them. Attribute values are plain Python values (str, int,
float, datetime) or None when unknown.

>>> from datetime import datetime, timezone
>>> e = Event("e1", "page_view", datetime(2026, 3, 2, tzinfo=timezone.utc),
...           contact="jane@acme.example", properties={"url": "/pricing"})
>>> e.properties["url"]
'/pricing'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# the times an event may have: every date computed from them stays inside the calendar
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Account:
    """A company, keyed by its web domain; `attributes` holds its firmographics."""

    domain: str
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.domain:
            raise ValueError("an account needs a domain")


@dataclass(frozen=True, slots=True)
class Contact:
    """A person (a lead), keyed by normalized email, linked to an account by domain.

    A contact known only by a CRM record id (a lead export without emails) is keyed by
    ``<namespace>:<id>`` (`external_key`), e.g. ``salesforce:00Q5e00001AbCdE``; it has no
    email domain.
    """

    email: str
    account: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "@" not in self.email and split_key(self.email) is None:
            raise ValueError(f"a contact needs an email address or a CRM id, got "
                             f"{self.email!r}")

    @property
    def email_domain(self) -> str:
        """The part after "@" ("" for a contact keyed by a CRM id)."""
        return self.email.rsplit("@", 1)[1] if "@" in self.email else ""

    @property
    def has_email(self) -> bool:
        return "@" in self.email


def external_key(namespace: str, value: str) -> str:
    """The key of a contact known only by a CRM id.

    >>> external_key("salesforce", " 00Q1 ")
    'salesforce:00Q1'
    """
    return f"{namespace}:{value.strip()}"


def split_key(key: str) -> tuple[str, str] | None:
    """(namespace, id) of a key made by `external_key`; None for an email or anything else.

    >>> split_key("hubspot:1001"), split_key("jane@acme.example")
    (('hubspot', '1001'), None)
    """
    namespace, sep, value = key.partition(":")
    if not sep or "@" in key or not namespace or not value or not namespace.isidentifier():
        return None
    return namespace, value


@dataclass(frozen=True, slots=True)
class Event:
    """Something a person or an account did at a time (UTC-aware `at`).

    `contact` is the person's email when known; `account` the company domain when known.
    An event with an account and no contact is account level (e.g. an intent surge).
    """

    event_id: str
    type: str
    at: datetime
    contact: str | None = None
    account: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    anonymous_id: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError(f"event {self.event_id}: time must carry a time zone (UTC)")
        if not _EARLIEST <= self.at < _LATEST:  # mql.limits.EARLIEST_TIME / LATEST_TIME
            raise ValueError(f"event {self.event_id}: time {self.at.isoformat()} is outside "
                             "the years 1900 to 2199 mql accepts")
