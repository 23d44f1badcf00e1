"""Identity quality on a dirty synthetic world: precision and recall of duplicate merging
and of lead-to-account matching against the world's ground truth (also used by bench)."""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mql.identity.match import AccountIndex, is_free_mail
from mql.identity.merge import IdentityRules
from mql.identity.normalize import clean_email
from mql.service.ingest import ingest_file
from mql.service.resolve import find_by_email
from mql.service.store import init_workspace
from mql.store.db import connect


@dataclass(frozen=True, slots=True)
class Quality:
    """Precision and recall of one decision, with the counts behind them."""

    precision: float
    recall: float
    true_positives: int
    predicted: int
    actual: int


def _quality(predicted: set[frozenset[str]], actual: set[frozenset[str]]) -> Quality:
    hits = len(predicted & actual)
    return Quality(hits / len(predicted) if predicted else 1.0,
                   hits / len(actual) if actual else 1.0, hits, len(predicted), len(actual))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def duplicate_quality(world: Path, workspace: Path, rules: IdentityRules) -> Quality:
    """Ingest the world into a fresh workspace; pairs of addresses resolved to one contact
    against the pairs of addresses the truth says are one person."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    ws = init_workspace(workspace, now=now)
    engine = connect(ws.database_url)
    for kind in ("accounts", "contacts", "events"):
        ingest_file(engine, world / f"{kind}.csv", kind, rules=rules, now=now)  # type: ignore[arg-type]
    emails: set[str] = set()
    for row in _rows(world / "contacts.csv") + _rows(world / "events.csv"):
        try:
            emails.add(clean_email(row["email"]))
        except (ValueError, KeyError):
            continue
    with engine.connect() as conn:
        found = find_by_email(conn, sorted(emails), rules)
    engine.dispose()
    by_contact: dict[int, set[str]] = {}
    for email, cid in found.items():
        by_contact.setdefault(cid, set()).add(email)
    predicted = {frozenset(p) for group in by_contact.values()
                 for p in itertools.combinations(sorted(group), 2)}
    clusters: dict[str, set[str]] = {}
    for row in _rows(world / "truth" / "duplicates.csv"):
        if row["kind"] == "contact":
            try:
                clusters.setdefault(row["cluster_id"], set()).add(clean_email(row["member"]))
            except ValueError:
                continue
    actual = {frozenset(p) for group in clusters.values()
              for p in itertools.combinations(sorted(group & emails), 2)}
    return _quality(predicted, actual)


def account_quality(world: Path) -> Quality:
    """Contacts matched to an account by their email alone, against the truth's account
    (free-mail contacts count in recall: they stay unmatched)."""
    index = AccountIndex((r["domain"], r["name"]) for r in _rows(world / "accounts.csv"))
    predicted: set[frozenset[str]] = set()
    actual: set[frozenset[str]] = set()
    for row in _rows(world / "contacts.csv"):
        try:
            email = clean_email(row["email"])
        except ValueError:
            continue
        actual.add(frozenset({email, row["account"]}))
        found = index.match(email)
        if found is not None:
            predicted.add(frozenset({email, found.account}))
    return _quality(predicted, actual)


def business_account_quality(world: Path) -> Quality:
    """As `account_quality`, over contacts with a business (not free-mail) address."""
    index = AccountIndex((r["domain"], r["name"]) for r in _rows(world / "accounts.csv"))
    predicted: set[frozenset[str]] = set()
    actual: set[frozenset[str]] = set()
    for row in _rows(world / "contacts.csv"):
        try:
            email = clean_email(row["email"])
        except ValueError:
            continue
        if is_free_mail(email.rpartition("@")[2]):
            continue
        actual.add(frozenset({email, row["account"]}))
        found = index.match(email)
        if found is not None:
            predicted.add(frozenset({email, found.account}))
    return _quality(predicted, actual)
