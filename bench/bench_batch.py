"""Full rescore with the batch engine: events per second for DuckDB, against a hand-written
DuckDB query of the same decayed, capped sums (the practical ceiling) and the streaming
core replaying every event (the naive baseline), in the same run; Spark local[2] on the same
world, and with --batch-growth on each growth world beside DuckDB (`spark_growth`).

The world: `mql synth` (Parquet) tiled N times with renamed ids, emails and domains, so a
larger world is many copies of a realistic one (same mix of events, duplicates included).

    python -m bench --only batch                              # 1M events
    python -m bench --only batch --batch-events 10000000 --batch-growth
    python -m bench --only batch --large                      # 100M events, growth 1M..100M
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from mql.batch.asof import AsOf
from mql.batch.compile import to_sql
from mql.batch.duckdb import DuckDBEngine
from mql.batch.engines import Inputs, connect
from mql.errors import ConfigError
from mql.identity.match import is_free_mail
from mql.ingest.files import Kind
from mql.ingest.mapping import RecordFile, load
from mql.model.parse import parse_model
from mql.model.spec import IntentRule, Model
from mql.scoring.scorer import Scorer
from mql.service.synth import write_world

MODEL = Path(__file__).parents[1] / "examples" / "models" / "b2b-saas.yaml"
BASE_ACCOUNTS = 1500  # about 254k events over 12 months
AT = datetime(2026, 1, 1, tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("batch")
    group.add_argument("--batch-events", type=int, default=1_000_000,
                       help="events in the rescored world (default 1000000)")
    group.add_argument("--batch-growth", action="store_true",
                       help="also time 1M and 10M events (with --large: 1M, 10M, 100M)")
    group.add_argument("--batch-no-spark", action="store_true", help="skip Spark local")
    group.add_argument("--batch-daily", type=int, default=30,
                       help="days of daily score history to time (default 30; 0 skips)")
    group.add_argument("--large", action="store_true", help="100M events")
    group.add_argument("--batch-dir", type=Path, default=None,
                       help="keep the generated worlds here (default: a temporary folder)")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _own_peak_rss_mb() -> float:
    """This process image's peak RSS: Linux keeps ru_maxrss across fork and exec (a child
    would report its parent's peak), VmHWM starts afresh at exec."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return _peak_rss_mb()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _growth_step(world: Path) -> dict[str, Any]:
    """One full rescore of `world` in a child process, so that its peak memory is its own,
    as `mql rescore` runs it (contacts and accounts streamed from their files into the
    engine's tables, never all held as Python records): seconds, events, the child's peak
    RSS and its RSS before any DuckDB work."""
    code = ("import json, sys; from pathlib import Path; from bench.bench_batch import "
            "_growth_child; print(json.dumps(_growth_child(Path(sys.argv[1]))))")
    out = subprocess.run([sys.executable, "-c", code, str(world)], stdout=subprocess.PIPE,
                         cwd=Path(__file__).parents[1], check=True).stdout
    result: dict[str, Any] = json.loads(out.splitlines()[-1])  # after any progress lines
    return result


def _growth_child(world: Path) -> dict[str, Any]:
    model = parse_model(MODEL.read_text(), source=str(MODEL))
    inputs = _files(world)
    records = _own_peak_rss_mb()
    engine = connect("duckdb")
    began = time.perf_counter()
    summary = engine.export(model, inputs, AsOf.at(AT), world / "scores.parquet")
    seconds = time.perf_counter() - began
    engine.close()
    return {"seconds": seconds, "events": summary.events, "contacts": summary.contacts,
            "rss_before_engine_mb": round(records), "peak_rss_mb": round(_own_peak_rss_mb())}


def _files(world: Path) -> Inputs:
    """A world's files as `mql rescore` reads them: contacts and accounts streamed."""
    return Inputs(RecordFile(world / "contacts.parquet", "contacts"),
                  RecordFile(world / "accounts.parquet", "accounts"), world / "events.parquet")


