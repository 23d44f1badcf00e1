"""Reading the rows of mql's own files (consent, opportunities, costs, dispositions):
the field readers their row parsers share, and the batched row reader their loaders
share (`mql.service.consent`, `mql.service.outcomes`).

A field reader returns the value or None (blank), and raises `InputError` naming the
source, row and field for a bad one. `read_batches` turns numbered rows (a file's, or
a list's) into batches of parsed records and refused rows, each refused row with its
field and reason, so a bad value costs its own row and never the file.

>>> text_field({"a": "  x "}, "a", source="f.csv", row=2)
'x'
>>> email_field({"e": "Ann@Acme.example"}, "e", source="f.csv", row=2)
'ann@acme.example'
>>> def parse(raw, number):
...     if not raw["n"].isdigit():
...         raise InputError("f.csv", number, "n", "not a number")
...     return int(raw["n"])
>>> [(b.rows, [g.record for g in b.good], [r.reason for r in b.refused])
...  for b in read_batches(enumerate([{"n": "1"}, {"n": "x"}, {"n": "3"}], 2), parse, 2)]
[(2, [1], ['not a number']), (1, [3], [])]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mql import limits
from mql.errors import InputError
from mql.ingest.formats import DateStyle, normalize_email, parse_time

if TYPE_CHECKING:
    from mql.ingest.files import BadRow


def blank(value: Any) -> bool:
    """None, or text of only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def text_field(data: Mapping[str, Any], name: str, *, source: str, row: int,
               limit: int = 200, required: bool = False) -> str | None:
    """The text of `name`, stripped, within `limit` characters (`mql.limits`)."""
    value = data.get(name)
    if blank(value):
        if required:
            raise InputError(source, row, name, "is empty")
        return None
    text = str(value).strip()
    problem = limits.text_problem(text, limit)
    if problem is not None:
        raise InputError(source, row, name, problem)
    return text


def time_field(data: Mapping[str, Any], name: str, *, source: str, row: int,
               style: DateStyle | None, required: bool = False) -> datetime | None:
    """The time of `name` (ISO 8601, or the mapping's date style), in UTC."""
    value = data.get(name)
    if blank(value):
        if required:
            raise InputError(source, row, name, "is empty; a time is required")
        return None
    return parse_time(value, source=source, row=row, field=name, style=style)


def email_field(data: Mapping[str, Any], name: str, *, source: str, row: int,
                required: bool = False) -> str | None:
    """The address of `name`, normalised (lower case, trimmed) and checked."""
    value = data.get(name)
    if blank(value):
        if required:
            raise InputError(source, row, name, "is empty; an email is required")
        return None
    email = normalize_email(str(value))
    problem = limits.email_problem(email)
    if problem is not None:
        raise InputError(source, row, name, problem)
    return email


def raw_json(row: Any) -> str:
    """A raw row as JSON text, as the quarantine keeps it (a line that is not a row:
    ``{"line": text}``)."""
    data = {"line": row} if isinstance(row, str) else dict(row) if isinstance(
        row, Mapping) else row
    return json.dumps(data, default=str, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Good:
    """A row that parsed: its number, the raw row and the record."""

    number: int
    raw: Mapping[str, Any]
    record: Any


@dataclass(frozen=True, slots=True)
class Refused:
    """A row that did not: its number, the raw row (a mapping, a line, or None when
    nothing was read), the field and why."""

    number: int
    raw: Mapping[str, Any] | str | None
    field: str | None
    reason: str
    read: bool = True  # False: the file's format could not give a row (a `BadRow`)

    @property
    def raw_text(self) -> str:
        return raw_json(self.raw) if self.raw else "{}"


@dataclass(slots=True)
class Batch:
    """The rows read since the last batch: how many, the good and the refused ones."""

    rows: int = 0
    good: list[Good] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def read_batches(items: Iterable[tuple[int, Mapping[str, Any] | BadRow]],
                 parse: Callable[[Mapping[str, Any], int], Any], batch_size: int
                 ) -> Iterator[Batch]:
    """Numbered rows, parsed by `parse` (which raises `InputError` for a bad value), in
    batches of at most `batch_size` good and refused rows; the last batch may be empty
    (so a loader commits once at the end, as for an empty file)."""
    from mql.ingest.files import BadRow  # files reads the consent and outcome columns

    batch = Batch()
    for number, raw in items:
        batch.rows += 1
        if isinstance(raw, BadRow):
            batch.refused.append(Refused(number, raw.raw, raw.error.field, raw.error.reason,
                                         read=False))
        else:
            try:
                batch.good.append(Good(number, raw, parse(raw, number)))
            except InputError as exc:
                batch.refused.append(Refused(number, raw, exc.field, exc.reason))
        if len(batch.good) + len(batch.refused) >= batch_size:
            yield batch
            batch = Batch()
    yield batch
