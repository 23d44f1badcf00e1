"""External lists a model refers to: target accounts (ABM tiers), competitor, partner and
personal-email domains, suppression lists, disqualified industries.

A model names its lists under `lists:`, each a CSV file beside the model (read by the face:
`mql.service.scoring.load_model_file`), optionally one `column` of it and the rows whose
columns equal `filter`; conditions test `{field: account.domain, op: in_list, value:
competitors}`. The core never opens the files: the face reads them, and `parse_model`
gets the values. The values are part of the model: equal models have equal lists, and the
digest covers them, so a list change is a model change. A stored model version carries its
lists' values in `list_values:` (appended by `with_values`), so it reads back without the
files.

>>> from mql.model.yaml_marks import load
>>> text = "lists:\\n  tier_1: {file: abm.csv, column: domain, filter: {tier: 1}}\\n"
>>> [ref] = list_files(load(text), source="m.yaml")
>>> ref.name, ref.file, ref.column, ref.filter
('tier_1', 'abm.csv', 'domain', (('tier', '1'),))
>>> values_of(ref, [{"domain": "Acme.example", "tier": "1"}, {"domain": "b.example", "tier": "2"}])
('acme.example',)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from mql.errors import ModelError, Problem
from mql.model.yaml_marks import Located

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_LIST_VALUES = 1_000_000


@dataclass(frozen=True, slots=True)
class NamedList:
    """The values of one list, as read (trimmed, lower case, without blanks and repeats)."""

    name: str
    values: frozenset[str]

    def __repr__(self) -> str:
        return f"{self.name} ({len(self.values)} values)"


@dataclass(frozen=True, slots=True)
class ListFile:
    """One list the model reads from a file: which file, which column, which rows."""

    name: str
    file: str
    column: str | None = None  # None: the file's first column
    filter: tuple[tuple[str, str], ...] = ()  # only rows whose columns equal these
    line: int = 1
    col: int = 1


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def list_files(located: Located, *, source: str) -> list[ListFile]:
    """The lists the model in `located` reads from files; `ModelError` for a `lists:`
    section of the wrong shape (the face reads these files, then calls `parse_model`)."""
    data = located.data if isinstance(located.data, dict) else {}
    raw = data.get("lists")
    if raw is None:
        return []
    problems: list[Problem] = []

    def problem(path: tuple[str | int, ...], message: str, key: bool = False) -> None:
        mark = located.mark(path, key=key)
        dotted = ".".join(str(p) for p in path)
        problems.append(Problem(source, mark.line, mark.column, dotted, message))

    if not isinstance(raw, dict):
        problem(("lists",), "expected a mapping of list names to CSV files "
                "(competitors: lists/competitors.csv)")
        raise ModelError(problems)
    out: list[ListFile] = []
    for name, entry in raw.items():
        path: tuple[str | int, ...] = ("lists", str(name))
        if not isinstance(name, str) or not _NAME.match(name):
            problem(path, f"{name!r} is not a valid name (use lower case letters, digits and "
                    "underscores, starting with a letter)", key=True)
            continue
        if isinstance(entry, str):
            entry = {"file": entry}
        if not isinstance(entry, dict):
            problem(path, "expected a file (lists/x.csv), {file, column, filter} or "
                    "{values: [...]}")
            continue
        for key in entry:
            if key not in ("file", "column", "filter", "description", "values"):
                problem((*path, str(key)), "unknown key (expected one of: column, "
                        "description, file, filter, values)", key=True)
        if "values" in entry:
            if "file" in entry:
                problem((*path, "values"), "give either file or values, not both", key=True)
            continue  # written in the model itself: build_lists reads them
        file, column, where = entry.get("file"), entry.get("column"), entry.get("filter", {})
        if not isinstance(file, str) or not file.strip():
            problem(path if "file" not in entry else (*path, "file"),
                    "file is required: a CSV file, relative to the model file")
            continue
        if column is not None and not isinstance(column, str):
            problem((*path, "column"), f"expected a column name, got {column!r}")
            continue
        if not isinstance(where, dict) or any(isinstance(v, dict | list) for v in
                                              where.values()):
            problem((*path, "filter"), "expected {column: value, ...}")
            continue
        mark = located.mark(path)
        out.append(ListFile(name, file.strip(), column,
                            tuple((str(k), _text(v)) for k, v in where.items()),
                            mark.line, mark.column))
    if problems:
        raise ModelError(problems)
    return out


def values_of(ref: ListFile, rows: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The list's values in `rows` (a CSV's rows, header names as keys): the `column`
    (default: the first), of the rows matching `filter`, trimmed and in lower case, blanks
    and repeats dropped, in file order."""
    seen: dict[str, None] = {}
    for row in rows:
        if any(_text(row.get(k, "")).strip().casefold() != v.strip().casefold()
               for k, v in ref.filter):
            continue
        column = ref.column if ref.column is not None else next(iter(row), None)
        value = row.get(column) if column is not None else None
        if value is None or not _text(value).strip():
            continue
        seen.setdefault(_text(value).strip().casefold(), None)
    return tuple(seen)


