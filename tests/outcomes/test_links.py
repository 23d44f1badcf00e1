"""Opportunities credited to the MQL hand-offs before them: sourced (the first within
`outcomes.sourced_within_days`) and influenced, with the rule stored in words."""

from __future__ import annotations

from datetime import timedelta
from importlib.resources import files
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from mql.model.spec import Outcomes
from mql.service import outcomes
from mql.service.outcomes import credit
from mql.store.models import activate, save_version
from tests.outcomes.helpers import NOW, day, ingest, load_contacts, qualify, rows, write

HEADER = "opportunity_id,account,created_at,closed_at,status,stage,primary_contact,contacts\n"
OPENED = day(6, 1)


def _links(store: Engine) -> dict[int, tuple[str, int]]:
    return {r["contact_id"]: (r["kind"], r["history_id"]) for r in rows(store, "opportunity_links")}


def test_the_primary_contacts_recent_mql_sourced_it_and_the_others_influenced(
        store: Engine, tmp_path: Path) -> None:
    people = load_contacts(store, tmp_path, "ann@acme.example", "bob@acme.example",
                           "cy@acme.example", "dee@acme.example", "eve@acme.example")
    ann, bob, cy, dee, eve = (people[f"{n}@acme.example"] for n in
                              ("ann", "bob", "cy", "dee", "eve"))
    # by hand, with the defaults (sourced 90 days, influenced 180 days):
    qualify(store, ann, OPENED - timedelta(days=13))  # primary: sourced ...
    early = qualify(store, ann, OPENED - timedelta(days=40))  # ... by the first of her MQLs
    mql_bob = qualify(store, bob, OPENED - timedelta(days=30))  # a role: influenced
    mql_cy = qualify(store, cy, OPENED - timedelta(days=120))  # at the account: influenced
    qualify(store, dee, OPENED - timedelta(days=200))  # too long before: no credit
    mql_eve = qualify(store, eve, OPENED + timedelta(days=5))  # while open: influenced
    path = write(tmp_path, "o.csv", HEADER + (
        "o-1,acme.example,2025-06-01,,open,demo,ann@acme.example,bob@acme.example:champion\n"))
    ingest(store, path, "opportunities")
    links = _links(store)
    assert links[ann] == ("sourced", early)
    [ann_row] = [r for r in rows(store, "opportunity_links") if r["contact_id"] == ann]
    assert ann_row["qualified_at"] == OPENED - timedelta(days=40)
    assert "primary contact" in ann_row["rule"] and "40.0 days before" in ann_row["rule"]
    assert links[bob] == ("influenced", mql_bob)
    assert links[cy] == ("influenced", mql_cy)
    assert links[eve] == ("influenced", mql_eve)
    assert dee not in links
    eve_rule = next(r["rule"] for r in rows(store, "opportunity_links") if r["contact_id"] == eve)
    assert "while the opportunity was open" in eve_rule


def test_without_the_primary_contacts_mql_the_first_role_contact_sourced_it(
        store: Engine, tmp_path: Path) -> None:
    people = load_contacts(store, tmp_path, "ann@acme.example", "bob@acme.example",
                           "cy@acme.example")
    ann, bob, cy = (people[f"{n}@acme.example"] for n in ("ann", "bob", "cy"))
    qualify(store, cy, OPENED - timedelta(days=60))  # account contact, earliest
    later = qualify(store, bob, OPENED - timedelta(days=20))
    path = write(tmp_path, "o.csv", HEADER + (
        "o-1,acme.example,2025-06-01,,open,demo,ann@acme.example,bob@acme.example:champion\n"))
    ingest(store, path, "opportunities")
    links = _links(store)
    # the opportunity's own contact ranks before the account's, however early theirs was
    assert links[bob] == ("sourced", later)
    assert links[cy][0] == "influenced"
    assert ann not in links


def test_a_closed_opportunity_is_not_credited_to_an_mql_after_it_closed(
        store: Engine, tmp_path: Path) -> None:
    people = load_contacts(store, tmp_path, "ann@acme.example")
    qualify(store, people["ann@acme.example"], day(7, 1))
    path = write(tmp_path, "o.csv", HEADER + (
        "o-1,acme.example,2025-06-01,2025-06-20,lost,closed_lost,ann@acme.example,\n"))
    ingest(store, path, "opportunities")
    assert rows(store, "opportunity_links") == []


