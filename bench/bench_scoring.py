"""Events per second through the streaming core, against recomputing from history.

The core folds each event into its contact's state in O(1). The naive baseline is what
spreadsheets and nightly jobs do: on every event, recompute the contact's score from its
whole history (the same rules, the same model). Both run in this process on the same
events; the ratio is the result that matters.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

from mql.model.parse import parse_model
from mql.records import Account, Contact, Event
from mql.scoring.intent import IntentState
from mql.scoring.scorer import Scorer

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_KINDS = [("page_view", 60), ("email_open", 10), ("email_click", 8), ("content_download", 6),
          ("webinar_attended", 3), ("demo_request", 1), ("trial_signup", 1), ("event_scan", 2),
          ("email_unsubscribe", 1)]
_URLS = ["/pricing", "/security", "/blog/zero-trust", "/product", "/careers", "/docs/architecture"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scoring")
    group.add_argument("--events", type=int, default=300_000,
                       help="events through the streaming core (default 300000)")
    group.add_argument("--contacts", type=int, default=5_000, help="contacts (default 5000)")
    group.add_argument("--naive-events", type=int, default=20_000,
                       help="events through the naive recompute baseline (default 20000)")


def _world(n_events: int, n_contacts: int, seed: int = 7) -> tuple[list[Contact], list[Event]]:
    rng = random.Random(seed)
    contacts = [Contact(f"p{i}@a{i % 500}.example", f"a{i % 500}.example",
                        {"country": "US", "department": "it"}) for i in range(n_contacts)]
    kinds, weights = zip(*_KINDS, strict=True)
    events = []
    for i in range(n_events):
        who = contacts[min(int(rng.paretovariate(1.2)) - 1, n_contacts - 1) if rng.random() < .3
                       else rng.randrange(n_contacts)]
        kind = rng.choices(kinds, weights)[0]
        props: dict[str, Any] = {}
        if kind == "page_view":
            props["url"] = rng.choice(_URLS)
        elif kind == "content_download":
            props["asset_type"] = rng.choice(["comparison", "whitepaper", "ebook"])
        at = T0 + timedelta(seconds=rng.randrange(365 * 86400))
        events.append(Event(f"e{i}", kind, at, contact=who.email, account=who.account,
                            properties=props))
    events.sort(key=lambda e: e.at)
    return contacts, events


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    model = parse_model(files("mql").joinpath("examples/models/b2b-saas.yaml").read_text())
    contacts, events = _world(args.events, args.contacts)
    scorer = Scorer(model)
    for c in contacts:
        scorer.add_contact(c)
    for domain in {c.account for c in contacts if c.account}:
        scorer.add_account(Account(domain, {"employees": 800, "industry": "software"}))

    start = time.perf_counter()
    for e in events:
        scorer.add(e)
    core_seconds = time.perf_counter() - start
    core_rate = len(events) / core_seconds

    end = events[-1].at
    start = time.perf_counter()
    for c in contacts:
        scorer.decide(c.email, end)
    decide_rate = len(contacts) / (time.perf_counter() - start)

    # naive: on every event, rebuild the contact's state from its whole history
    history: dict[str, list[Event]] = {}
    sample = events[: args.naive_events]
    program = scorer.program
    start = time.perf_counter()
    for e in sample:
        assert e.contact is not None
        mine = history.setdefault(e.contact, [])
        mine.append(e)
        state = IntentState.empty()
        for past in mine:
            state = state.add(past, program)
    naive_rate = len(sample) / (time.perf_counter() - start)
    # the naive cost grows with history; report the streaming core on the same prefix too
    prefix = Scorer(model)
    start = time.perf_counter()
    for e in sample:
        prefix.add(e)
    core_prefix_rate = len(sample) / (time.perf_counter() - start)
    return [
        {"bench": "scoring", "metric": "core_update", "value": round(core_rate), "unit": "events/s",
         "events": len(events), "contacts": len(contacts), "target": 100_000},
        {"bench": "scoring", "metric": "decide", "value": round(decide_rate),
         "unit": "contacts/s", "contacts": len(contacts)},
        {"bench": "scoring", "metric": "core_vs_naive_recompute", "value": round(core_prefix_rate),
         "unit": "events/s", "baseline": round(naive_rate),
         "ratio": round(core_prefix_rate / naive_rate, 2), "events": len(sample)},
    ]
