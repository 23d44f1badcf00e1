"""Consent gates a track's touches: the channel granted, refused or never asked."""

from __future__ import annotations

from datetime import UTC, datetime

from mql.model.conditions import Compare
from mql.model.nurture import Length, Track
from mql.nurture import Facts, permitted

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
EMAIL = Track("warming", Compare("contact.title", "missing"), 1, Length(3, 14.0))


def _facts(channels: dict[str, bool] | None, *, suppressed: bool = False) -> Facts:
    return Facts(AT, "new", lambda field: None, channels=channels, suppressed=suppressed)


def test_a_granted_channel_permits_the_track() -> None:
    assert permitted(EMAIL, _facts({"email": True, "sms": False})) is True


def test_a_channel_not_granted_or_refused_does_not_permit_it() -> None:
    assert permitted(EMAIL, _facts({"sms": True})) is False
    assert permitted(EMAIL, _facts({"email": False})) is False


def test_no_policy_permits_every_channel_but_a_suppression_stops_all() -> None:
    assert permitted(EMAIL, _facts(None)) is True
    assert permitted(EMAIL, _facts(None, suppressed=True)) is False
    assert permitted(EMAIL, _facts({"email": True}, suppressed=True)) is False
