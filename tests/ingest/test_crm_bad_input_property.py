"""Property: a HubSpot contacts export with random optional values, in any encoding and
delimiter, lands every contact with a readable key; every optional field it drops is held
once in quarantine (a kept row); reading the file again adds no quarantine row and leaves
the kept rows open — on SQLite and PostgreSQL (issue 11, "Ingest" with "CRM exports")."""

from __future__ import annotations

import csv
import io
import itertools
import os
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.ingest.files import ReadOptions
from mql.ingest.formats import KEPT
from mql.service.ingest import ingest_file
from mql.store import tables

NOW = datetime(2025, 3, 20, tzinfo=UTC)
RULES = IdentityRules()
HEADER = ["Record ID", "Email", "Company Name", "Country/Region", "Number of Employees",
          "Create Date", "Lifecycle Stage", "Contact owner"]
OPTIONAL = {
    "Country/Region": ["Germany", "usa", "Atlantis", "", "x\x00y"],
    "Number of Employees": ["5000+", "1,001-5,000", "lots", "", "1e400"],
    "Create Date": ["14.03.2025 09:12", "2025-03-14", "31.02.2025", "", "9999-12-31"],
    "Lifecycle Stage": ["lead", "marketingqualifiedlead", "bogus", ""],
    "Contact owner": ["ann", "o" * 400, ""],
}
_counter = itertools.count()
row_strategy = st.tuples(st.booleans(), *(st.sampled_from(v) for v in OPTIONAL.values()))


@settings(max_examples=int(os.environ.get("MQL_BAD_INPUT_EXAMPLES", "12")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(encoding=st.sampled_from(["utf-8", "latin-1", "cp1252", "utf-16"]),
       delimiter=st.sampled_from([",", ";", "\t"]),
       rows=st.lists(row_strategy, min_size=1, max_size=8))
def test_optional_fields_are_held_once_and_every_keyed_contact_lands(
    store: Engine, tmp_path: Path, encoding: str, delimiter: str,
    rows: list[tuple[bool, ...]]
) -> None:
    n = next(_counter)
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(HEADER)
    for i, (good_email, *values) in enumerate(rows):
        email = f"p{n}x{i}@acme.example" if good_email else f"p{n}x{i}@@acme.example"
        writer.writerow([f"{n}{i}", email, "Acme", *values])
    path = tmp_path / f"hs{n}.csv"
    path.write_bytes(text.getvalue().encode(encoding))
    options = ReadOptions(encoding=encoding)

    first = ingest_file(store, path, "contacts", rules=RULES, now=NOW, options=options)
    assert first.mapping == "hubspot"
    assert first.loaded == sum(1 for r in rows if r[0])  # a bad optional value never costs it
    assert first.quarantined == sum(1 for r in rows if not r[0])
    with store.connect() as conn:
        held = conn.execute(sa.select(tables.quarantine.c.row, tables.quarantine.c.field,
                                      tables.quarantine.c.reason, tables.quarantine.c.status)
                            .where(tables.quarantine.c.source == str(path))).all()
    kept = [h for h in held if h.reason.endswith(KEPT)]
    assert len(kept) == first.fields_dropped
    assert len(held) == first.quarantined + first.fields_dropped
    assert all(h.status == "open" for h in held)
    assert len({(h.row, h.field) for h in kept}) == len(kept)  # each dropped field once

    again = ingest_file(store, path, "contacts", rules=RULES, now=NOW, options=options)
    assert (again.fields_dropped, again.quarantined) == (first.fields_dropped,
                                                         first.quarantined)
    assert again.quarantined_before == again.quarantined and again.resolved == 0
    with store.connect() as conn:
        after = conn.execute(sa.select(tables.quarantine.c.row, tables.quarantine.c.field,
                                       tables.quarantine.c.status)
                             .where(tables.quarantine.c.source == str(path))).all()
    assert sorted(after) == sorted((h.row, h.field, h.status) for h in held)
