"""Model activation on a store holding a synthetic world: the dry run from the DuckDB batch
engine and the switch by one bulk re-derivation, against the previous implementation
(`method="replay"`: re-derive 1000 contacts at a time, decide, and roll back for a dry run)
in the same run. `ratio` is the speed-up: baseline seconds / new seconds.

The world is ingested once (SQLite workspace); each real activation runs on its own copy
of the database file, so both methods start from the same store.

Growth (`activation_growth_seconds`): a smaller world, ingested once, copied into stores of
10,000, 100,000 (and with `--activation-growth 10000,100000,1000000`, 1,000,000) contacts
by bulk inserts (each copy's emails, domains and event ids prefixed `c<n>.`, its states and
stages those of the original); the dry run and the switch timed at each size, and at the
smallest also the per-contact path (`method="stream"`: one ordered pass over the ledger,
every contact decided by the streaming core) for the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mql.identity.merge import IdentityRules
from mql.service.activation import Activation, Method
from mql.service.ingest import ingest_file
from mql.service.store import activate_version, init_workspace
from mql.service.synth import write_world
from mql.store import models as model_store
from mql.store.db import connect
from mql.store.tables import contacts, events

START = datetime(2025, 1, 1, tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("activation")
    group.add_argument("--activation-accounts", type=int, default=900,
                       help="accounts of the synthetic world (default 900: ~2,000 contacts)")
    group.add_argument("--activation-months", type=int, default=6,
                       help="months of events in the world (default 6: ~80,000 events)")
    group.add_argument("--activation-growth", default="10000,100000",
                       help="contacts of the growth stores, comma-separated (default "
                            "10000,100000; add 1000000 for the issue's size)")
    group.add_argument("--activation-growth-months", type=int, default=2,
                       help="months of events of the growth world (default 2)")


def _next_model(text: str) -> str:
    """A model change: looser thresholds, a stricter exit line, a stronger account surge,
    and no nurture tracks (a model with them takes the per-contact path: a quiet contact
    may still enter a track, service/activation.py)."""
    return (text.split("\n# Nurture tracks")[0]
            .replace("- {fit: 50, intent: 30}", "- {fit: 50, intent: 15}")
            .replace("  below: {intent: 15}", "  below: {intent: 25}")
            .replace("value: 70}\n      points: 10", "value: 70}\n      points: 25")
            .replace('version: "', 'version: "next-', 1))


def _timed(url: str, version: int, now: datetime, *, dry_run: bool, method: Method
           ) -> tuple[float, Activation]:
    engine = connect(url)
    try:
        began = time.perf_counter()
        done = activate_version(engine, version, now=now, dry_run=dry_run, method=method)
        return time.perf_counter() - began, done
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mql-bench-activation-") as tmp:
        root = Path(tmp)
        write_world(root / "world", accounts=args.activation_accounts,
                    months=args.activation_months, seed=7, start=START)
        now = START + timedelta(days=round(30.44 * args.activation_months) + 1)  # world's end
        ws = init_workspace(root / "ws", now=START)
        engine = connect(ws.database_url)
        for kind in ("accounts", "contacts", "events"):
            ingest_file(engine, root / "world" / f"{kind}.csv", kind, rules=IdentityRules(),
                        now=now)
        text = _next_model(ws.model_path.read_text())
        with engine.begin() as conn:
            version = model_store.save_version(conn, "b2b_saas", "next", text,
                                               source="next.yaml", now=now)
            people = conn.execute(sa.select(sa.func.count()).select_from(contacts)).scalar()
            ledger = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar()
        engine.dispose()
        size = {"contacts": people, "events": ledger}
        db = Path(ws.database_url.removeprefix("sqlite:///"))

        # dry runs change nothing: the same store, best of two runs each
        dry: dict[str, tuple[float, Activation]] = {}
        for method in ("batch", "replay"):
            runs = [_timed(ws.database_url, version, now, dry_run=True, method=method)
                    for _ in range(2)]
            dry[method] = (min(s for s, _ in runs), runs[0][1])
        assert dry["batch"][1] == dry["replay"][1], "the dry runs disagree"
        (new, done), (old, _) = dry["batch"], dry["replay"]
        results.append({"bench": "activation", "metric": "dry_run_seconds",
                        "value": round(new, 3), "unit": "s", "baseline": round(old, 3),
                        "ratio": round(old / new, 2), **size,
                        "transitions": done.transitions,
                        "newly_qualified": len(done.newly_qualified),
                        "no_longer_qualified": len(done.no_longer_qualified),
                        "baseline_is": "replay each chunk of contacts, decide, roll back",
                        "ratio_is": "speed-up (baseline s / new s)"})

        # real activations: each on its own copy of the store
        real: dict[str, tuple[float, Activation]] = {}
        for method in ("batch", "replay"):
            copy = root / f"{method}.db"
            shutil.copyfile(db, copy)
            real[method] = _timed(f"sqlite:///{copy}", version, now, dry_run=False,
                                  method=method)
        assert real["batch"][1] == real["replay"][1], "the activations disagree"
        (new, done), (old, _) = real["batch"], real["replay"]
        results.append({"bench": "activation", "metric": "activate_seconds",
                        "value": round(new, 3), "unit": "s", "baseline": round(old, 3),
                        "ratio": round(old / new, 2), **size,
                        "transitions": done.transitions,
                        "baseline_is": "replay each chunk of contacts (a query per chunk)",
                        "ratio_is": "speed-up (baseline s / new s)"})
    return results + run_growth(args)


_COPIED = {  # table: (the key of its original rows, the columns a copy changes, in SQL)
    "accounts": ("id", {"id": "id + :a", "domain": "'c' || :n || '.' || domain"}),
    "contacts": ("id", {"id": "id + :c", "email": "'c' || :n || '.' || email",
                        "account_id": "account_id + :a", "merged_into": "merged_into + :c",
                        "account_domain": "'c' || :n || '.' || account_domain"}),
    "events": ("seq", {"seq": "seq + :e", "event_id": "'c' || :n || '.' || event_id",
                       "contact_id": "contact_id + :c", "account_id": "account_id + :a",
                       "email": "'c' || :n || '.' || email",
                       "account_domain": "'c' || :n || '.' || account_domain"}),
    "contact_scores": ("contact_id", {"contact_id": "contact_id + :c"}),
    "account_scores": ("account_id", {"account_id": "account_id + :a"}),
    "intent_resets": ("contact_id", {"id": "NULL", "contact_id": "contact_id + :c"}),
}
_LIMIT = {"id": "c", "seq": "e", "contact_id": "c", "account_id": "a"}


def _grow(source: Path, target: Path, contacts_wanted: int) -> dict[str, int]:
    """A copy of the store `source` holding `contacts_wanted` contacts (rounded up to
    whole copies of the original), built by one INSERT ... SELECT per table and copy."""
    shutil.copyfile(source, target)
    db = sqlite3.connect(target)
    try:
        def count(table: str) -> int:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

        def top(table: str, key: str) -> int:
            return int(db.execute(f"SELECT coalesce(max({key}), 0) FROM {table}").fetchone()[0])

        people = count("contacts")
        top_of = {"a": top("accounts", "id"), "c": top("contacts", "id"),
                  "e": top("events", "seq")}
        db.execute("PRAGMA synchronous = OFF")
        for table, (key, changed) in _COPIED.items():
            names = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
            select = ", ".join(changed.get(c, c) for c in names)
            limit = top_of["a"] if table == "accounts" else top_of[_LIMIT[key]]
            for n in range(1, -(-contacts_wanted // people)):
                db.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {select} "
                           f"FROM {table} WHERE {key} <= :top",
                           {"n": str(n), "top": limit, **{k: v * n for k, v in top_of.items()}})
        db.commit()
        return {t: count(t) for t in ("contacts", "events")}
    finally:
        db.close()


def run_growth(args: argparse.Namespace) -> list[dict[str, Any]]:
    sizes = sorted(int(x) for x in str(args.activation_growth).split(",") if x)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mql-bench-activation-growth-") as tmp:
        root = Path(tmp)
        months = args.activation_growth_months
        write_world(root / "world", accounts=args.activation_accounts, months=months,
                    seed=7, start=START)
        now = START + timedelta(days=round(30.44 * months) + 1)
        ws = init_workspace(root / "ws", now=START)
        engine = connect(ws.database_url)
        for kind in ("accounts", "contacts", "events"):
            ingest_file(engine, root / "world" / f"{kind}.csv", kind, rules=IdentityRules(),
                        now=now)
        with engine.begin() as conn:
            version = model_store.save_version(conn, "b2b_saas", "next",
                                               _next_model(ws.model_path.read_text()),
                                               source="next.yaml", now=now)
        engine.dispose()
        base = Path(ws.database_url.removeprefix("sqlite:///"))
        reference: dict[str, float] = {}
        for size in sizes:
            grown = root / f"grown-{size}.db"
            began = time.perf_counter()
            counts = _grow(base, grown, size)
            built = time.perf_counter() - began
            url = f"sqlite:///{grown}"
            dry, preview = _timed(url, version, now, dry_run=True, method="batch")
            methods: list[Method] = ["batch", "stream"] if size == sizes[0] else ["batch"]
            for method in methods:
                copy = root / f"{method}-{size}.db"
                shutil.copyfile(grown, copy)
                seconds, done = _timed(f"sqlite:///{copy}", version, now, dry_run=False,
                                       method=method)
                copy.unlink()
                if method == "stream":
                    reference = {"baseline": round(seconds, 3)}
                    continue
                assert (done.newly_qualified, done.transitions) == (
                    preview.newly_qualified, preview.transitions), "dry run and switch disagree"
                switched = seconds
            row: dict[str, Any] = {
                "bench": "activation", "metric": "activation_growth_seconds",
                "value": round(dry + switched, 3), "unit": "s", **counts,
                "dry_run_seconds": round(dry, 3), "activate_seconds": round(switched, 3),
                "per_contact_us": round(1e6 * (dry + switched) / counts["contacts"], 1),
                "transitions": done.transitions, "world_build_seconds": round(built, 3),
                "target_seconds_at_1m": 60,
                "value_is": "dry run + switch, set-based (method batch)"}
            if size == sizes[0] and reference:
                row.update(reference, ratio=round(reference["baseline"] / switched, 2),
                           baseline_is="switch through the streaming core per contact "
                                       "(method stream), same store",
                           ratio_is="speed-up of the switch (baseline s / new s)")
            results.append(row)
            grown.unlink()
    return results
