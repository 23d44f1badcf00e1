"""Job changes read from a contact's attributes: when a known contact's title or company
changes (identify traits, a contacts file read again, a CRM export), the change becomes a
`job_change` event at the moment mql learns of it, so exit rules (`{activity: job_change,
within_days: 90}`), explanations, the lifecycle history and the batch engines all see it
from the one ledger, and every answer about an earlier time stays as it was.

A blank old or new value is not a change (a title filled in for the first time is not a
new job), and neither is a difference of case or spacing.

>>> from datetime import datetime, timezone
>>> t = datetime(2026, 5, 3, 9, tzinfo=timezone.utc)
>>> [e] = job_changes("jane@acme.example", {"title": "Director of IT"},
...                   {"title": "Student"}, t)
>>> e.type, e.properties["change"], e.at.date().isoformat()
('job_change', 'title Director of IT -> Student', '2026-05-03')
>>> job_changes("jane@acme.example", {"title": "VP  Sales"}, {"title": "vp sales"}, t)
[]
>>> job_changes("jane@acme.example", {}, {"title": "CTO"}, t)
[]
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from mql.records import Event

JOB_CHANGE = "job_change"
JOB_FIELDS = ("title", "company")  # the attributes whose change is a change of job


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold() if value is not None else ""


def job_changes(email: str, old: Mapping[str, Any], new: Mapping[str, Any],
                at: datetime) -> list[Event]:
    """The `job_change` events of a contact whose attributes go from `old` to `new` at
    `at`: one per changed field (``title``, ``company``), with properties ``field``,
    ``from``, ``to`` and ``change`` (``title Director of IT -> Student``). The event id is
    derived from the contact, the field, both values and the day, so reading the same
    file twice records the change once."""
    out: list[Event] = []
    for name in JOB_FIELDS:
        before, after = old.get(name), new.get(name)
        if not _norm(before) or not _norm(after) or _norm(before) == _norm(after):
            continue
        text = f"{name} {' '.join(str(before).split())} -> {' '.join(str(after).split())}"
        digest = hashlib.sha256(
            f"{email}\n{name}\n{_norm(before)}\n{_norm(after)}\n{at.date()}".encode()
        ).hexdigest()[:16]
        out.append(Event(f"{JOB_CHANGE}:{digest}", JOB_CHANGE, at, contact=email,
                         properties={"field": name, "from": str(before), "to": str(after),
                                     "change": text}))
    return out


def change_reason(reason: str, change: str | None, at: datetime | None) -> str:
    """An exit rule's reason with the job change that triggered it, as a seller reads it.

    >>> from datetime import datetime, timezone
    >>> change_reason("changed job", "title Director of IT -> Student",
    ...               datetime(2026, 5, 3, 9, tzinfo=timezone.utc))
    'changed job: title Director of IT -> Student, since 2026-05-03'
    """
    if not change or at is None:
        return reason
    return f"{reason}: {change}, since {at.date().isoformat()}"


def attributes_at(attributes: Mapping[str, Any], changes: Iterable[Event], at: datetime
                  ) -> dict[str, Any] | None:
    """The contact's `attributes` as they were at `at`, given its `job_change` events:
    a field changed after `at` had the value its earliest later change started from.
    None when nothing changed after `at` (the attributes are those of now).

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 5, 3, 9, tzinfo=timezone.utc)
    >>> [e] = job_changes("jane@acme.example", {"title": "Director of IT"},
    ...                   {"title": "Student"}, t)
    >>> attributes_at({"title": "Student", "country": "US"}, [e], datetime(2026, 5, 1,
    ...               tzinfo=timezone.utc))
    {'title': 'Director of IT', 'country': 'US'}
    >>> attributes_at({"title": "Student"}, [e], t) is None
    True
    """
    earliest: dict[str, Event] = {}
    for e in changes:
        name = e.properties.get("field")
        if e.type != JOB_CHANGE or e.at <= at or not isinstance(name, str) \
                or "from" not in e.properties:
            continue
        if name not in earliest or e.at < earliest[name].at:
            earliest[name] = e
    if not earliest:
        return None
    return {**attributes, **{name: e.properties["from"] for name, e in earliest.items()}}
