"""Product usage in the synthetic world (`--usage`, issue 16): opt-in, drawn from its own
generator after everything else, so a world with usage keeps every other row identical
to the same world without it; the usage it adds follows each trial signup and feeds the
shipped PQL definition (three teammates invited within 14 days of signing up)."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from importlib.resources import files
from pathlib import Path

from mql.accounts.journeys import replay
from mql.model.mqa import PRODUCT_EVENTS
from mql.model.parse import parse_model
from mql.service.synth import write_world
from mql.synthetic import World, WorldParameters
from mql.synthetic.usage import SEAT_LIMIT


def _world(usage: bool, dirty: float = 0.0, accounts: int = 60,
           months: int = 6) -> list:  # type: ignore[type-arg]
    params = WorldParameters(accounts=accounts, months=months, dirty=dirty, usage=usage)
    return list(World(params, random.Random(16)).accounts())


def test_usage_leaves_every_other_row_of_the_world_as_it_was() -> None:
    plain, used = _world(False, dirty=0.2), _world(True, dirty=0.2)
    added = 0
    for a, b in zip(plain, used, strict=True):
        assert (a.account, a.contacts, a.opportunities, a.truth, a.consent,
                a.dispositions, a.duplicates, a.malformed) == (
            b.account, b.contacts, b.opportunities, b.truth, b.consent, b.dispositions,
            b.duplicates, b.malformed)
        extra = [e for e in b.clean_events if e.event_id.startswith("pu-")]
        assert [e for e in b.clean_events if not e.event_id.startswith("pu-")] == list(
            a.clean_events)
        assert [r for r in b.events if getattr(r, "event_id", "").startswith("pu-")
                ] == extra  # the delivered file carries the same usage rows
        assert [r for r in b.events if not getattr(r, "event_id", "").startswith("pu-")
                ] == list(a.events)
        assert [e.at for e in b.clean_events] == sorted(e.at for e in b.clean_events)
        added += len(extra)
    assert added > 0


def test_usage_follows_each_trial_signup_of_a_contact() -> None:
    for s in _world(True):
        signups = {}
        for e in s.clean_events:
            if e.type == "trial_signup" and e.contact is not None:
                signups.setdefault(e.contact, e.at)
        usage = [e for e in s.clean_events if e.event_id.startswith("pu-")]
        assert {e.contact for e in usage} <= set(signups)
        assert {e.type for e in usage} <= set(PRODUCT_EVENTS)
        for e in usage:
            assert e.account == s.account.domain and e.at > signups[e.contact]
            assert e.at - signups[e.contact] < timedelta(days=15)
        assert {e.contact for e in usage if e.type == "signed_up"} == {
            e.contact for e in usage}  # each user signs up once, first
        for who in {e.contact for e in usage}:
            seats = [e.properties["seats"] for e in usage
                     if e.contact == who and e.type == "teammate_invited"]
            assert seats == list(range(2, 2 + len(seats)))
            limits = [e for e in usage if e.contact == who and e.type == "limit_reached"]
            assert len(limits) == (1 if len(seats) >= SEAT_LIMIT - 1 else 0)


def test_usage_feeds_the_shipped_pql_definition() -> None:
    """The example model has no `accounts:` section: `DEFAULT_PQL` applies, whose
    team_formed milestone counts teammate invites after `signed_up`: without usage no
    account reaches it, with usage some do, and every PQL of the plain world is kept."""
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    model = parse_model(text, source="b2b-saas.yaml")

    def pqls(slices: list) -> dict[str, int]:  # type: ignore[type-arg]
        return {s.account.domain: sum(1 for q in replay(
            model, s.account, s.contacts, s.clean_events).qualifications if q.kind == "pql")
            for s in slices}

    plain = pqls(_world(False, accounts=200, months=12))
    used = pqls(_world(True, accounts=200, months=12))
    assert all(used[d] >= n for d, n in plain.items())
    assert sum(used.values()) > sum(plain.values())


def test_mql_synth_usage_writes_it_and_says_so(tmp_path: Path) -> None:
    write_world(tmp_path / "a", accounts=20, months=4, seed=3)
    write_world(tmp_path / "b", accounts=20, months=4, seed=3, usage=True)
    a = (tmp_path / "a" / "events.csv").read_text().splitlines()
    b = (tmp_path / "b" / "events.csv").read_text().splitlines()
    assert [line for line in b if ",pu-" not in line and not line.startswith("pu-")] == a
    assert len(b) > len(a)
    assert json.loads((tmp_path / "b" / "world.json").read_text())["parameters"]["usage"]
    assert "usage" not in json.loads((tmp_path / "a" / "world.json").read_text())["parameters"]
    for name in ("contacts.csv", "opportunities.csv", "accounts.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
