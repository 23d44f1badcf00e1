"""Ground truth, written apart from the data: each account's hidden intent path, each
duplicate cluster and each deliberately malformed row, so identity resolution, scoring
calibration and ingestion can be measured against what really happened.

>>> from datetime import UTC, datetime
>>> m = DuplicateMember("dup-1", "contact", "Jane@Acme.example", "jane@acme.example", "case")
>>> m.member.lower() == m.canonical
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AccountTruth:
    """What the world knows about an account and no file shows.

    `fit` is the hidden ICP match (0-1); `path` the hidden stages as (stage, since) pairs;
    `committee_size` counts the buying committee, `people` everyone at the account the
    world made, `contacts` those who became contacts; `missing_fields` lists the
    firmographics blanked by `--dirty`.
    """

    domain: str
    fit: float
    segment: str
    product: str
    buying_department: str
    committee_size: int
    people: int
    contacts: int
    initial_stage: str
    final_stage: str
    in_market_weeks: int
    opportunities: int
    won: bool
    missing_fields: tuple[str, ...]
    path: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True, slots=True)
class DuplicateMember:
    """One member of a duplicate cluster.

    `kind` is contact (one person under several emails), event_same_id (one event sent
    twice with its id) or event_new_id (one event sent again under a new id); `form` says
    how this member differs: canonical, case, plus_tag, subdomain, resent or copied.
    """

    cluster_id: str
    kind: str
    member: str
    canonical: str
    form: str


@dataclass(frozen=True, slots=True)
class MalformedRow:
    """A row made unusable on purpose: `file` (events or contacts), `key` (the event id or
    the intended email), `problem` (bad_email, bad_timestamp, unknown_type) and the
    `field` and `value` as written."""

    file: str
    key: str
    problem: str
    field: str
    value: str
