"""The tests a model file carries (`tests:`, docs/model.md "Tests"): what a test reads
into, and every mistake located by file:line:column with the words a modeller reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mql.errors import ModelError
from mql.model.testcases import DEFAULT_TOLERANCE, Check, ModelTest, parse_tests, plain_row
from mql.model.yaml_marks import Mark, load

SCORES = ("fit", "intent", "total")

GOOD = """\
name: m
tests:
  - name: demo_fast_tracks
    description: A demo request qualifies at once.
    at: 2026-03-02
    accounts: [{domain: acme.example, employees: 500}]
    contacts:
      - {email: Jane@Acme.example, created_at: 2026-02-01T08:00:00+01:00}
    events:
      - {type: demo_request, timestamp: 2026-03-01T09:00:00+02:00, email: jane@acme.example}
    expect:
      - {contact: " Jane@Acme.Example ", mql: true, intent: 40, reasons: demo, tolerance: 0.5}
      - {contact: jane@acme.example, at: "2026-04-01T12:00:00+02:00",
         grade: B1, excluded_by: [a, b], fit: 10}
"""

BAD = """\
tests:
  - name: first
    at: 2026-03-02T10:00:00Z
    contacts: [{email: jane@acme.example}]
    expect:
      - {contact: jane@acme.example, mql: maybe, fit: high, grade: 3, reasons: [a, 1], tolerence: 1}
  - name: first
    at: soon
    expct: []
    contacts: {email: x}
  - at: 2026-03-02
    contacts: [plain]
    events: [{type: demo_request, timestamp: 2026-03-01T09:00:00+02:00}]
    expect: [note, {contact: " ", tolerance: -1}, {fit: 3, at: later}]
  - just text
  - name: " "
    accounts: 5
    expect: []
