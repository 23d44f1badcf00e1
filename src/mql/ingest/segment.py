"""Segment tracking-spec messages (identify, track, page, screen, group, batch) as records.

Segment's words stop here (STYLE 14): `userId` and `anonymousId` become the contact's
external id (namespace ``segment``) or email, and its anonymous id; `traits` become contact
(identify) or account (group) attributes; `messageId` is the event id, so a message sent
twice — over HTTP and again in a file — is stored once. Times are corrected for the
sender's clock skew: ``timestamp + (receivedAt - sentAt)`` when both are present.

>>> [m] = parse_message({"type": "track", "messageId": "m1", "anonymousId": "a1",
...     "event": "Demo Requested", "properties": {"plan": "pro"},
...     "timestamp": "2026-03-02T10:00:00Z", "sentAt": "2026-03-02T10:00:05Z",
...     "receivedAt": "2026-03-02T10:00:02Z"}, source="http", row=1)
>>> m.event.type, m.event.at.isoformat(), m.event.anonymous_id
('demo_requested', '2026-03-02T09:59:57+00:00', 'a1')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mql import limits
from mql.errors import InputError
from mql.identity.domains import clean_host
from mql.ingest.formats import parse_time
from mql.records import Account, Contact, Event

TYPES = ("identify", "track", "page", "screen", "group", "alias")
_TRAITS = {"email": "email", "firstName": "first_name", "first_name": "first_name",
           "lastName": "last_name", "last_name": "last_name", "title": "title",
           "company": "company", "phone": "phone", "country": "country",
           "seniority": "seniority", "department": "department", "industry": "industry",
           "employees": "employees", "website": "website", "name": "name",
           "createdAt": "created_at", "annualRevenue": "revenue", "plan": "plan"}
_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Message:
    """One parsed message: the ledger event, and for identify/group the contact/account."""

    kind: str
    event: Event
    user_id: str | None = None
    contact: Contact | None = None
    account: Account | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


def event_type(name: str) -> str:
    """A track event name as an mql event type: lower case words joined by underscores.

    >>> event_type("Demo Requested"), event_type("webinar-attended")
    ('demo_requested', 'webinar_attended')
    """
    return _WORD.sub("_", name.strip().lower()).strip("_")


def corrected_time(data: Mapping[str, Any], *, source: str, row: int) -> datetime:
    """When it happened: `timestamp` (else `originalTimestamp`, else `receivedAt`), moved by
    the skew between the sender's clock (`sentAt`) and the server's (`receivedAt`)."""
    def get(name: str) -> datetime | None:
        value = data.get(name)
        return None if value in (None, "") else parse_time(value, source=source, row=row,
                                                           field=name)
    at = get("timestamp") or get("originalTimestamp")
    sent, received = get("sentAt"), get("receivedAt")
    if at is None:
        if received is None:
            raise InputError(source, row, "timestamp", "is missing (and so is receivedAt); "
                             "every message needs a time")
        return received
    if sent is not None and received is not None:
        return at + (received - sent)
    return at


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value).strip() or None


def _email_of(data: Mapping[str, Any], traits: Mapping[str, Any]) -> str | None:
    context = data.get("context") or {}
    ctx_traits = context.get("traits") if isinstance(context, Mapping) else None
    for value in (traits.get("email"), (ctx_traits or {}).get("email"), data.get("userId")):
        text = _text(value)
        if text and "@" in text:
            return text.lower()
    return None


def _attributes(traits: Mapping[str, Any]) -> dict[str, Any]:
    return {_TRAITS.get(k, k): v for k, v in traits.items() if not isinstance(v, dict | list)}


def _bounded(value: str | None, most: int, name: str, *, source: str, row: int) -> None:
    """`InputError` when `value` is longer than the store keeps (`mql.limits`)."""
    if value is not None and len(value) > most:
        raise InputError(source, row, name, f"is {len(value):,} characters long; the store "
                         f"keeps at most {most}")


def parse_message(data: Mapping[str, Any], *, source: str, row: int) -> list[Message]:
    """The messages in `data` (a `batch` gives several); `InputError` names the field."""
    if data.get("type") == "batch" or ("batch" in data and "type" not in data):
        items = data.get("batch")
        if not isinstance(items, list):
            raise InputError(source, row, "batch", "must be a list of messages")
        return [m for item in items for m in parse_message(item, source=source, row=row)]
    kind = _text(data.get("type"))
    if kind not in TYPES:
        raise InputError(source, row, "type", f"{kind!r} is not a Segment message type; "
                         f"expected one of {', '.join(TYPES)}")
    message_id = _text(data.get("messageId"))
    if message_id is None:
        raise InputError(source, row, "messageId", "is missing; it is the event id that "
                         "keeps a resent message from counting twice")
    user_id, anonymous_id = _text(data.get("userId")), _text(data.get("anonymousId"))
    if user_id is None and anonymous_id is None:
        raise InputError(source, row, "userId", "a message needs a userId or an anonymousId")
    for name, value, most in (("messageId", message_id, limits.EVENT_ID),
                              ("userId", user_id, limits.IDENTIFIER),
                              ("anonymousId", anonymous_id, limits.ANONYMOUS_ID),
                              ("event", _text(data.get("event")), limits.EVENT_TYPE)):
        _bounded(value, most, name, source=source, row=row)
    at = corrected_time(data, source=source, row=row)
    traits = data.get("traits") or {}
    properties = data.get("properties") or {}
    if not isinstance(traits, Mapping) or not isinstance(properties, Mapping):
        raise InputError(source, row, "traits", "traits and properties must be objects")
    email = _email_of(data, traits)
    _bounded(email, limits.EMAIL, "traits.email", source=source, row=row)
    external = None if user_id is None or "@" in user_id else user_id
    contact = account = None
    props: dict[str, Any] = dict(properties)
    if kind == "identify":
        name = "identify"
        props = dict(traits)
        if email is not None:
            attrs = _attributes(traits)
            attrs.pop("email", None)
            if external:
                attrs["user_id"] = external
            contact = Contact(email, None, attrs)
    elif kind == "group":
        name = "group"
        props = {"group_id": data.get("groupId"), **traits}
        website = _text(traits.get("website")) or _text(traits.get("domain"))
        if website:
            account = Account(clean_host(website), _attributes(traits))
            _bounded(account.domain, limits.DOMAIN, "traits.website", source=source, row=row)
    elif kind in ("page", "screen"):
        name = "page_view" if kind == "page" else "screen_view"
        context = data.get("context") or {}
        page = context.get("page") if isinstance(context, Mapping) else None
        props = {**(page or {}), **props}
        if data.get("name"):
            props.setdefault("name", data["name"])
    elif kind == "alias":
        name = "alias"
        props = {"previous_id": data.get("previousId")}
    else:
        event = _text(data.get("event"))
        if event is None:
            raise InputError(source, row, "event", "a track message needs an event name")
        name = event_type(event)
    if external:
        props.setdefault("user_id", external)
    domain = account.domain if account is not None else None
    ev = Event(message_id, name, at, contact=email, account=domain, properties=props,
               anonymous_id=anonymous_id)
    return [Message(kind, ev, external, contact, account, data)]