def _tile(base: Path, out: Path, copies: int) -> Path:
    """`copies` renamed copies of the base world's events, contacts and accounts. Copy i
    takes the domain `t<i>-<domain>` (`jane@t1-acme.com`, account `t1-acme.com`), and on a
    free-mail domain the name `<name>_t<i>` (`jane_t1@gmail.com`): addresses mql reads
    as other people, never merged into the original (a plus-tag would be, and a
    suffix after the domain is no domain at all)."""
    out.mkdir(parents=True, exist_ok=True)
    events = out / "events.parquet"
    if events.exists():
        return out
    con = duckdb.connect()
    # bounded memory: keeping the insertion order of a 100M-row copy buffers it all (ids
    # stay unique, so the order of the rows does not change any score)
    con.execute("SET memory_limit = '2GB'")
    con.execute("SET preserve_insertion_order = false")
    free = duckdb.sql(f"SELECT DISTINCT split_part(email, '@', 2) FROM read_parquet("
                      f"'{base / 'contacts.parquet'}') WHERE email IS NOT NULL").fetchall()
    free_list = ", ".join(f"'{d}'" for (d,) in free if d and is_free_mail(d)) or "''"
    email = (f"CASE WHEN i = 0 THEN email WHEN split_part(email, '@', 2) IN ({free_list}) "
             "THEN replace(email, '@', '_t' || i || '@') "
             "ELSE replace(email, '@', '@t' || i || '-') END")

    def domain(column: str) -> str:
        return f"CASE WHEN i = 0 THEN {column} ELSE 't' || i || '-' || {column} END"

    con.execute(f"""COPY (SELECT event_id || '-' || i AS event_id, type, timestamp,
        {email} AS email, anonymous_id, {domain("account")} AS account, properties
        FROM read_parquet('{base / "events.parquet"}'), range({copies}) r(i))
        TO '{events}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT * EXCLUDE (i) REPLACE ({email} AS email,
        {domain("account")} AS account) FROM read_parquet('{base / "contacts.parquet"}'),
        range({copies}) r(i)) TO '{out / "contacts.parquet"}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT * EXCLUDE (i) REPLACE ({domain("domain")} AS domain)
        FROM read_parquet('{base / "accounts.parquet"}'), range({copies}) r(i))
        TO '{out / "accounts.parquet"}' (FORMAT parquet)""")
    con.close()
    return out


def _records(world: Path, kind: Kind) -> list[Any]:
    """The world's `kind` as records; every row must load (a renamed copy that mql refuses
    would leave its people out of the measurement)."""
    loaded = load(world / f"{kind}.parquet", kind)
    if loaded.rejected:
        raise SystemExit(f"bench: {len(loaded.rejected)} {kind} of {world} refused, the "
                         f"first: {loaded.rejected[0].error}")
    return list(loaded.records)


def _count(path: Path) -> int:
    return int(duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchall()[0][0])


