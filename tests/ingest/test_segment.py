"""Segment spec messages as records: ids, people, traits, times with skew correction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.errors import InputError
from mql.ingest.segment import message_id, parse_message


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
    ({"type": "track", "messageId": "m" * 201, "anonymousId": "a", "event": "X",
      "timestamp": "2026-03-02"}, "messageId"),
    ({"type": "track", "messageId": "m", "anonymousId": "a", "event": "X",
      "timestamp": 10**20}, "timestamp"),
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


def test_rudderstack_context_traits_reach_the_contact_and_traits_win() -> None:
    [m] = _parse({"type": "identify", "messageId": "r1", "userId": "kim@globex.example",
                  "timestamp": "2026-03-02T10:00:00Z",
                  "traits": {"title": "CTO"},
                  "context": {"traits": {"email": "kim@globex.example", "firstName": "Kim",
                                         "title": "Head of Data", "company": "Globex"}}})
    assert m.contact is not None
    assert m.contact.email == "kim@globex.example"
    assert m.contact.attributes["first_name"] == "Kim"
    assert m.contact.attributes["company"] == "Globex"
    assert m.contact.attributes["title"] == "CTO"  # `traits` wins over `context.traits`


def test_a_message_without_message_id_gets_the_same_id_when_resent() -> None:
    message = {"type": "track", "anonymousId": "a", "event": "X",
               "timestamp": "2026-03-02T10:00:00Z", "sentAt": "2026-03-02T10:00:01Z"}
    [first] = _parse(message)
    [again] = _parse({**message, "sentAt": "2026-03-02T10:05:00Z",
                      "receivedAt": "2026-03-02T10:05:00Z"})
    [other] = _parse({**message, "timestamp": "2026-03-02T10:00:01Z"})
    assert first.event.event_id == again.event.event_id
    assert first.event.event_id.startswith("mql-") and len(first.event.event_id) == 36
    assert other.event.event_id != first.event.event_id


def test_epoch_millisecond_times_and_the_page_category() -> None:
    [m] = _parse({"type": "page", "messageId": "p", "anonymousId": "a", "name": "Pricing",
                  "category": "Docs", "timestamp": 1772445600000})
    assert m.event.at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert m.event.properties["category"] == "Docs"
    assert m.event.properties["name"] == "Pricing"


def test_an_alias_links_the_previous_anonymous_id_to_the_user() -> None:
    [m] = _parse({"type": "alias", "messageId": "al", "previousId": "anon-7",
                  "userId": "kim@globex.example", "timestamp": "2026-03-02T10:00:00Z"})
    assert (m.event.contact, m.event.anonymous_id) == ("kim@globex.example", "anon-7")


_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
_messages = st.dictionaries(st.text(min_size=1, max_size=12).filter(
    lambda k: k not in ("messageId", "sentAt", "receivedAt", "writeKey", "_mql")),
    _values, max_size=8)


@given(message=_messages, sent=st.text(max_size=30), received=st.text(max_size=30))
@settings(max_examples=60, deadline=None)
def test_a_derived_message_id_ignores_transport_fields_and_key_order(
        message: dict[str, object], sent: str, received: str) -> None:
    timed = {**message, "timestamp": "2026-03-02T10:00:00Z"}
    resent = dict(reversed(list({**timed, "sentAt": sent, "receivedAt": received,
                                 "writeKey": "k"}.items())))
    assert message_id(timed) == message_id(resent)
    assert len(message_id(timed)) == 36 and message_id(timed).startswith("mql-")
