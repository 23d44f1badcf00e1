"""Segment tracking-spec messages (identify, track, page, screen, group, batch) as records.

Segment's words stop here (STYLE 14): `userId` and `anonymousId` become the contact's
external id (namespace ``segment``) or email, and its anonymous id; `traits` become contact
(identify) or account (group) attributes; `messageId` is the event id, so a message sent
twice — over HTTP and again in a file — is stored once. A message without `messageId` gets
a deterministic one (`message_id`: a hash of its content and time), so a resent identical
message still counts once. Times are corrected for the sender's clock skew:
``timestamp + (receivedAt - sentAt)`` when both are present; a time may be ISO 8601 text or
epoch milliseconds. Identify traits are read from `traits` and from `context.traits`
(where RudderStack's libraries put them); `traits` wins for a name found in both, as in
Segment's spec. An alias keeps its `previousId` (`previous_id`); one without an "@" is
also read as the anonymous id it replaces (the applier merges instead when it names a
person: `service.resolve.apply_aliases`).

>>> [m] = parse_message({"type": "track", "messageId": "m1", "anonymousId": "a1",
...     "event": "Demo Requested", "properties": {"plan": "pro"},
...     "timestamp": "2026-03-02T10:00:00Z", "sentAt": "2026-03-02T10:00:05Z",
...     "receivedAt": "2026-03-02T10:00:02Z"}, source="http", row=1)
>>> m.event.type, m.event.at.isoformat(), m.event.anonymous_id
('demo_request', '2026-03-02T09:59:57+00:00', 'a1')
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mql import limits
from mql.errors import InputError
from mql.identity.domains import clean_host
from mql.ingest.formats import parse_time
from mql.model.vocabulary import event_type
from mql.records import Account, Contact, Event

TYPES = ("identify", "track", "page", "screen", "group", "alias")
_TRAITS = {"email": "email", "firstName": "first_name", "first_name": "first_name",
           "lastName": "last_name", "last_name": "last_name", "title": "title",
           "company": "company", "phone": "phone", "country": "country",
           "seniority": "seniority", "department": "department", "industry": "industry",
           "employees": "employees", "website": "website", "name": "name",
           "createdAt": "created_at", "annualRevenue": "revenue", "plan": "plan"}
MESSAGE_LIMIT = 32 * 1024  # bytes of one message as JSON (Segment's limit)
# what a resend may change without being another message: transport fields
_TRANSPORT = frozenset({"messageId", "sentAt", "receivedAt", "writeKey", "_mql"})
_EPOCH_MS_MAX = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


@dataclass(frozen=True, slots=True)
class Message:
    """One parsed message: the ledger event, and for identify/group the contact/account."""

    kind: str
    event: Event
    user_id: str | None = None
    contact: Contact | None = None
    account: Account | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


def message_size(data: Mapping[str, Any]) -> int:
    """The bytes of `data` as compact JSON, what the 32 KB limit of a message counts.

    >>> message_size({"type": "track", "event": "é"})
    29
    """
    return len(json.dumps(data, default=str, separators=(",", ":"), ensure_ascii=False)
               .encode())


def message_id(data: Mapping[str, Any]) -> str:
    """The message's `messageId`, or a deterministic one when it has none: a hash of its
    content (transport fields left out) and its time, so a retry of the same message gets
    the same id. A message without a time is timed by `receivedAt`, so the same content
    sent twice at different times is two messages.

    >>> a = {"type": "track", "userId": "u1", "event": "Signup", "timestamp": 1772445600000}
    >>> message_id(a) == message_id({**a, "sentAt": "2026-03-02T10:00:01Z"})
    True
    >>> message_id(a) == message_id({**a, "timestamp": 1772445600001})
    False
    >>> message_id({**a, "messageId": "m-1"})
    'm-1'
    """
    given = _text(data.get("messageId"))
    if given is not None:
        return given
    content = {k: v for k, v in data.items() if k not in _TRANSPORT}
    if content.get("timestamp") in (None, "") and content.get("originalTimestamp") in (None, ""):
        content["receivedAt"] = data.get("receivedAt")
    text = json.dumps(content, default=str, sort_keys=True, separators=(",", ":"))
    return "mql-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def message_time(value: Any, *, source: str, row: int, field: str) -> datetime:
    """A Segment time: ISO 8601 text, or epoch milliseconds (a number or a text of digits).

    >>> message_time(1772445600000, source="http", row=1, field="timestamp").isoformat()
    '2026-03-02T10:00:00+00:00'
    >>> message_time("1772445600000", source="http", row=1, field="timestamp").isoformat()
    '2026-03-02T10:00:00+00:00'
    """
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not (math.isfinite(value) and 0 <= value <= _EPOCH_MS_MAX):
            raise InputError(source, row, field, f"{value!r} is not a time: epoch "
                             "milliseconds between 1970 and 9999, or ISO 8601 text, expected")
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return parse_time(value, source=source, row=row, field=field)


def corrected_time(data: Mapping[str, Any], *, source: str, row: int) -> datetime:
    """When it happened: `timestamp` (else `originalTimestamp`, else `receivedAt`), moved by
    the skew between the sender's clock (`sentAt`) and the server's (`receivedAt`: when
    the request arrived)."""
    def get(name: str) -> datetime | None:
        value = data.get(name)
        return None if value in (None, "") else message_time(value, source=source, row=row,
                                                             field=name)
    at = get("timestamp") or get("originalTimestamp")
    sent, received = get("sentAt"), get("receivedAt")
    if at is None:
        if received is None:
            raise InputError(source, row, "timestamp", "is missing (and so is receivedAt); "
                             "every message needs a time")
        return received
    if sent is not None and received is not None:
        try:
            moved = at + (received - sent)
        except OverflowError:  # past year 9999 or before year 1: no datetime at all
            moved = datetime.max.replace(tzinfo=UTC) if received > sent else \
                datetime.min.replace(tzinfo=UTC)
        problem = limits.time_problem(moved)  # inside the calendar mql computes with
        if problem is not None:
            raise InputError(source, row, "timestamp", f"corrected for the sender's clock "
                             f"(sentAt {sent.isoformat()}), {problem}")
        return moved
    return at


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value).strip() or None


def context_traits(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """`context.traits` of a message (RudderStack's identify puts the traits there), or {}."""
    context = data.get("context")
    found = context.get("traits") if isinstance(context, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _email_of(data: Mapping[str, Any], traits: Mapping[str, Any]) -> str | None:
    for value in (traits.get("email"), context_traits(data).get("email"), data.get("userId")):
        text = _text(value)
        if text and "@" in text:
            return text.lower()
    return None


def _attributes(traits: Mapping[str, Any]) -> dict[str, Any]:
    return {_TRAITS.get(k, k): v for k, v in traits.items() if not isinstance(v, dict | list)}


def held_id(data: Any) -> str:
    """The id a held (quarantined) message is kept under: its `message_id`, hashed when
    longer than a messageId may be; for a value that is no message at all, a hash of it."""
    if isinstance(data, Mapping):
        found = message_id(data)
        if len(found) <= limits.MAX_EVENT_ID:
            return found
        text = found
    else:
        text = json.dumps(data, default=str, sort_keys=True)
    return "mql-" + hashlib.sha256(text.encode()).hexdigest()[:32]


REFUSED = "_mql"  # the inbox's mark on a message the API refused: {"field", "reason"}


def refusal(data: Any) -> tuple[Any, str | None, str] | None:
    """(the message as sent, field, reason) when the API marked `data` as refused (it is
    quarantined when applied), else None."""
    if not isinstance(data, Mapping) or not isinstance(data.get(REFUSED), Mapping):
        return None
    mark = data[REFUSED]
    message = mark["value"] if "value" in mark else {
        k: v for k, v in data.items() if k != REFUSED}
    return message, mark.get("field"), str(mark.get("reason"))


def refused(message: Any, field: str | None, reason: str) -> dict[str, Any]:
    """`message` marked as refused by the API with `field` and `reason` (see `refusal`).

    >>> refusal(refused({"type": "track"}, "type", "wrong route"))
    ({'type': 'track'}, 'type', 'wrong route')
    """
    mark: dict[str, Any] = {"field": field, "reason": reason}
    if isinstance(message, Mapping):
        return {**{k: v for k, v in message.items() if k != REFUSED}, REFUSED: mark}
    return {REFUSED: {**mark, "value": message}}


def _bounded(value: str | None, most: int, name: str, *, source: str, row: int) -> None:
    """`InputError` when `value` is longer than the store keeps (`mql.limits`)."""
    if value is not None and len(value) > most:
        raise InputError(source, row, name, f"is {len(value):,} characters long; the store "
                         f"keeps at most {most}")


def parse_message(data: Mapping[str, Any], *, source: str, row: int) -> list[Message]:
    """The messages in `data` (a `batch` gives several); `InputError` names the field."""
    if not isinstance(data, Mapping):
        raise InputError(source, row, "message", f"must be a JSON object, not {data!r:.80}")
    if data.get("type") == "batch" or ("batch" in data and "type" not in data):
        items = data.get("batch")
        if not isinstance(items, list):
            raise InputError(source, row, "batch", "must be a list of messages")
        return [m for item in items for m in parse_message(item, source=source, row=row)]
    kind = _text(data.get("type"))
    if kind not in TYPES:
        raise InputError(source, row, "type", f"{kind!r} is not a Segment message type; "
                         f"expected one of {', '.join(TYPES)}")
    event_id = message_id(data)
    if len(event_id) > limits.MAX_EVENT_ID:
        raise InputError(source, row, "messageId", f"is {len(event_id):,} characters; a "
                         f"messageId may have at most {limits.MAX_EVENT_ID}")
    user_id, anonymous_id = _text(data.get("userId")), _text(data.get("anonymousId"))
    if user_id is None and anonymous_id is None:
        raise InputError(source, row, "userId", "a message needs a userId or an anonymousId")
    for name, value, most in (("userId", user_id, limits.IDENTIFIER),
                              ("anonymousId", anonymous_id, limits.MAX_ANONYMOUS_ID),
                              ("event", _text(data.get("event")), limits.MAX_EVENT_TYPE)):
        _bounded(value, most, name, source=source, row=row)
    at = corrected_time(data, source=source, row=row)
    traits = data.get("traits") or {}
    properties = data.get("properties") or {}
    if not isinstance(traits, Mapping) or not isinstance(properties, Mapping):
        raise InputError(source, row, "traits", "traits and properties must be objects")
    email = _email_of(data, traits)
    _bounded(email, limits.MAX_EMAIL, "traits.email", source=source, row=row)
    external = None if user_id is None or "@" in user_id else user_id
    contact = account = None
    props: dict[str, Any] = dict(properties)
    if kind == "identify":
        name = "identify"
        traits = {**context_traits(data), **traits}
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
            _bounded(account.domain, limits.MAX_DOMAIN, "traits.website", source=source, row=row)
    elif kind in ("page", "screen"):
        name = "page_view" if kind == "page" else "screen_view"
        context = data.get("context") or {}
        page = context.get("page") if isinstance(context, Mapping) else None
        props = {**(page or {}), **props}
        for key in ("name", "category"):
            if data.get(key):
                props.setdefault(key, data[key])
    elif kind == "alias":
        name = "alias"
        previous = _text(data.get("previousId"))
        props = {"previous_id": previous}
        if previous is not None and "@" not in previous:
            anonymous_id = previous  # the cookie this user was known by: linked to them
    else:
        event = _text(data.get("event"))
        if event is None:
            raise InputError(source, row, "event", "a track message needs an event name")
        name = event_type(event)
    if external:
        props.setdefault("user_id", external)
    domain = account.domain if account is not None else None
    ev = Event(event_id, name, at, contact=email, account=domain, properties=props,
               anonymous_id=anonymous_id)
    return [Message(kind, ev, external, contact, account, data)]