def hand_written_sql(model: Model, events: Path, at_us: int) -> str:
    """The example model's intent scores as one would write them by hand for DuckDB: typed
    timestamps, one JSON extraction per property, decayed sums, caps (no validation, no
    duplicate handling: the ceiling)."""
    conditions = {
        "intent.pricing_page": "url LIKE '%/pricing%'",
        "intent.security_docs": "(url LIKE '%/security%' OR url LIKE '%/docs/architecture%' "
                                "OR url LIKE '%/trust%')",
        "intent.comparison_download": "asset_type = 'comparison'",
        "intent.content_download": "coalesce(asset_type <> 'comparison', false)",
        "intent.account_surge": "TRY_CAST(strength AS DOUBLE) >= 70",
        "intent.careers_page": "url LIKE '%/careers%'",
        "security_intent.security_pages": "(url LIKE '%/security%' OR url LIKE '%/trust%' OR "
                                          "url LIKE '%/docs/architecture%')",
        "security_intent.security_assets": "regexp_matches(asset, "
                                           "'(?i)soc ?2|pen ?test|security|architecture')",
    }
    sums, scores = [], []
    for score in model.scores.values():
        if score.kind != "intent":
            continue
        h = score.decay.half_life_seconds
        terms = []
        for rule in score.rules:
            assert isinstance(rule, IntentRule)
            key = f"{score.name}.{rule.name}"
            col = f'"{key}"'
            cond = f"type = '{rule.events[0]}'"
            if key in conditions:
                cond += f" AND {conditions[key]}"
            if rule.windowed:
                sums.append(f"count(*) FILTER (WHERE {cond} AND ts > {at_us} - "
                            f"{int(rule.within_days or 0) * 86_400_000_000}) AS {col}")
                terms.append(f"CASE WHEN {col} >= {rule.min_count} THEN {rule.points} ELSE 0 END")
                continue
            sums.append(f"{rule.points} * sum(pow(2, -({at_us} - ts) / 1e6 / {h})) "
                        f"FILTER (WHERE {cond}) AS {col}")
            value = f"coalesce({col}, 0)"
            if rule.cap is not None:
                value = f"greatest(-{rule.cap}, least({rule.cap}, {value}))"
            terms.append(value)
        total = " + ".join(terms)
        scores.append(f"least({score.max}, {total}) AS {score.name}" if score.max else total)
    return f"""
        WITH e AS (
          SELECT lower(email) AS email, type, epoch_us(timestamp::TIMESTAMPTZ) AS ts,
                 properties->>'url' AS url, properties->>'asset_type' AS asset_type,
                 properties->>'asset' AS asset, properties->>'strength' AS strength
          FROM read_parquet('{events}')
          WHERE email IS NOT NULL AND timestamp::TIMESTAMPTZ <= make_timestamp({at_us}))
        SELECT email, {", ".join(scores)}
        FROM (SELECT email, {", ".join(sums)} FROM e GROUP BY email)"""


def _streaming_rate(model: Model, world: Path) -> tuple[float, float, int]:
    """Events/s of the streaming core replaying every event: with reading the files, and
    the replay alone (records already in memory)."""
    began_read = time.perf_counter()
    contacts = _records(world, "contacts")
    accounts = _records(world, "accounts")
    events = _records(world, "events")
    began = time.perf_counter()
    scorer = Scorer(model)
    for account in accounts:
        scorer.add_account(account)
    for contact in contacts:
        scorer.add_contact(contact)
    for event in events:
        if event.at <= AT:
            scorer.add(event)
    for email in scorer.contacts:
        scorer.decide(email, AT)
    done = time.perf_counter()
    return len(events) / (done - began_read), len(events) / (done - began), len(events)


