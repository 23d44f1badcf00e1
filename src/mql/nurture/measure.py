"""Whether the tracks work (issue 21), pure: per track the enrollments, the active ones,
how they ended, the median time in the track, the conversion to MQL, SQL, opportunity and
won within N days of entry, the same conversion of the comparable group (contacts never
enrolled, from the moment they were first eligible for a track), and the content
(campaign, asset) that preceded the conversions.

Everything is read as of `at`: a fact, a move or an event after it does not count, so a
report about a past moment is the same whenever it is asked.

>>> from datetime import UTC, datetime, timedelta
>>> t = datetime(2026, 3, 2, tzinfo=UTC)
>>> facts = [FactRow(1, "warm", "enrolled", t, "matches warm"),
...          FactRow(1, "warm", "unenrolled", t + timedelta(days=4), "mql"),
...          FactRow(2, "warm", "enrolled", t, "matches warm")]
>>> moves = {1: [("mql", t + timedelta(days=4))]}
>>> row = summarise(["warm"], facts, moves, {}, {}, at=t + timedelta(days=10))[0]
>>> row.enrolled, row.active, row.exits, row.median_days, row.converted["mql"]
(2, 1, {'mql': 1}, 4.0, 1)
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mql.nurture import OPEN

# what a conversion is: the first move into one of these stages
STAGES: dict[str, tuple[str, ...]] = {
    "mql": ("mql", "pql"), "sql": ("sql",), "opportunity": ("opportunity",),
    "won": ("customer",)}


@dataclass(frozen=True, slots=True)
class FactRow:
    contact: int
    track: str
    kind: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class TrackRow:
    """One track's numbers. `converted[k]`: enrollments that reached stage k within the
    window of their entry; `baseline[k]`: the share of the never-enrolled group that did
    within the window of its creation (None: no such group)."""

    track: str
    enrolled: int
    active: int
    exits: Mapping[str, int]
    median_days: float | None
    converted: Mapping[str, int]
    baseline: Mapping[str, float | None] = field(default_factory=dict)
    content: tuple[tuple[str, int], ...] = ()

    def rate(self, kind: str) -> float | None:
        return self.converted[kind] / self.enrolled if self.enrolled else None


def _first_after(moves: Sequence[tuple[str, datetime]], stages: tuple[str, ...],
                 start: datetime, end: datetime) -> datetime | None:
    return min((t for s, t in moves if s in stages and start <= t <= end), default=None)


def summarise(tracks: Sequence[str], facts: Iterable[FactRow],
              moves: Mapping[int, Sequence[tuple[str, datetime]]],
              content: Mapping[int, Sequence[tuple[datetime, str]]],
              never_enrolled: Mapping[int, datetime], *, at: datetime,
              within_days: float = 90.0, top: int = 3) -> list[TrackRow]:
    """The rows of `tracks` (in that order) from the facts and lifecycle `moves` (stage,
    moment) of each contact; `content` holds each contact's touches (moment, campaign or
    asset); `never_enrolled` the reference moment of each contact never on a track."""
    window = timedelta(days=within_days)
    spans: dict[str, list[tuple[int, datetime, datetime | None, str | None]]] = {
        t: [] for t in tracks}
    open_of: dict[int, tuple[str, datetime, int]] = {}
    for f in sorted(facts, key=lambda f: f.at):
        if f.at > at:
            continue
        if f.kind == "enrolled":
            spans.setdefault(f.track, []).append((f.contact, f.at, None, None))
            open_of[f.contact] = (f.track, f.at, len(spans[f.track]) - 1)
        elif f.contact in open_of:
            track, since, i = open_of.pop(f.contact)
            spans[track][i] = (f.contact, since, f.at, f.reason)
    base = _baseline(moves, never_enrolled, at, window)
    rows = []
    for track in tracks:
        items = spans.get(track, [])
        exits = Counter(r for _, _, end, r in items if end is not None and r is not None)
        days = [(end - since).total_seconds() / 86_400 for _, since, end, _ in items
                if end is not None]
        converted = {k: 0 for k in STAGES}
        seen: Counter[str] = Counter()
        for cid, since, _, _ in items:
            end = min(since + window, at)
            ledger = moves.get(cid, ())
            for kind, stages in STAGES.items():
                if _first_after(ledger, stages, since, end) is not None:
                    converted[kind] += 1
            mql = _first_after(ledger, STAGES["mql"], since, end)
            if mql is not None:
                seen.update({name for t, name in content.get(cid, ()) if since <= t <= mql})
        rows.append(TrackRow(track, len(items), sum(1 for _, _, e, _ in items if e is None),
                             dict(sorted(exits.items())),
                             statistics.median(days) if days else None, converted, base,
                             tuple(sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))[:top])))
    return rows


def _baseline(moves: Mapping[int, Sequence[tuple[str, datetime]]],
              reference: Mapping[int, datetime], at: datetime, window: timedelta
              ) -> dict[str, float | None]:
    """The share of the never-enrolled group that reached each stage within `window` of
    its reference moment (None for every stage when there is no such group)."""
    group = {cid: t for cid, t in reference.items() if t <= at}
    if not group:
        return {k: None for k in STAGES}
    out: dict[str, float | None] = {}
    for kind, stages in STAGES.items():
        hits = sum(1 for cid, t in group.items()
                   if _first_after(moves.get(cid, ()), stages, t, min(t + window, at)))
        out[kind] = hits / len(group)
    return out


def eligible_from(created: datetime, moves: Sequence[tuple[str, datetime]],
                  at: datetime) -> datetime | None:
    """The moment a contact never on a track was first eligible for one, by `at`: the
    moment mql first knew it (`created`: its creation, or the arrival of its history dated
    before it) when it was then in a stage a track takes (`OPEN`: captured, nurture,
    recycled, closed lost; not an MQL, not sales'), else its first later move (`moves`:
    its lifecycle moves, stage and moment) into such a stage; None: never eligible (it
    qualified at once and stayed past the MQL line).

    >>> from datetime import UTC, datetime, timedelta
    >>> t = datetime(2026, 3, 2, tzinfo=UTC)
    >>> eligible_from(t, [], t) == t  # captured, not qualifying
    True
    >>> eligible_from(t, [("mql", t)], t + timedelta(days=9)) is None  # qualified at once
    True
    >>> eligible_from(t, [("mql", t), ("recycled", t + timedelta(days=5))],
    ...               t + timedelta(days=9)) == t + timedelta(days=5)
    True
    """
    stage = "captured"
    for s, t in sorted(moves, key=lambda m: m[1]):
        if t <= created:
            stage = s
    if stage in OPEN:
        return created if created <= at else None
    return min((t for s, t in moves if created < t <= at and s in OPEN), default=None)


def table(rows: Sequence[TrackRow]) -> tuple[list[str], list[dict[str, Any]]]:
    """The rows as report columns: exits by reason, rates as shares."""
    reasons = sorted({r for row in rows for r in row.exits})
    columns = ["track", "enrolled", "active", *(f"exit_{r}" for r in reasons), "median_days",
               *(f"{k}_rate" for k in STAGES), *(f"not_enrolled_{k}_rate" for k in ("mql", "sql")),
               "content_before_conversions"]
    out = []
    for row in rows:
        out.append({
            "track": row.track, "enrolled": row.enrolled, "active": row.active,
            **{f"exit_{r}": row.exits.get(r, 0) for r in reasons},
            "median_days": row.median_days,
            **{f"{k}_rate": row.rate(k) for k in STAGES},
            **{f"not_enrolled_{k}_rate": row.baseline.get(k) for k in ("mql", "sql")},
            "content_before_conversions": ", ".join(f"{n} ({c})" for n, c in row.content)
            or None})
    return columns, out
