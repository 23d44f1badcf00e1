"""`GET /v1/leads` filtered by stored lifecycle facts (stage, owner, account, qualified
since) decides only the contacts those facts keep: the pages are the same as deciding
every contact and filtering after, over a simulated world."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mql.model.spec import TOTAL
from mql.scoring.qualify import Decision
from mql.service.api_reads import lead_page
from mql.service.demo import DemoReport, run_demo
from mql.service.scores import list_scores
from mql.service.store import init_workspace
from mql.store import handoff as handoff_store
from mql.store.db import connect


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, DemoReport]]:
    folder: Path = tmp_path_factory.mktemp("leads")
    engine = connect(init_workspace(folder, now=datetime(2025, 1, 1, tzinfo=UTC)).database_url)
    report = run_demo(engine, accounts=40, months=2, seed=7)
    try:
        yield engine, report
    finally:
        engine.dispose()


def _reference(engine: Engine, at: datetime, **filters: object) -> list[Decision]:
    """The old definition: every contact decided, then kept by its stored facts."""
    with engine.connect() as conn:
        facts = handoff_store.lead_facts(conn)
    blank = handoff_store.LeadFacts(None, None, None, None)
    out = []
    for d in list_scores(engine, at=at):
        f = facts.get(d.contact, blank)
        if "stage" in filters and (f.stage or "captured") != filters["stage"]:
            continue
        if "owner" in filters and f.owner != filters["owner"]:
            continue
        if "account" in filters and f.account != filters["account"]:
            continue
        since = filters.get("qualified_since")
        if isinstance(since, datetime) and not (
                f.stage == "mql" and f.since is not None and f.since >= since):
            continue
        out.append(d)
    return out


def _all_pages(engine: Engine, at: datetime, limit: int, **filters: object) -> list[Decision]:
    got: list[Decision] = []
    page = lead_page(engine, at=at, limit=limit, **filters)  # type: ignore[arg-type]
    got += page.items
    while page.next_cursor:
        page = lead_page(engine, at=at, limit=limit, cursor=page.next_cursor,
                         **filters)  # type: ignore[arg-type]
        got += page.items
    return got


def test_filtered_pages_equal_deciding_everyone_then_filtering(
        world: tuple[Engine, DemoReport]) -> None:
    engine, report = world
    at = report.end
    with engine.connect() as conn:
        facts = handoff_store.lead_facts(conn)
    stages = sorted({f.stage or "captured" for f in facts.values()})
    owners = sorted({f.owner for f in facts.values() if f.owner})
    accounts = sorted({f.account for f in facts.values() if f.account})
    assert {"captured", "sal"} <= set(stages) and owners and accounts
    cases: list[dict[str, object]] = [{"stage": s} for s in stages]
    cases += [{"owner": owners[0]}, {"account": accounts[0]}, {"stage": "sal",
                                                              "owner": owners[-1]},
              {"qualified_since": report.start}, {"owner": "nobody@example.com"}]
    for filters in cases:
        want = _reference(engine, at, **filters)
        got = _all_pages(engine, at, 7, **filters)
        assert [(d.contact, d.scores[TOTAL], d.mql) for d in got] == [
            (d.contact, d.scores[TOTAL], d.mql) for d in want], filters
    # a seller's own leads in stage SAL, one at a time through cursors
    first = _all_pages(engine, at, 1, stage="sal")
    assert len(first) == sum(1 for f in facts.values() if f.stage == "sal")