def _result(metric: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return {"bench": "batch", "metric": metric, "value": round(value, 3), "unit": unit, **extra}


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    model = parse_model(MODEL.read_text(), source=str(MODEL))
    root = args.batch_dir or Path(tempfile.mkdtemp(prefix="mql-bench-"))
    base = root / "base"
    if not (base / "events.parquet").exists():
        write_world(base, accounts=BASE_ACCOUNTS, months=12, seed=1, fmt="parquet")
    per_copy = _count(base / "events.parquet")
    target = 100_000_000 if args.large else args.batch_events
    results: list[dict[str, Any]] = []

    def world_of(size: int) -> Path:
        copies = max(1, round(size / per_copy))
        return _tile(base, root / f"x{copies}", copies)

    world = world_of(target)
    events = world / "events.parquet"
    n = _count(events)
    inputs = Inputs(_records(world, "contacts"), _records(world, "accounts"), events)
    records_rss = _peak_rss_mb()
    engine = DuckDBEngine()
    at = AsOf.at(AT)
    began = time.perf_counter()
    table = engine.rescore(model, inputs, at)
    duck = time.perf_counter() - began
    # the same query again, tables loaded and compiled: the part comparable to the ceiling
    query = to_sql(model, at, "duckdb", unique_ids=engine.unique_ids())
    began = time.perf_counter()
    engine.con.execute(query).fetchall()
    query_only = time.perf_counter() - began
    at_us = at.start_us
    began = time.perf_counter()
    duckdb.sql(hand_written_sql(model, events, at_us)).fetchall()
    hand = time.perf_counter() - began
    read_rate, stream_rate, stream_n = _streaming_rate(model, base)
    results += [
        _result("duckdb_rescore", n / duck, "events/s", events=n, contacts=table.num_rows,
                seconds=round(duck, 2)),
        _result("duckdb_query_only", n / query_only, "events/s", events=n,
                seconds=round(query_only, 2)),
        _result("hand_written_duckdb", n / hand, "events/s", events=n, seconds=round(hand, 2)),
        _result("duckdb_query_vs_hand_written", hand / query_only, "x",
                baseline="hand_written_duckdb", ratio=round(hand / query_only, 3)),
        _result("duckdb_vs_hand_written", hand / duck, "x", baseline="hand_written_duckdb",
                ratio=round(hand / duck, 3)),
        _result("streaming_read_and_replay", read_rate, "events/s", events=stream_n),
        _result("streaming_replay_only", stream_rate, "events/s", events=stream_n),
        _result("duckdb_vs_streaming", (n / duck) / read_rate, "x",
                baseline="streaming_read_and_replay", ratio=round((n / duck) / read_rate, 2)),
    ]
    if args.batch_daily:
        days = AsOf(AT, at.step, args.batch_daily)
        began = time.perf_counter()
        summary = engine.export(model, inputs, days, root / "history.parquet")
        seconds = time.perf_counter() - began
        results.append(_result("duckdb_daily_history", seconds, "s", days=args.batch_daily,
                               rows=summary.rows, events=n))
    # the process's peak: the streaming core's records and the contacts loaded as Python
    # records count too (`records_rss_mb`); the growth steps below measure DuckDB alone
    results.append(_result("peak_rss_duckdb", _peak_rss_mb(), "MB", events=n,
                           records_rss_mb=round(records_rss),
                           note="process peak, includes Python records"))
    engine.close()
    sizes = ([1_000_000, 10_000_000] + ([100_000_000] if args.large else [])
             if args.batch_growth or args.large else [])
    duck_growth: dict[int, float] = {}
    first = None
    for size in sizes:
        step = _growth_step(world_of(size))
        count, seconds = step.pop("events"), step.pop("seconds")
        duck_growth[size] = seconds
        first = first or seconds / count
        results.append(_result("duckdb_growth", seconds, "s", events=count,
                               seconds_per_event_vs_1m=round(seconds / count / first, 3),
                               **step))
    if not args.batch_no_spark:
        results += _spark(model, inputs, at, n, duck, {s: world_of(s) for s in sizes},
                          duck_growth)
    return results


def _spark(model: Model, inputs: Inputs, at: AsOf, n: int, duck: float,
           worlds: dict[int, Path], duck_growth: dict[int, float]) -> list[dict[str, Any]]:
    """Spark local[2] on the main world (records as inputs, as DuckDB's rescore above) and,
    with --batch-growth, `export` of each growth world as `mql rescore --engine spark` runs
    it (files streamed, Parquet written): seconds, events/s and the ratio to DuckDB's
    growth step on the same world in this run. One session for all (its start is
    reported apart: paid once per job, not per event)."""
    began = time.perf_counter()
    try:
        spark = connect("spark")
    except ConfigError as exc:  # pyspark or Java missing: report it, run the others
        return [_result("spark_local", 0.0, "events/s", error=str(exc))]
    start = time.perf_counter() - began
    began = time.perf_counter()
    spark.rescore(model, inputs, at)
    seconds = time.perf_counter() - began
    results = [
        _result("spark_session_start", start, "s", master="local[2]"),
        _result("spark_local", n / seconds, "events/s", events=n,
                seconds=round(seconds, 2), master="local[2]"),
        _result("spark_vs_duckdb", duck / seconds, "x", baseline="duckdb_rescore",
                ratio=round(duck / seconds, 3), target=0.25),
    ]
    first = None
    for size, world in worlds.items():
        began = time.perf_counter()
        summary = spark.export(model, _files(world), at, world / "spark-scores.parquet")
        seconds = time.perf_counter() - began
        first = first or seconds / summary.events
        results.append(_result(
            "spark_growth", seconds, "s", events=summary.events, master="local[2]",
            events_per_s=round(summary.events / seconds),
            seconds_per_event_vs_1m=round(seconds / summary.events / first, 3),
            vs_duckdb=round(duck_growth[size] / seconds, 3), target=0.25))
    spark.close()
    return results
