"""Values the model file may write unquoted: a version or band name written as a number is
read as text; other types are refused at their place."""

from __future__ import annotations

import pytest

from mql.errors import ModelError
from mql.model.parse import parse_model
from tests.model.tiny import BASE


@pytest.mark.parametrize(("line", "version"), [
    ("version: 3", "3"), ("version: 2026.1", "2026.1"), ('version: "2026.11.1"', "2026.11.1"),
    ("version: null", None), ("description: no version", None),
])
def test_a_version_is_text(line: str, version: str | None) -> None:
    assert parse_model(BASE + line + "\n").version == version


def test_a_version_that_is_not_text_or_a_number_is_refused() -> None:
    with pytest.raises(ModelError) as caught:
        parse_model(BASE + "version: true\n", source="m.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "m.yaml:14:10 version: expected text, got true"]


def test_band_names_may_be_numbers_and_bands_must_be_a_mapping() -> None:
    grades = parse_model(BASE + "grades:\n  fit: {A: 30}\n  intent: {1: 60, 2: 30}\n").grades
    assert grades is not None
    assert grades.intent_bands == (("1", 60.0), ("2", 30.0))
    assert grades.fit_bands == (("A", 30.0),)
    with pytest.raises(ModelError) as caught:
        parse_model(BASE + "grades:\n  fit: [A, B]\n  intent: {1: 60}\n", source="m.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "m.yaml:15:8 grades.fit: expected a mapping (key: value), got a list"]
