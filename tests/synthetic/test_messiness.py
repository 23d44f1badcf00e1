"""`dirty` adds the dirt of real data, and the ground truth lists every piece of it."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from mql.errors import InputError
from mql.ingest.formats import event_from_row, event_to_row, normalize_email
from mql.model.vocabulary import EVENT_TYPES
from mql.synthetic import AccountSlice, World, WorldParameters
from mql.synthetic.messiness import MalformedEvent


@pytest.fixture(scope="module")
def dirty() -> list[AccountSlice]:
    params = WorldParameters(accounts=300, months=6, dirty=0.2)
    return list(World(params, random.Random(77)).accounts())


def _canonical(email: str, account: str) -> str:
    local, domain = normalize_email(email).split("@")
    local = local.split("+")[0]
    if domain.endswith("." + account):
        domain = account
    return f"{local}@{domain}"


def test_every_contact_duplicate_is_one_person_under_another_email(
    dirty: list[AccountSlice],
) -> None:
    forms: Counter[str] = Counter()
    for piece in dirty:
        emails = {c.email for c in piece.contacts}
        for member in piece.duplicates:
            if member.kind != "contact":
                continue
            forms[member.form] += 1
            if member.form != "canonical":
                assert member.member != member.canonical
                assert member.member in emails or any(
                    m.key == member.member for m in piece.malformed)
                assert _canonical(member.member, piece.account.domain) == _canonical(
                    member.canonical, piece.account.domain) or member.form == "subdomain"
    assert forms["case"] and forms["plus_tag"] and forms["subdomain"]


def test_resent_and_copied_events_are_listed(dirty: list[AccountSlice]) -> None:
    for piece in dirty:
        ids = Counter(e.event.event_id if isinstance(e, MalformedEvent) else e.event_id
                      for e in piece.events)
        resent = {m.member for m in piece.duplicates if m.form == "resent"}
        copied = {m.member for m in piece.duplicates if m.form == "copied"}
        assert {i for i, n in ids.items() if n > 1} == resent
        assert copied <= set(ids)
        clean = {e.event_id for e in piece.clean_events}
        assert set(ids) - clean == copied


def test_malformed_rows_are_refused_by_the_reader_or_use_an_unknown_type(
    dirty: list[AccountSlice],
) -> None:
    problems: Counter[str] = Counter()
    for piece in dirty:
        listed = {m.key: m for m in piece.malformed if m.file == "events"}
        for event in piece.events:
            if isinstance(event, MalformedEvent):
                row = event_to_row(event.event)
                row["timestamp"] = event.timestamp
                key = event.event.event_id
            else:
                row, key = event_to_row(event), event.event_id
            if key not in listed:
                assert event_from_row(row, source="events", row=1).type in EVENT_TYPES
                continue
            problems[listed[key].problem] += 1
            if listed[key].problem == "unknown_type":
                assert row["type"] not in EVENT_TYPES
            else:
                with pytest.raises(InputError):
                    event_from_row(row, source="events", row=1)
    assert set(problems) == {"bad_email", "bad_timestamp", "unknown_type"}


def test_missing_firmographics_are_blank_and_recorded(dirty: list[AccountSlice]) -> None:
    blanked = [p for p in dirty if p.truth.missing_fields]
    assert 0.1 <= len(blanked) / len(dirty) <= 0.3
    for piece in blanked:
        for field in piece.truth.missing_fields:
            assert piece.account.attributes[field] is None


def test_a_clean_world_has_no_dirt() -> None:
    params = WorldParameters(accounts=50, months=3, start=datetime(2025, 1, 1, tzinfo=UTC))
    for piece in World(params, random.Random(77)).accounts():
        assert not piece.duplicates and not piece.malformed and not piece.truth.missing_fields


def test_sales_reject_second_records_as_duplicates(dirty: list[AccountSlice]) -> None:
    reasons = Counter(d.reason for p in dirty for d in p.dispositions)
    assert reasons["duplicate"] > 0


def test_a_title_stream_advances_the_world_as_a_profile_title_did() -> None:
    # committee titles come from their own stream; the account's stream moves on exactly
    # as it did when every title was drawn from it, so the rest of the world is unchanged
    import random as _random

    from mql.synthetic.people import title, title_stream
    a, b = _random.Random(7), _random.Random(7)
    title(a, "manager", "it")
    title_stream(b)
    assert a.random() == b.random()


def test_committee_titles_carry_their_role() -> None:
    import random as _random

    from mql.synthetic.people import role_title
    rng = _random.Random(5)
    titles = [role_title(rng, "procurement", "manager", "procurement", "en").lower()
              for _ in range(400)]
    generic = sum(t.strip(" .") in ("manager", "senior manager") for t in titles)
    assert 0.02 < generic / 400 < 0.12  # 6% name no role
    # the others say procurement, typos and abbreviations included, and say a manager
    from mql.accounts.titles import department_of, seniority_of
    named = [t for t in titles if t.strip(" .") not in ("manager", "senior manager")]
    assert sum(department_of(t) == "procurement" for t in named) >= 0.98 * len(named)
    assert all(seniority_of(t) == "manager" for t in titles)