"""

BAD_PROBLEMS = [
    'm.tests.yaml:6:9 tests[0].expect[0]: nothing to check: give mql, grade, reasons or a '
     'score (fit, intent, total)',
    "m.tests.yaml:6:43 tests[0].expect[0].mql: expected true or false, got 'maybe'",
    "m.tests.yaml:6:55 tests[0].expect[0].fit: expected a number, got 'high'",
    'm.tests.yaml:6:68 tests[0].expect[0].grade: expected text, got 3',
    "m.tests.yaml:6:80 tests[0].expect[0].reasons: expected a list of names, got ['a', 1]",
    'm.tests.yaml:6:88 tests[0].expect[0].tolerence: unknown key (did you mean '
     '"tolerance"?); expected one of: contact, at, tolerance, fit, intent, total, mql, grade, '
     'reasons, because, excluded_by, disqualified_by, exits',
    'm.tests.yaml:7:5 tests[1]: expect is required: a list of {contact: EMAIL, mql: ..., fit: ...}',
    'm.tests.yaml:7:11 tests[1].name: another test is already named "first"',
    'm.tests.yaml:8:9 tests[1].at: expected a time (ISO 8601 such as 2026-03-02T10:00:00Z), '
     "got 'soon'",
    'm.tests.yaml:9:5 tests[1].expct: unknown key (did you mean "expect"?); expected one of: '
     'name, description, at, accounts, contacts, events, expect',
    'm.tests.yaml:10:15 tests[1].contacts: expected a list of contacts (one mapping per row)',
    'm.tests.yaml:11:5 tests[2]: name is required (what the test shows, in words)',
    'm.tests.yaml:12:16 tests[2].contacts[0]: expected a mapping of column: value, as a row '
     'of the contacts file',
    'm.tests.yaml:14:14 tests[2].expect[0]: expected {contact: EMAIL, then what to check: '
     'mql, grade, fit, intent ...}',
    'm.tests.yaml:14:20 tests[2].expect[1]: nothing to check: give mql, grade, reasons or a '
     'score (fit, intent, total)',
    'm.tests.yaml:14:30 tests[2].expect[1].contact: contact is required (the email of a '
     'contact of the test)',
    'm.tests.yaml:14:46 tests[2].expect[1].tolerance: expected a number >= 0, got -1',
    'm.tests.yaml:14:51 tests[2].expect[2]: contact is required (the email of a contact of '
     'the test)',
    'm.tests.yaml:14:64 tests[2].expect[2].at: expected a time (ISO 8601 such as '
     "2026-03-02T10:00:00Z), got 'later'",
    'm.tests.yaml:15:5 tests[3]: expected a test: a mapping with name, at, contacts, events '
     'and expect',
    'm.tests.yaml:16:5 tests[4]: at is required (the time of the decision, ISO 8601 such as '
     '2026-03-02T10:00:00Z)',
    'm.tests.yaml:16:5 tests[4]: contacts is required (the people the test scores)',
    'm.tests.yaml:16:11 tests[4].name: name is required (what the test shows, in words)',
    'm.tests.yaml:17:15 tests[4].accounts: expected a list of accounts (one mapping per row)',
    'm.tests.yaml:18:13 tests[4].expect: expect is required: a list of {contact: EMAIL, mql: '
     '..., fit: ...}',
]


def read(text: str, base: tuple[str, ...] = ()) -> list[ModelTest]:
    return parse_tests(load(text), source="m.tests.yaml", scores=SCORES, base=base)


def test_a_test_reads_into_rows_and_checks_located_in_the_file() -> None:
    [test] = read(GOOD)
    assert (test.name, test.description, test.mark) == (
        "demo_fast_tracks", "A demo request qualifies at once.", Mark(3, 5))
    assert test.at == datetime(2026, 3, 2, tzinfo=UTC)  # a date is its midnight UTC
    [account], [contact], [event] = test.accounts, test.contacts, test.events
    assert account.data == {"domain": "acme.example", "employees": 500}
    # YAML times become ISO text in UTC, as a file would hold them
    assert contact.data == {"email": "Jane@Acme.example",
                            "created_at": "2026-02-01T07:00:00+00:00"}
    assert event.data["timestamp"] == "2026-03-01T07:00:00+00:00"
    assert (contact.mark, contact.field_mark("created_at"), contact.field_mark("email")) == (
        Mark(8, 9), Mark(8, 36), Mark(8, 10))
    assert contact.field_mark("title") == Mark(8, 9)  # a field it lacks: the row
    assert contact.field_mark(None) == Mark(8, 9)
    first, second = test.expect
    # the contact as an email is matched (lower case, no spaces); the test's time by default
    assert (first.contact, first.at, first.tolerance, first.mark) == (
        "jane@acme.example", datetime(2026, 3, 2, tzinfo=UTC), 0.5, Mark(12, 9))
    assert first.checks == (Check("mql", True, Mark(12, 47)), Check("intent", 40, Mark(12, 61)),
                            Check("reasons", ["demo"], Mark(12, 74)))
    assert (second.at, second.tolerance) == (datetime(2026, 4, 1, 10, tzinfo=UTC),
                                             DEFAULT_TOLERANCE)
    assert DEFAULT_TOLERANCE == 0.05
    assert second.checks == (Check("grade", "B1", Mark(14, 17)),
                             Check("excluded_by", ["a", "b"], Mark(14, 34)),
                             Check("fit", 10, Mark(14, 47)))


def test_every_mistake_of_a_tests_section_is_reported_in_file_order() -> None:
    with pytest.raises(ModelError) as caught:
        read(BAD)
    assert [str(p) for p in caught.value.problems] == BAD_PROBLEMS


def test_tests_sit_under_their_base_path_or_are_absent() -> None:
    nested = "model:\n" + "".join(f"  {line}\n" for line in GOOD.splitlines())
    [test] = read(nested, base=("model",))
    assert (test.name, test.mark) == ("demo_fast_tracks", Mark(4, 7))
    assert read("name: m\n") == []
    assert read("name: m\n", base=("model",)) == []
    with pytest.raises(ModelError) as caught:
        read("model:\n  tests: {name: t}\n", base=("model",))
    assert [str(p) for p in caught.value.problems] == [
        "m.tests.yaml:2:10 model.tests: expected a list of tests (- name: ..., at: ..., "
        "expect: ...)"]


def test_a_time_is_utc_from_any_offset_a_date_or_naive_text() -> None:
    text = GOOD.replace("at: 2026-03-02\n", 'at: "2026-03-02T10:00:00"\n')
    assert read(text)[0].at == datetime(2026, 3, 2, 10, tzinfo=UTC)
    text = GOOD.replace("at: 2026-03-02\n", "at: 2026-03-02T10:00:00-05:00\n")
    assert read(text)[0].at == datetime(2026, 3, 2, 15, tzinfo=UTC)
    text = GOOD.replace("at: 2026-03-02\n", 'at: " 2026-03-02T10:00:00Z "\n')
    assert read(text)[0].at == datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_a_row_keeps_its_values_and_writes_times_as_text() -> None:
    assert plain_row({"n": 3, "day": datetime(2026, 1, 2, 3, 4, tzinfo=UTC).date(),
                      "at": datetime(2026, 1, 2, 3, 4), 5: "five"}) == {
        "n": 3, "day": "2026-01-02T00:00:00+00:00", "at": "2026-01-02T03:04:00+00:00",
        "5": "five"}


def test_unknown_keys_get_a_hint_only_when_close() -> None:
    text = GOOD.replace("    description: A demo",
                        "    zzz: 1\n    exp: []\n    description: A demo")
    with pytest.raises(ModelError) as caught:
        read(text)
    assert [str(p) for p in caught.value.problems] == [
        "m.tests.yaml:4:5 tests[0].zzz: unknown key; expected one of: name, description, at, "
        "accounts, contacts, events, expect",
        "m.tests.yaml:5:5 tests[0].exp: unknown key; expected one of: name, description, at, "
        "accounts, contacts, events, expect"]


def test_unnamed_tests_under_a_base_are_each_reported_once() -> None:
    text = ("model:\n  tests:\n"
            "    - {at: 2026-03-02, contacts: [], expect: [{contact: a, mql: true}]}\n"
            "    - {at: 2026-03-02, contacts: [], expect: [{contact: b, mql: true}]}\n")
    with pytest.raises(ModelError) as caught:
        read(text, base=("model",))
    assert [str(p) for p in caught.value.problems] == [
        "m.tests.yaml:3:7 model.tests[0]: name is required (what the test shows, in words)",
        "m.tests.yaml:4:7 model.tests[1]: name is required (what the test shows, in words)"]
    assert read("a: 5\n", base=("a", "b")) == []


def test_a_bad_time_is_reported_once_and_every_bad_row() -> None:
    text = ("tests:\n  - name: t\n    at: soon\n    description: 5\n"
            "    contacts: [plain, {email: a@x.example}, 3]\n"
            "    expect: [{contact: a@x.example, mql: true}]\n")
    with pytest.raises(ModelError) as caught:
        read(text)
    assert [str(p) for p in caught.value.problems] == [
        "m.tests.yaml:3:9 tests[0].at: expected a time (ISO 8601 such as "
        "2026-03-02T10:00:00Z), got 'soon'",
        "m.tests.yaml:5:16 tests[0].contacts[0]: expected a mapping of column: value, as a "
        "row of the contacts file",
        "m.tests.yaml:5:45 tests[0].contacts[2]: expected a mapping of column: value, as a "
        "row of the contacts file"]


def test_a_description_that_is_not_text_is_left_out() -> None:
    [test] = read(GOOD.replace("description: A demo request qualifies at once.",
                               "description: 5"))
    assert test.description is None


def test_verdict_checks_take_a_name_or_a_list_of_names() -> None:
    text = GOOD.replace("reasons: demo, tolerance: 0.5",
                        "excluded_by: competitor, tolerance: 0")
    text = text.replace("grade: B1, excluded_by: [a, b], fit: 10",
                        "disqualified_by: gov, exits: unsubscribed, because: fast track")
    [test] = read(text)
    first, second = test.expect
    assert first.tolerance == 0.0
    assert [(c.field, c.value) for c in first.checks] == [
        ("mql", True), ("intent", 40), ("excluded_by", ["competitor"])]
    assert [(c.field, c.value) for c in second.checks] == [
        ("disqualified_by", ["gov"]), ("exits", ["unsubscribed"]), ("because", "fast track")]


def test_verdict_checks_of_the_wrong_type_are_refused() -> None:
    text = GOOD.replace("grade: B1, excluded_by: [a, b], fit: 10",
                        "because: 5, disqualified_by: 3, exits: 4")
    with pytest.raises(ModelError) as caught:
        read(text)
    assert [p.message for p in caught.value.problems] == [
        "nothing to check: give mql, grade, reasons or a score (fit, intent, total)",
        "expected text, got 5", "expected a list of names, got 3",
        "expected a list of names, got 4"]


def test_times_are_utc_whatever_the_machine_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time as clock

    monkeypatch.setenv("TZ", "America/New_York")
    clock.tzset()
    try:
        text = GOOD.replace("at: 2026-03-02\n", "at: 2026-03-02 10:00:00\n").replace(
            "email: Jane@Acme.example,", 'email: Jane@Acme.example, signed_up: "2026-01-05",')
        [test] = read(text)
        assert test.at == datetime(2026, 3, 2, 10, tzinfo=UTC)  # no offset: UTC
        [contact], [event] = test.contacts, test.events
        assert event.data["timestamp"] == "2026-03-01T07:00:00+00:00"
        assert contact.data["created_at"] == "2026-02-01T07:00:00+00:00"
        assert contact.data["signed_up"] == "2026-01-05"  # text stays as written
    finally:
        monkeypatch.undo()
        clock.tzset()