def test_the_windows_are_the_models_and_linking_again_follows_them(
        store: Engine, tmp_path: Path) -> None:
    people = load_contacts(store, tmp_path, "ann@acme.example")
    ann = people["ann@acme.example"]
    mql = qualify(store, ann, OPENED - timedelta(days=13))
    path = write(tmp_path, "o.csv", HEADER + (
        "o-1,acme.example,2025-06-01,,open,demo,ann@acme.example,\n"))
    ingest(store, path, "opportunities")
    assert _links(store) == {ann: ("sourced", mql)}
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    text += "\noutcomes:\n  sourced_within_days: 10\n  influenced_within_days: 30\n"
    with store.begin() as conn:
        activate(conn, save_version(conn, "b2b_saas", "2", text, source="b.yaml", now=NOW),
                 now=NOW)
    assert outcomes.link_all(store, now=NOW) == 1
    [link] = rows(store, "opportunity_links")
    assert (link["kind"], link["history_id"]) == ("influenced", mql)
    assert "influenced_within_days 30" in link["rule"]
    assert outcomes.link_all(store, now=NOW) == 0  # nothing changed


def test_contacts_that_arrive_later_are_linked_by_linking_again(store: Engine,
                                                                tmp_path: Path) -> None:
    path = write(tmp_path, "o.csv", HEADER + (
        "o-1,acme.example,2025-06-01,,open,demo,ann@acme.example,\n"))
    ingest(store, path, "opportunities")
    [opp] = rows(store, "opportunities")
    assert opp["primary_contact_id"] is None and opp["account_id"] is None
    people = load_contacts(store, tmp_path, "ann@acme.example")
    mql = qualify(store, people["ann@acme.example"], OPENED - timedelta(days=2))
    assert outcomes.link_all(store, now=NOW) == 1
    [opp] = rows(store, "opportunities")
    assert opp["primary_contact_id"] == people["ann@acme.example"]
    assert opp["account_id"] is not None
    assert _links(store) == {people["ann@acme.example"]: ("sourced", mql)}


@settings(max_examples=200, deadline=None)
@given(candidates=st.lists(st.tuples(st.integers(0, 2), st.lists(st.integers(-300, 60),
                                                                 max_size=3)),
                           max_size=5),
       sourced=st.integers(1, 120), extra=st.integers(0, 120))
def test_one_contact_at_most_sourced_it_and_every_credit_is_within_its_window(
        candidates: list[tuple[int, list[int]]], sourced: int, extra: int) -> None:
    """Drawn: contacts (tier, MQL days relative to the opening); whatever they are, at most
    one link is sourced, it is the best tier's earliest MQL in the window, and every link
    is within its window."""
    settings_ = Outcomes(sourced, sourced + extra)
    quals = [(cid, tier, sorted(((cid * 10 + i, OPENED + timedelta(days=d))
                                 for i, d in enumerate(days)), key=lambda q: q[1]))
             for cid, (tier, days) in enumerate(candidates)]
    links = credit(OPENED, None, quals, settings_)
    kinds = [lk.kind for lk in links]
    assert kinds.count("sourced") <= 1 and len({lk.contact_id for lk in links}) == len(links)
    in_window = [(tier, at, cid) for cid, tier, qs in quals for _, at in qs
                 if OPENED - timedelta(days=sourced) <= at <= OPENED]
    if in_window:
        tier, at, _ = min(in_window)
        assert links[0].kind == "sourced" and links[0].qualified_at == at
        assert next(t for c, t, _ in quals if c == links[0].contact_id) == tier
    else:
        assert "sourced" not in kinds
    for lk in links:
        assert lk.qualified_at >= OPENED - timedelta(days=sourced + extra)


def test_a_contact_merged_after_linking_is_replaced_by_its_survivor(
        store: Engine, tmp_path: Path) -> None:
    from mql.identity.merge import IdentityRules
    from mql.service import ingest as ingest_service

    people = write(tmp_path, "c1.csv", "email,hubspot_id\nann@acme.example,11\n"
                   "ann.b@acme.example,\n")
    ingest_service.ingest_file(store, people, "contacts", rules=IdentityRules(), now=NOW)
    ids = {c["email"]: c["id"] for c in rows(store, "contacts")}
    mql = qualify(store, ids["ann@acme.example"], OPENED - timedelta(days=3))
    path = write(tmp_path, "o.csv", HEADER + (
        "o-1,acme.example,2025-06-01,,open,demo,ann.b@acme.example,\n"))
    ingest(store, path, "opportunities")
    assert [c["contact_id"] for c in rows(store, "opportunity_contacts")] == [
        ids["ann.b@acme.example"]]
    # the CRM id now names ann.b too: she is merged into ann
    merge = write(tmp_path, "c2.csv", "email,hubspot_id\nann.b@acme.example,11\n")
    assert ingest_service.ingest_file(store, merge, "contacts", rules=IdentityRules(),
                                      now=NOW).merges == 1
    outcomes.link_all(store, now=NOW)
    [opp] = rows(store, "opportunities")
    assert opp["primary_contact_id"] == ids["ann@acme.example"]
    assert [(c["contact_id"], c["is_primary"]) for c in rows(store, "opportunity_contacts")] == [
        (ids["ann@acme.example"], True)]
    assert _links(store) == {ids["ann@acme.example"]: ("sourced", mql)}
