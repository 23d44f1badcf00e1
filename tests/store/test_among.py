"""`among(conn, column, values)` is the applier's `column IN values` (one array parameter
on PostgreSQL, one JSON array through `json_each` on SQLite): it must select exactly the
rows an IN list selects, for integer and text columns, whatever the values look like
(numbers written as text, quotes, non-ASCII, the empty string, duplicates, none)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from mql.records import Account
from mql.store.accounts import among, upsert_accounts
from mql.store.tables import accounts

T = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DOMAINS = ["acme.example", "1", "007", "1.5", "a'b.example", 'q"uote.example',
           "münchen.example", " spaced ", "null", "[1]", "true"]


def _stored(store: Engine) -> dict[str, int]:
    with store.begin() as conn:
        return upsert_accounts(conn, [Account(d, {}) for d in DOMAINS], source="test", now=T)


def _selected(store: Engine, column: sa.Column[object], values: list[object]) -> set[object]:
    with store.connect() as conn:
        return {d for (d,) in conn.execute(sa.select(accounts.c.domain)
                                           .where(among(conn, column, values)))}


def test_among_selects_the_listed_rows_and_no_other(store: Engine) -> None:
    ids = _stored(store)
    assert _selected(store, accounts.c.domain, ["1", "münchen.example", "absent", ""]) == {
        "1", "münchen.example"}
    # text that reads as a number matches only the same text, not the number
    assert _selected(store, accounts.c.domain, ["1.0", "7", "01"]) == set()
    assert _selected(store, accounts.c.id, [ids["007"], ids["007"], 10**12, -1]) == {"007"}
    assert _selected(store, accounts.c.id, []) == set()
    assert _selected(store, accounts.c.domain, []) == set()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, len(DOMAINS) + 3), max_size=30),
       strangers=st.lists(st.text(max_size=8), max_size=5))
def test_among_is_an_in_list(store: Engine, picks: list[int],
                             strangers: list[str]) -> None:
    with store.connect() as conn:
        known = {str(d): int(i) for d, i in conn.execute(
            sa.select(accounts.c.domain, accounts.c.id))}
    if not known:
        known = _stored(store)
    names = [DOMAINS[p] if p < len(DOMAINS) else f"gone{p}.example" for p in picks]
    strangers = [s for s in strangers if "\x00" not in s]  # PostgreSQL text has no NUL
    want = {d for d in names + strangers if d in known}
    assert _selected(store, accounts.c.domain, names + strangers) == want
    numbers = [known[d] if d in known else 10**9 + p for d, p in zip(names, picks,
                                                                      strict=True)]
    assert _selected(store, accounts.c.id, numbers) == {d for d in names if d in known}
