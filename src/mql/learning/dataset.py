"""The rows a points model is learned from: one lead at its decision moment.

A `LeadRow` holds what was known about a lead when the decision was made (the MQL move
or the hand-off to sales): its attributes (`contact.*`, `account.*`, as the model names
fields) and the touches up to that moment, as (event type, age in days) pairs, and
whether the outcome followed. Touches after the moment never enter a row: the builders
(`service.learning`) cut the ledger at the moment ("time travel"), and `as_of` does it
for touches given with their times.

>>> from datetime import UTC, datetime
>>> at = datetime(2026, 3, 1, tzinfo=UTC)
>>> touches = [("demo_request", datetime(2026, 2, 27, tzinfo=UTC)),
...            ("pricing", datetime(2026, 3, 2, tzinfo=UTC))]     # after: left out
>>> as_of(touches, at)
(('demo_request', 2.0),)
>>> decayed([2.0, 12.0], half_life_days=10.0)    # 2^-0.2 + 2^-1.2
1.3058
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mql.scoring.evaluate import as_number, is_missing

OUTCOMES = ("sql", "opportunity", "won")


@dataclass(frozen=True, slots=True)
class LeadRow:
    """One lead at its decision moment: attributes, touches before it, and the outcome."""

    key: str
    attributes: Mapping[str, Any]
    touches: tuple[tuple[str, float], ...] = ()  # (event type, age in days at the moment)
    label: bool = False
    at: datetime | None = None


def as_of(touches: Iterable[tuple[str, datetime]], at: datetime
          ) -> tuple[tuple[str, float], ...]:
    """The touches up to `at` (the touch that triggered the decision counts), as (type,
    age in days), oldest first."""
    kept = sorted(((kind, (at - when).total_seconds() / 86400.0)
                   for kind, when in touches if when <= at), key=lambda t: -t[1])
    return tuple(kept)


def decayed(ages: Sequence[float], *, half_life_days: float) -> float:
    """The decayed count of touches of these ages (days): each is worth 2^(-age / h)."""
    return round(sum(math.pow(2.0, -age / half_life_days) for age in ages), 4)


# -- which fields to learn from ---------------------------------------------------------

# fields that name a person or a record, never a trait that predicts an outcome
_IDENTIFIERS = {"email", "first_name", "last_name", "name", "domain", "company", "phone",
                "id", "crm_id", "anonymous_id", "website", "created_at", "updated_at"}

# words of fields that sales or the CRM fill in at or after the hand-off
_SALES_WORDS = re.compile(
    r"(^|_)(status|stage|lifecycle|owner|opportunit\w*|deal|closed|won|lost|reason|"
    r"disposition|sql|converted|accepted|rejected|outcome|pipeline|sales|amount|"
    r"qualified|mql)(_|$)")


def looks_sales_entered(name: str) -> bool:
    """True for a field whose name says sales or the CRM fill it in at or after the
    hand-off, so it would leak the outcome into the points.

    >>> looks_sales_entered("account.status"), looks_sales_entered("contact.lead_status")
    (True, True)
    >>> looks_sales_entered("account.employees"), looks_sales_entered("contact.seniority")
    (False, False)
    """
    return bool(_SALES_WORDS.search((name.partition(".")[2] or name).lower()))


@dataclass(frozen=True, slots=True)
class FieldCheck:
    """The fields a learning run uses and the ones it leaves out, each with why."""

    used: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (field, why)
    warnings: tuple[str, ...] = field(default=())


def _filled(rows: Sequence[LeadRow], name: str) -> float:
    if not rows:
        return 0.0
    return sum(not is_missing(r.attributes.get(name)) for r in rows) / len(rows)


def check_fields(rows: Sequence[LeadRow], *, requested: Sequence[str] = (),
                 max_values: int = 60) -> FieldCheck:
    """Choose the attribute fields to learn from.

    Without `requested`, every field of the rows except identifiers, free text (more than
    `max_values` distinct non-numeric values) and fields that look sales-entered; with
    it, those fields. A field filled for most positives and few negatives is filled at or
    after the outcome (a CRM field copied into the export): it is refused either way.
    """
    names = list(requested) if requested else sorted({n for r in rows for n in r.attributes})
    positives = [r for r in rows if r.label]
    negatives = [r for r in rows if not r.label]
    used: list[str] = []
    skipped: list[tuple[str, str]] = []
    warnings: list[str] = []
    for name in names:
        short = name.partition(".")[2] or name
        pos, neg = _filled(positives, name), _filled(negatives, name)
        if positives and negatives and pos >= 0.8 and neg <= 0.2:
            why = (f"filled for {pos:.0%} of the leads with the outcome and {neg:.0%} of the "
                   "others: it gets its value at or after the hand-off (leakage)")
            skipped.append((name, why))
            warnings.append(f"{name}: refused, {why}")
            continue
        if looks_sales_entered(name):
            if requested:
                warnings.append(f"{name}: looks sales-entered (its value may be set at or "
                                "after the hand-off); used because --features names it")
            else:
                skipped.append((name, "looks sales-entered (set at or after the hand-off); "
                                      "name it in --features to use it"))
                warnings.append(f"{name}: left out, it looks sales-entered; name it in "
                                "--features to use it")
                continue
        if not requested and short in _IDENTIFIERS:
            skipped.append((name, "an identifier"))
            continue
        values = {str(v).strip().lower() for r in rows
                  if not is_missing(v := r.attributes.get(name))}
        if not values:
            skipped.append((name, "never filled"))
            continue
        numeric = all(as_number(v) is not None for v in values)
        if not numeric and len(values) > max_values:
            skipped.append((name, f"free text ({len(values)} distinct values)"))
            continue
        if len(values) < 2:
            skipped.append((name, "one value only"))
            continue
        used.append(name)
    return FieldCheck(tuple(used), tuple(skipped), tuple(warnings))


def is_numeric(rows: Sequence[LeadRow], name: str) -> bool:
    """True when every filled value of `name` reads as a number and there are at least
    six distinct ones (fewer: a value table reads better)."""
    values = [as_number(v) for r in rows if not is_missing(v := r.attributes.get(name))]
    return bool(values) and all(v is not None for v in values) and len(set(values)) > 5


def lead_touches(at: datetime, own: Iterable[tuple[str, datetime, Mapping[str, Any]]],
                 anonymous: Iterable[tuple[str, datetime, Mapping[str, Any]]] = (),
                 people: Iterable[tuple[str, datetime]] = ()) -> tuple[tuple[str, float], ...]:
    """A lead's touches at its decision moment `at`, as (kind, age in days), oldest
    first: its `own` events (`touch_kind`), its account's `anonymous` ones (no person:
    `account:TYPE`) and, for account-wide rows, every person's event at the account
    (`people`, its own included: `account:TYPE` too, what an account rule counts), each
    only when it happened at or before `at`. One computation for the store's leads and
    the synthetic world's.

    >>> from datetime import UTC, datetime
    >>> t = datetime(2025, 3, 2, tzinfo=UTC)
    >>> lead_touches(t, [("demo_request", datetime(2025, 3, 1, tzinfo=UTC), {})],
    ...              [("intent_surge", datetime(2025, 2, 28, tzinfo=UTC), {})],
    ...              [("demo_request", datetime(2025, 3, 1, tzinfo=UTC)),
    ...               ("page_view", datetime(2025, 3, 3, tzinfo=UTC))])
    (('account:intent_surge', 2.0), ('demo_request', 1.0), ('account:demo_request', 1.0))
    """
    found = [(touch_kind(kind, props), when) for kind, when, props in own]
    found += [(touch_kind(kind, props, account_level=True), when)
              for kind, when, props in anonymous]
    found += [(f"account:{kind}", when) for kind, when in people]
    return tuple(sorted(((k, (at - when).total_seconds() / 86400.0) for k, when in found
                         if when <= at), key=lambda t: -t[1]))


def touch_kind(event_type: str, properties: Mapping[str, Any], *,
               account_level: bool = False) -> str:
    """The kind of a touch: its event type, and for a page view the first section of
    its URL's path as well (what a rule `url contains /pricing` reads); an account-level
    touch (no contact: an intent surge) is `account:TYPE`, counted by an account rule.

    >>> touch_kind("page_view", {"url": "https://www.example.com/pricing/faq?x=1"})
    'page_view /pricing'
    >>> touch_kind("page_view", {"url": "https://www.example.com/"}), touch_kind("trial", {})
    ('page_view', 'trial')
    >>> touch_kind("intent_surge", {"strength": 80}, account_level=True)
    'account:intent_surge'
    """
    if account_level:
        return f"account:{event_type}"
    url = properties.get("url") if event_type == "page_view" else None
    if not isinstance(url, str):
        return event_type
    path = url.split("://", 1)[-1].partition("/")[2].split("?", 1)[0].split("#", 1)[0]
    section = path.split("/", 1)[0].strip().lower()
    if not section or not re.fullmatch(r"[a-z0-9_-]{1,40}", section):
        return event_type
    return f"{event_type} /{section}"
