"""Event names as every path reads them (files, the API, the batch engines): lower case
words joined by underscores, known other spellings mapped to the standard type."""

from __future__ import annotations

import pytest

from mql.model.vocabulary import event_type


@pytest.mark.parametrize(("name", "expected"), [
    ("Demo Requested", "demo_request"), ("(Demo Requested)", "demo_request"),
    ("--webinar attended!", "webinar_attended"), ("_page_view_", "page_view"),
    (" Pricing   Page--View ", "pricing_page_view"), ("Custom.Event 2", "custom_event_2"),
])
def test_an_event_name_becomes_its_type(name: str, expected: str) -> None:
    assert event_type(name) == expected
