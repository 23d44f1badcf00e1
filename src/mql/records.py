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
    """A person (a lead), keyed by normalized email, linked to an account by domain."""

    email: str
    account: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "@" not in self.email:
            raise ValueError(f"a contact needs an email address, got {self.email!r}")

    @property
    def email_domain(self) -> str:
        return self.email.rsplit("@", 1)[1]


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
