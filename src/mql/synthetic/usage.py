"""Product usage after a trial signup (opt-in: `WorldParameters.usage`, `mql synth
--usage`): the product's own telemetry for each contact who signed up for a trial — the
account created (`signed_up`), a workspace, active days, features used, an integration,
teammates invited (seats) and the trial's seat limit reached.

The stream is drawn from its own generator (`child(f"{token}:{index}:usage")`) and only
reads the account's finished events, so a world with usage keeps every other event,
contact, opportunity and truth row identical to the same world without it; its event ids
are in their own namespace (`pu-...`). A signup while the account is evaluating or
deciding is used more (more active days, invites, features) than one from a browsing
account.

>>> import random
>>> from datetime import UTC, datetime, timedelta
>>> from mql.records import Event
>>> t0 = datetime(2025, 1, 1, tzinfo=UTC)
>>> signup = Event("e1", "trial_signup", t0 + timedelta(days=3), contact="a@x.example",
...                account="x.example", properties={"product": "analytics"})
>>> got = usage(random.Random(1), [signup], ("evaluation",) * 10, t0, t0 + timedelta(weeks=10),
...             prefix="pu-1-0-")
>>> got[0].type, got[0].contact, got[0].event_id, got[0].at - signup.at
('signed_up', 'a@x.example', 'pu-1-0-0', datetime.timedelta(seconds=60))
>>> all(e.at > signup.at for e in got) and got == sorted(got, key=lambda e: e.at)
True
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from mql.records import Event
from mql.synthetic.draws import chance, one_of

# how much a signup is used, by the account's hidden stage the week it signed up
STRENGTH = {"evaluation": 1.0, "decision": 1.0, "customer": 0.8, "consideration": 0.6,
            "awareness": 0.35}
TRIAL_DAYS = 14
FEATURES = ("dashboards", "alerts", "api", "sso", "exports")
INTEGRATIONS = ("salesforce", "hubspot", "slack", "snowflake", "okta")
SEAT_LIMIT = 4  # seats of a trial workspace: the signer and three teammates


def usage(rng: random.Random, events: Iterable[Event], stages: Sequence[str],
          start: datetime, end: datetime, *, prefix: str) -> list[Event]:
    """The usage events of every contact's first trial signup among `events`, sorted by
    time (ties in draw order), before `end`; ids `prefix` + a counter."""
    drawn: list[tuple[datetime, str, dict[str, Any], Event]] = []
    seen: set[str] = set()
    for e in events:
        if e.type != "trial_signup" or e.contact is None or e.contact in seen:
            continue
        seen.add(e.contact)
        week = min(max((e.at - start).days // 7, 0), len(stages) - 1) if stages else 0
        strength = STRENGTH.get(stages[week] if stages else "", 0.2)
        t = e.at

        def add(at: datetime, kind: str, props: dict[str, Any], src: Event = e) -> None:
            drawn.append((at, kind, {"product": src.properties.get("product"), **props}, src))

        add(t + timedelta(minutes=1), "signed_up", {"plan": "trial"})
        if chance(rng, 0.6 + 0.3 * strength):
            add(t + timedelta(minutes=5 + rng.random() * 55), "workspace_created", {})
        for day in range(1, TRIAL_DAYS):
            if chance(rng, 0.1 + 0.5 * strength):
                add(t + timedelta(days=day, hours=rng.random() * 8), "usage_milestone",
                    {"milestone": "active_day", "day": day})
        for feature in FEATURES:
            if chance(rng, 0.15 + 0.45 * strength):
                add(t + timedelta(hours=1 + rng.random() * 24 * 10), "usage_milestone",
                    {"milestone": "feature_used", "feature": feature})
        if chance(rng, 0.1 + 0.4 * strength):
            add(t + timedelta(hours=2 + rng.random() * 24 * 7), "integration_connected",
                {"integration": one_of(rng, INTEGRATIONS)})
        invites: list[datetime] = []
        while len(invites) < 6 and chance(rng, 0.2 + 0.5 * strength):
            invites.append(t + timedelta(hours=1 + rng.random() * 24 * TRIAL_DAYS))
        for seats, at in enumerate(sorted(invites), start=2):
            add(at, "teammate_invited", {"seats": seats})
            if seats == SEAT_LIMIT:
                add(at + timedelta(minutes=1), "limit_reached",
                    {"limit": "seats", "seats": SEAT_LIMIT})
    drawn = [d for d in drawn if d[0] < end]
    order = sorted(range(len(drawn)), key=lambda i: (drawn[i][0], i))
    return [Event(f"{prefix}{n}", drawn[i][1], drawn[i][0], contact=drawn[i][3].contact,
                  account=drawn[i][3].account, properties=drawn[i][2])
            for n, i in enumerate(order)]
