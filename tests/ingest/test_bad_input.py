"""Bad input costs its own row, never the file, on SQLite and PostgreSQL alike (issue 11):
undecodable bytes, oversized values, corrupt Parquet, values the database would refuse,
wrong headers and delimiters, bad emails, impossible times; quarantine rows are stored
once, dismissable, and resolved by a later corrected row."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mql.errors import ConfigError
from mql.identity.merge import IdentityRules
from mql.ingest.files import ReadOptions
from mql.ingest.formats import EVENT_COLUMNS
from mql.service.ingest import ingest_file, ingest_messages
from mql.service.scoring import Inputs, load_model_file, score_files
from mql.service.store import dismiss_quarantined, quarantined
from mql.store import tables
from tests.store.oracle import event_count

NOW = datetime(2026, 3, 30, tzinfo=UTC)
RULES = IdentityRules()
MODEL = Path(__file__).parents[2] / "src/mql/examples/models/b2b-saas.yaml"
HEADER = ",".join(EVENT_COLUMNS) + "\n"


def _line(n: int, *, email: str = "jane@acme.com", event_id: str | None = None,
          timestamp: str = "2026-03-02T10:00:00Z", kind: str = "page_view") -> str:
    return f"{event_id or f'e{n}'},{kind},{timestamp},{email},,,\n"


def _ids(store: Engine) -> set[str]:
    with store.connect() as conn:
        return set(conn.execute(sa.select(tables.events.c.event_id)).scalars())


def _quarantine_rows(store: Engine) -> int:
    with store.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(
            tables.quarantine)).scalar_one())


def test_a_latin1_file_quarantines_only_its_undecodable_row_and_reruns_cleanly(
    store: Engine, tmp_path: Path
) -> None:
    # on the old main: UnicodeDecodeError after 2,000 committed rows; the rest never landed
    lines = [_line(n) for n in range(2500)]
    lines[2100] = _line(2100, email="jos\xe9@acme.com")
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "".join(lines)).encode("latin-1"))
    offset = len((HEADER + "".join(lines[:2100])).encode("latin-1")) + len("e2100,page_view,"
                                                                         "2026-03-02T10:00:00Z,jos")
    summary = ingest_file(store, path, "events", rules=RULES, now=NOW)
    assert (summary.rows, summary.loaded, summary.quarantined) == (2500, 2499, 1)
    assert _ids(store) == {f"e{n}" for n in range(2500)} - {"e2100"}
    [held] = quarantined(store)
    assert (held.source, held.row, held.field) == (str(path), 2102, "email")
    assert f"byte 0xe9 at byte offset {offset:,}" in held.reason and "--encoding" in held.reason
    again = ingest_file(store, path, "events", rules=RULES, now=NOW)
    assert (again.loaded, again.duplicates, again.quarantined) == (0, 2499, 1)
    assert again.quarantined_before == 1 and _quarantine_rows(store) == 1
    fixed = ingest_file(store, path, "events", rules=RULES, now=NOW,
                        options=ReadOptions(encoding="latin-1"))
    assert (fixed.loaded, fixed.quarantined, fixed.resolved) == (1, 0, 1)
    assert quarantined(store) == []  # the corrected row resolved it
    [done] = quarantined(store, status="resolved")
    assert done.id == held.id and "landed" in (done.note or "")


def test_score_reads_a_latin1_file_without_crashing_and_with_encoding_reads_it_all(
    tmp_path: Path
) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_bytes("email,first_name\njane@acme.com,Jos\xe9\nbob@acme.com,Bob\n"
                         .encode("latin-1"))
    model = load_model_file(MODEL)
    run = score_files(model, Inputs(contacts, None, None), at=NOW)
    assert [d.contact for d in run.decisions] == ["bob@acme.com"]
    [bad] = run.rejected
    assert (bad.row, bad.error.field) == (2, "first_name") and "0xe9" in bad.error.reason
    latin = score_files(model, Inputs(contacts, None, None, ReadOptions("latin-1")), at=NOW)
    assert len(latin.decisions) == 2 and latin.rejected == []


def test_oversized_values_quarantine_their_row_in_csv_and_jsonl(store: Engine,
                                                                 tmp_path: Path) -> None:
    # old main: `_csv.Error: field larger than field limit` lost the CSV; JSONL stored 1 MB
    big = "x" * (200 * 1024)
    csv_path = tmp_path / "big.csv"
    csv_path.write_text(HEADER + _line(1) + f'e2,page_view,2026-03-02T10:00Z,jane@acme.com,,,'
                        f'"{{""note"": ""{big}""}}"\n' + _line(3))
    jsonl = tmp_path / "big.jsonl"
    rows = [{"event_id": "j1", "type": "page_view", "timestamp": "2026-03-02T10:00Z",
             "email": "jane@acme.com", "properties": {"note": "y" * 1_048_576}},
            {"event_id": "j2", "type": "page_view", "timestamp": "2026-03-02T10:00Z",
             "email": "jane@acme.com"}]
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for path in (csv_path, jsonl):
        assert ingest_file(store, path, "events", rules=RULES, now=NOW).quarantined == 1
    assert _ids(store) == {"e1", "e3", "j2"}
    held = quarantined(store)
    assert [(q.row, q.field) for q in held] == [(3, "properties"), (1, "properties")]
    assert all("over the limit of 131,072 bytes" in q.reason for q in held)
    assert all(len(q.raw) < 3000 for q in held)  # the stored raw row is cut, not 1 MB
    small = ReadOptions(max_field_bytes=10)
    assert ingest_file(store, csv_path, "events", rules=RULES, now=NOW, options=small,
                       source="again").quarantined == 3  # the limit is configurable


@pytest.mark.parametrize("content", [b"", b"PAR1 this is not parquet at all"])
def test_an_empty_or_corrupt_parquet_file_is_a_clear_error_in_ingest_and_score(
    store: Engine, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "events.parquet"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=f"{path}: .*(empty|not a readable Parquet)"):
        ingest_file(store, path, "events", rules=RULES, now=NOW)
    contacts = tmp_path / "c.csv"
    contacts.write_text("email\njane@acme.com\n")
    with pytest.raises(ConfigError, match="Parquet"):
        score_files(load_model_file(MODEL), Inputs(contacts, None, path), at=NOW)


def test_values_the_database_would_refuse_cost_only_their_row_on_both_backends(
    store: Engine, tmp_path: Path
) -> None:
    # old main on PostgreSQL: StringDataRightTruncation / UntranslatableCharacter aborted
    # the file; SQLite stored both
    path = tmp_path / "events.jsonl"
    rows = [
        {"event_id": "ok1", "type": "page_view", "timestamp": "2026-03-02T10:00Z",
         "email": "jane@acme.com"},
        {"event_id": "x" * 303, "type": "page_view", "timestamp": "2026-03-02T10:00Z",
         "email": "jane@acme.com"},
        {"event_id": "nul", "type": "page_view", "timestamp": "2026-03-02T10:00Z",
         "email": "jane@acme.com", "properties": {"q": "a\x00b"}},
        {"event_id": "nan", "type": "page_view", "timestamp": "2026-03-02T10:00Z",
         "email": "jane@acme.com", "properties": {"score": float("nan")}},
        {"event_id": "anon", "type": "page_view", "timestamp": "2026-03-02T10:00Z",
         "anonymous_id": "c\x00ookie"},
        {"event_id": "ok2", "type": "page_view", "timestamp": "2026-03-03T10:00Z",
         "email": "jane@acme.com"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = ingest_file(store, path, "events", rules=RULES, now=NOW)
    assert (summary.loaded, summary.quarantined) == (2, 4)
    assert _ids(store) == {"ok1", "ok2"}
    held = quarantined(store)
    assert [(q.row, q.field) for q in held] == [
        (2, "event_id"), (3, "properties"), (4, "properties"), (5, "anonymous_id")]
    assert "303 characters long; at most 200" in held[0].reason
    assert "NUL" in held[1].reason and "finite" in held[2].reason
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(f"email,owner\njane@acme.com,{'o' * 400}\nbob@acme.com,ann\n")
    # an optional field the store cannot keep costs only the field: the row lands without it
    summary = ingest_file(store, contacts, "contacts", rules=RULES, now=NOW)
    assert (summary.loaded, summary.quarantined, summary.fields_dropped) == (2, 0, 1)
    kept = [q for q in quarantined(store) if q.kind == "contacts"]
    assert [(q.row, q.field) for q in kept] == [(2, "owner")]
    assert "at most 320" in kept[0].reason and "the row was kept" in kept[0].reason


def test_a_semicolon_file_is_read_with_its_delimiter(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("event_id;type;timestamp;email\ns1;page_view;2026-03-02T10:00Z;a@acme.com\n"
                    "s2;demo_request;2026-03-03T10:00Z;a@acme.com\n")
    summary = ingest_file(store, path, "events", rules=RULES, now=NOW)
    assert (summary.loaded, summary.quarantined) == (2, 0)
    assert summary.notes == ["read with the delimiter ';'"]


def test_a_header_without_a_required_column_is_refused_before_any_row(
    store: Engine, tmp_path: Path
) -> None:
    # old main: every row quarantined as "email: is empty", exit 0
    path = tmp_path / "contacts.csv"
    path.write_text("Mail,Name\njane@acme.com,Jane\n")
    with pytest.raises(ConfigError) as caught:
        ingest_file(store, path, "contacts", rules=RULES, now=NOW)
    assert "none of the columns 'email'" in str(caught.value)
    assert "the header has 'Mail', 'Name'" in str(caught.value)
    events = tmp_path / "events.csv"
    events.write_text("event_id,type,email\ne1,page_view,a@acme.com\n")
    with pytest.raises(ConfigError, match=r"no column 'timestamp' \(required for events\)"):
        ingest_file(store, events, "events", rules=RULES, now=NOW)
    cased = tmp_path / "cased.csv"
    cased.write_text("Email,Title\njane@acme.com,CTO\n")
    with pytest.raises(ConfigError, match="'Email' differs only in case"):
        ingest_file(store, cased, "contacts", rules=RULES, now=NOW, mapping="mql")
    assert _quarantine_rows(store) == 0 and event_count(store) == (0, 0)
    hubspot = tmp_path / "hubspot.csv"  # a mapped header passes the check
    hubspot.write_text("Record ID,Email,Lifecycle Stage\n51,jane@acme.com,Lead\n")
    assert ingest_file(store, hubspot, "contacts", rules=RULES, now=NOW).loaded == 1


def test_a_malformed_email_is_quarantined(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("email\na@b@acme.example\njane@acme.example\n")
    summary = ingest_file(store, path, "contacts", rules=RULES, now=NOW)
    assert (summary.loaded, summary.quarantined) == (1, 1)
    [held] = quarantined(store)
    assert held.field == "email" and "is not an email address" in held.reason


@pytest.mark.parametrize(("stamp", "why"), [
    ("2030-01-01T00:00:00Z", "days after it was received"),
    ("1900-06-01T00:00:00Z", "before 1990-01-01"),
    ("9999-12-31T23:59:59-05:00", "outside the years 1900 to 2199"),
    ("0001-01-01T00:00:00+05:00", "outside the years 1900 to 2199"),
])
def test_events_far_in_the_future_or_past_are_quarantined_with_the_reason(
    store: Engine, tmp_path: Path, stamp: str, why: str
) -> None:
    # old main: 2030 moved the scoring clock years ahead; 9999-12-31T23:59:59-05:00 raised
    # OverflowError and lost the batch
    path = tmp_path / "events.csv"
    path.write_text(HEADER + _line(1) + _line(2, kind="demo_request", timestamp=stamp)
                    + _line(3))
    summary = ingest_file(store, path, "events", rules=RULES, now=NOW)
    assert (summary.loaded, summary.quarantined) == (2, 1)
    [held] = quarantined(store)
    assert held.field == "timestamp" and why in held.reason
    run = score_files(load_model_file(MODEL), Inputs(_contacts(tmp_path), None, path), at=NOW)
    assert len(run.rejected) == (0 if why.endswith("received") else 1)  # no crash either


def _contacts(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text("email\njane@acme.com\n")
    return path


def test_the_future_skew_is_configurable(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(HEADER + _line(1, timestamp="2026-03-30T20:00:00Z"))
    tight = ingest_file(store, path, "events", rules=RULES, now=NOW,
                        future_skew=timedelta(hours=1))
    assert tight.quarantined == 1 and "at most 1 hours ahead" in quarantined(store)[0].reason
    assert ingest_file(store, path, "events", rules=RULES, now=NOW, source="x").loaded == 1


def test_segment_messages_with_times_beyond_the_calendar_are_quarantined_not_500(
    store: Engine
) -> None:
    def track(mid: str, stamp: str) -> dict[str, str]:
        return {"type": "track", "messageId": mid, "userId": "jane@acme.com",
                "event": "Demo Requested", "timestamp": stamp}

    summary = ingest_messages(store, [track("m1", "2026-03-02T10:00Z"),
                                      track("m2", "9999-12-31T23:59:59-05:00"),
                                      track("m3", "0001-01-01T00:00:00+05:00"),
                                      track("m4", "2031-01-01T00:00Z")], rules=RULES, now=NOW)
    assert (summary.loaded, summary.quarantined) == (1, 3)
    assert [q.field for q in quarantined(store)] == ["timestamp"] * 3


def test_quarantine_rows_can_be_dismissed_with_a_reason(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("email\nnot-an-email\nalso bad\nok@acme.com\n")
    ingest_file(store, path, "contacts", rules=RULES, now=NOW)
    first, second = quarantined(store)
    assert dismiss_quarantined(store, ids=[first.id], note="test data", now=NOW) == 1
    assert [q.id for q in quarantined(store)] == [second.id]
    assert dismiss_quarantined(store, source=str(path), note="old export", now=NOW) == 1
    assert quarantined(store) == []
    notes = {q.id: q.note for q in quarantined(store, status="dismissed")}
    assert notes == {first.id: "test data", second.id: "old export"}
    ingest_file(store, path, "contacts", rules=RULES, now=NOW, source="again")
    assert quarantined(store) == []  # a dismissed row does not come back


def test_a_corrected_contact_row_resolves_its_quarantined_row(store: Engine,
                                                              tmp_path: Path) -> None:
    bad = tmp_path / "contacts.csv"
    bad.write_text("email,employees\njane@acme.com,lots\n")
    # the row lands without its unreadable optional field, which is held (crm branch)
    summary = ingest_file(store, bad, "contacts", rules=RULES, now=NOW)
    assert (summary.loaded, summary.quarantined, summary.fields_dropped) == (1, 0, 1)
    [held] = quarantined(store)
    assert held.field == "employees" and "the row was kept" in held.reason
    again = ingest_file(store, bad, "contacts", rules=RULES, now=NOW, source="x")
    assert again.resolved == 0 and len(quarantined(store)) == 1  # held once, still open
    fixed = tmp_path / "fixed.csv"
    fixed.write_text("email,employees\nJane@Acme.com,120\n")
    assert ingest_file(store, fixed, "contacts", rules=RULES, now=NOW).resolved == 1
    assert quarantined(store) == []


def test_progress_reports_rows_and_bytes_against_the_file_size(store: Engine,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(HEADER + "".join(_line(n) for n in range(2500)))
    seen: list[tuple[int, int, int | None]] = []
    ingest_file(store, path, "events", rules=RULES, now=NOW, batch_size=1000,
                progress=lambda rows, done, total: seen.append((rows, done, total)))
    size = path.stat().st_size
    assert [rows for rows, _, _ in seen] == [1000, 2000, 2500]
    assert {total for _, _, total in seen} == {size} and seen[-1][1] == size
    assert [done for _, done, _ in seen] == sorted(done for _, done, _ in seen)
    table = tmp_path / "events.parquet"
    pq.write_table(pa.Table.from_pylist([{"event_id": f"q{n}", "type": "page_view",
                                          "timestamp": "2026-03-02T10:00Z",
                                          "email": "jane@acme.com"} for n in range(30)]), table)
    rows_seen: list[tuple[int, int, int | None]] = []
    ingest_file(store, table, "events", rules=RULES, now=NOW, batch_size=20,
                progress=lambda rows, done, total: rows_seen.append((rows, done, total)))
    assert rows_seen == [(20, 20, 30), (30, 30, 30)]


def test_mql_score_on_a_latin1_file_reports_the_row_instead_of_a_traceback(
    tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from mql.cli.main import app

    contacts = tmp_path / "contacts.csv"
    contacts.write_bytes("email,first_name\njane@acme.com,Jos\xe9\nbob@acme.com,Bob\n"
                         .encode("latin-1"))
    runner = CliRunner(env={"COLUMNS": "200"})
    args = ["score", "--model", str(MODEL), "--contacts", str(contacts), "--format", "csv"]
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0 and plain.exception is None
    assert "bob@acme.com" in plain.output and "jane@acme.com" not in plain.stdout
    latin = runner.invoke(app, [*args, "--encoding", "latin-1"])
    assert latin.exit_code == 0 and "jane@acme.com" in latin.stdout


def test_parquet_values_that_cannot_be_converted_cost_only_their_row(
    store: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "events.parquet"
    at = int(datetime(2026, 3, 2, 10, tzinfo=UTC).timestamp() * 1e6)
    stamps = pa.array([at, 2**62, at, at], type=pa.int64())  # row 2: beyond the year 9999
    pq.write_table(pa.table({
        "event_id": ["p1", "p2", "p3", "p4"], "type": ["page_view"] * 4,
        "email": ["jane@acme.com"] * 4,
        "timestamp": stamps.cast(pa.timestamp("us", tz="UTC")),
        "amount": pa.array([1, 2, 3, 4], type=pa.decimal128(10, 2)),
        "note": pa.array([b"ok", b"ok", b"\xff", b"ok"])}), path)  # row 3: not UTF-8
    summary = ingest_file(store, path, "events", rules=RULES, now=NOW)
    assert (summary.loaded, summary.quarantined) == (2, 2)
    assert [(q.row, q.field) for q in quarantined(store)] == [(2, "timestamp"), (3, "note")]


def test_a_json_array_file_is_refused_with_the_fix(store: Engine, tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text('[\n  {"event_id": "a1", "type": "page_view"}\n]\n')
    with pytest.raises(ConfigError, match="JSON array; mql reads JSON Lines"):
        ingest_file(store, path, "events", rules=RULES, now=NOW)


def test_numbers_in_text_columns_are_stored_as_text_on_both_backends(
    store: Engine, tmp_path: Path
) -> None:
    # PostgreSQL refuses an integer for a text column where SQLite stores it
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_text('{"domain": "acme.com", "name": 1234}\n')
    contacts = tmp_path / "contacts.jsonl"
    contacts.write_text('{"email": "jane@acme.com", "owner": 42, "lifecycle_stage": 7}\n')
    assert ingest_file(store, accounts, "accounts", rules=RULES, now=NOW).loaded == 1
    assert ingest_file(store, contacts, "contacts", rules=RULES, now=NOW).loaded == 1
    with store.connect() as conn:
        assert conn.execute(sa.select(tables.accounts.c.name)).scalar_one() == "1234"
        assert conn.execute(sa.select(tables.contacts.c.owner)).scalar_one() == "42"


@pytest.mark.parametrize("fields", [
    {"timestamp": "9999-12-31T23:59:59-05:00"},
    {"timestamp": "0001-01-01T00:00:00+05:00"},
    {"timestamp": "2199-12-31T00:00Z", "sentAt": "1950-01-01T00:00Z",
     "receivedAt": "2026-03-02T00:00Z"},  # the clock-skew correction leaves the calendar
    # epoch milliseconds at both ends of what they may be: the correction leaves every
    # datetime (before: OverflowError, and a file ingest lost its whole batch)
    {"timestamp": 253402300799000, "sentAt": 0, "receivedAt": 253402300799000},
    {"timestamp": 0, "sentAt": 253402300799000, "receivedAt": 0},
])
def test_segment_times_beyond_the_calendar_are_input_errors_for_the_api(
    fields: dict[str, object]
) -> None:
    # old main: OverflowError, so /v1/batch answered 500 for the whole batch
    from mql.errors import InputError
    from mql.ingest.segment import parse_message

    message = {"type": "track", "messageId": "m1", "anonymousId": "a1", "event": "Demo",
               **fields}
    with pytest.raises(InputError, match="outside the years 1900 to 2199") as caught:
        parse_message(message, source="http", row=1)
    assert caught.value.field == "timestamp"


def test_a_number_beyond_any_float_in_an_event_scores_as_no_value_without_crashing(
    tmp_path: Path
) -> None:
    # before: float(10**400) raised OverflowError inside the fold and lost the whole run
    model_path = tmp_path / "m.yaml"
    model_path.write_text(
        "name: huge\n"
        "fit:\n  rules:\n"
        "    - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}\n"
        "intent:\n  decay: {half_life_days: 30}\n  rules:\n"
        "    - {name: reading, event: page_view, sum: seconds, at_least: 600,"
        " within_days: 30, points: 15}\n"
        "    - {name: dwell, event: page_view, avg: seconds, at_least: 60,"
        " within_days: 30, points: 5}\n"
        "mql:\n  thresholds: {total: 30}\n")
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("email\njane@acme.com\nbob@acme.com\n")
    huge = "9" * 400  # a JSON integer Python reads exactly, beyond any float

    def row(n: int, email: str, seconds: str) -> str:
        return (f'{{"event_id": "e{n}", "type": "page_view", "timestamp": '
                f'"2026-03-29T1{n}:00:00Z", "email": "{email}", '
                f'"properties": {{"seconds": {seconds}}}}}\n')

    def intents(*rows: str) -> dict[str, float]:
        events = tmp_path / "events.jsonl"
        events.write_text("".join(rows))
        run = score_files(load_model_file(model_path), Inputs(contacts, None, events), at=NOW)
        assert run.rejected == []
        return {d.contact: d.intent for d in run.decisions}

    with_huge = intents(row(1, "jane@acme.com", huge), row(2, "jane@acme.com", "700"),
                        row(3, "bob@acme.com", f"-{huge}"))
    without = intents(row(2, "jane@acme.com", "700"))
    # the huge value adds nothing to the sum (as "inf" does) and is left out of the average:
    # jane scores as if it were not there (sum 700 >= 600, average 700 >= 60), bob gets nothing
    assert with_huge["jane@acme.com"] == without["jane@acme.com"] > 19
    assert with_huge["bob@acme.com"] == 0
