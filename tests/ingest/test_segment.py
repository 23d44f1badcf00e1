"""Segment spec messages as records: ids, people, traits, times with skew correction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mql.errors import InputError
from mql.ingest.segment import parse_message


def _parse(data: dict[str, object]) -> list:  # type: ignore[type-arg]
    return parse_message(data, source="http", row=1)


def test_identify_gives_a_contact_with_traits_and_the_user_id() -> None:
    [m] = _parse({"type": "identify", "messageId": "m1", "userId": "u1", "anonymousId": "a1",
                  "traits": {"email": "Jane@Acme.com", "firstName": "Jane", "title": "CTO"},
                  "timestamp": "2026-03-02T10:00:00Z"})
    assert m.contact.email == "jane@acme.com"
    assert m.contact.attributes == {"first_name": "Jane", "title": "CTO", "user_id": "u1"}
    assert (m.event.event_id, m.event.anonymous_id, m.event.type) == ("m1", "a1", "identify")


def test_page_and_group_and_batch() -> None:
    messages = _parse({"type": "batch", "batch": [
        {"type": "page", "messageId": "p1", "anonymousId": "a1", "name": "Pricing",
         "context": {"page": {"url": "https://x/pricing", "path": "/pricing"}},
         "timestamp": "2026-03-02T10:00:00Z"},
        {"type": "group", "messageId": "g1", "userId": "jane@acme.com", "groupId": "42",
         "traits": {"name": "Acme", "website": "https://www.acme.com", "employees": 300},
         "timestamp": "2026-03-02T10:00:00Z"}]})
    page, group = messages
    assert page.event.type == "page_view" and page.event.properties["path"] == "/pricing"
    assert group.account.domain == "acme.com" and group.event.contact == "jane@acme.com"


def test_clock_skew_is_corrected_and_received_at_stands_in() -> None:
    [m] = _parse({"type": "track", "messageId": "t1", "anonymousId": "a", "event": "X",
                  "timestamp": "2026-03-02T10:00:00Z", "sentAt": "2026-03-02T12:00:00Z",
                  "receivedAt": "2026-03-02T10:30:00Z"})
    assert m.event.at == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    [n] = _parse({"type": "track", "messageId": "t2", "anonymousId": "a", "event": "X",
                  "receivedAt": "2026-03-02T10:30:00Z"})
    assert n.event.at == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(("data", "field"), [
    ({"type": "track", "anonymousId": "a", "event": "X", "timestamp": "2026-03-02"},
     "messageId"),
    ({"type": "track", "messageId": "m", "event": "X", "timestamp": "2026-03-02"}, "userId"),
    ({"type": "alias2", "messageId": "m"}, "type"),
    ({"type": "track", "messageId": "m", "anonymousId": "a", "timestamp": "2026-03-02"},
     "event"),
    ({"type": "track", "messageId": "m", "anonymousId": "a", "event": "X"}, "timestamp"),
])
def test_unusable_messages_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as info:
        _parse(data)
    assert info.value.field == field
