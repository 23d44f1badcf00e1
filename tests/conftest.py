"""Shared factories: models from text, contacts, accounts and events at fixed times."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import Phase, settings

from mql.model.parse import parse_model
from mql.model.spec import Model
from mql.records import Account, Contact, Event

pytest_plugins = ["tests.postgres"]

# `make mutate` runs the tests once per mutant: the same examples every time (a mutant is
# killed by the tests, not by a lucky draw) and at most MUTATE_EXAMPLES of them, also
# where a test asks for more (a mutant that survives runs every test that reaches it:
# 150 drawn histories per property made a package take hours); the spec-value tests are
# what must kill a mutant, the properties only add to them
MUTATE_EXAMPLES = 10
# no shrinking: a failing example kills the mutant as it is, and shrinking it took a
# minute of CPU per kill (reported as a timeout by mutmut's CPU limit)
MUTATE_PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
settings.register_profile("mutate", derandomize=True, database=None,
                          max_examples=MUTATE_EXAMPLES, phases=MUTATE_PHASES)


# module-level memo dicts of the core packages (filled on first use, keyed by id() of a
# model part): cleared with the lru_caches, or a mutant reads what the clean code put there
MEMOS = {"mql.accounts.roles": ("_GUESSES", "_PREDICATES"),
         "mql.scoring.intent": ("_TERMS", "_PLANS")}


def _clear_caches() -> None:
    for name, module in list(sys.modules.items()):
        if name == "mql" or name.startswith("mql."):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()
            for memo in MEMOS.get(name, ()):
                getattr(module, memo).clear()


def pytest_runtest_setup(item: pytest.Item) -> None:
    # mutmut maps a function to the tests that call it (its "stats" run): a cached
    # function (compile_condition, email_key ...) answering from an earlier test's call
    # would hide that this test reaches it. In that run every test starts with empty caches.
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        _clear_caches()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("hypothesis_profile", None) != "mutate":
        return
    # mutmut forks each mutant's run from a process that ran the clean tests: its caches
    # would answer with the clean code
    _clear_caches()
    for item in items:
        test = getattr(item, "obj", None)
        chosen = getattr(test, "_hypothesis_internal_use_settings", None)
        if isinstance(chosen, settings) and chosen.max_examples > MUTATE_EXAMPLES:
            test._hypothesis_internal_use_settings = settings(  # type: ignore[union-attr]
                chosen, max_examples=MUTATE_EXAMPLES, derandomize=True, database=None,
                phases=MUTATE_PHASES)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def example_model() -> Model:
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    return parse_model(text, source="b2b-saas.yaml")


def event(
    kind: str,
    days_ago: float = 0.0,
    *,
    contact: str | None = "jane@acme.example",
    account: str | None = None,
    now: datetime = T0,
    event_id: str | None = None,
    **properties: Any,
) -> Event:
    at = now - timedelta(days=days_ago)
    ident = event_id or f"{kind}-{contact}-{account}-{at.isoformat()}-{sorted(properties.items())}"
    return Event(ident, kind, at, contact=contact, account=account, properties=properties)


def contact(email: str = "jane@acme.example", **attributes: Any) -> Contact:
    domain = email.rsplit("@", 1)[1]
    return Contact(email, attributes.pop("account", domain), attributes)


def account(domain: str = "acme.example", **attributes: Any) -> Account:
    return Account(domain, attributes)