def with_values(text: str, values: Mapping[str, Sequence[str]]) -> str:
    """The model text with its lists' values appended as `list_values:` (how a stored
    model version keeps them: it reads back without the files). The text above is kept
    as written, so every line and column of it still point at the same place."""
    if not values:
        return text
    block = yaml.safe_dump({"list_values": {k: list(v) for k, v in sorted(values.items())}},
                           sort_keys=False, allow_unicode=True, width=100)
    return (text if text.endswith("\n") else text + "\n") + \
        "# the values of the lists, as read from their files when this version was stored\n" \
        + block


def build_lists(located: Located, source: str, loaded: Mapping[str, Sequence[str]] | None
                ) -> tuple[dict[str, NamedList], list[Problem]]:
    """Every list of the model: `list_values:` in the text (a stored version) first, then
    the values the face `loaded` from the files `lists:` names. A list named under `lists:`
    whose values are in neither is a problem (the file was not read)."""
    data = located.data if isinstance(located.data, dict) else {}
    problems: list[Problem] = []
    try:
        list_files(located, source=source)  # the shape of lists:
    except ModelError as exc:
        problems.extend(exc.problems)
    out: dict[str, NamedList] = {}
    inline = data.get("list_values")
    if inline is not None and not isinstance(inline, dict):
        mark = located.mark(("list_values",))
        problems.append(Problem(source, mark.line, mark.column, "list_values",
                                "expected a mapping of list names to lists of values"))
        inline = {}
    declared = data.get("lists")
    written = {name: entry["values"] for name, entry in (
        declared.items() if isinstance(declared, dict) else ())
        if isinstance(entry, dict) and "values" in entry and "file" not in entry}
    for name, items in [*(inline or {}).items(), *written.items()]:
        where = ("list_values", str(name)) if name not in written else ("lists", str(name),
                                                                          "values")
        mark = located.mark(where)
        if name in out:
            continue
        if not isinstance(name, str) or not _NAME.match(name):
            continue  # list_files reports it
        if not isinstance(items, list) or any(isinstance(v, dict | list) for v in items):
            problems.append(Problem(source, mark.line, mark.column, ".".join(where),
                                    "expected a list of plain values"))
            continue
        out[name] = NamedList(name, frozenset(_text(v).strip().casefold() for v in items
                                              if v is not None and _text(v).strip()))
    for name, items in (loaded or {}).items():
        out.setdefault(name, NamedList(name, frozenset(items)))
    for name in declared if isinstance(declared, dict) else {}:
        if name not in out:
            mark = located.mark(("lists", str(name)))
            problems.append(Problem(source, mark.line, mark.column, f"lists.{name}",
                                    "the list's file was not read here (mql's commands "
                                    "read it beside the model file; where there is no "
                                    "file, as over HTTP, write the values in the model: "
                                    "values: [...])"))
    for named in out.values():
        if len(named.values) > MAX_LIST_VALUES:
            problems.append(Problem(source, 1, 1, f"lists.{named.name}",
                                    f"more than {MAX_LIST_VALUES:,} values"))
    return out, problems
