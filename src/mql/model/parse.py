"""Model file text -> `Model`, with every mistake located by file:line:column and field.

`parse_model` never opens files: callers pass the text and the name to report. All
problems are collected and raised together as one `ModelError`.

>>> m = parse_model('''
... name: tiny
... fit:
...   rules:
...     - {name: us, when: {field: contact.country, op: eq, value: US}, points: 10}
... intent:
...   rules:
...     - {name: demo, event: demo_request, points: 40}
... mql:
...   thresholds: {total: 45}
... ''', source="tiny.yaml")
>>> m
Model('tiny', version=None, scores=['fit', 'intent'], rules=2)
>>> parse_model("name: x\\nfit: {rules: []}\\nintent: {rules: []}\\nmql: {}\\ncolour: red\\n")
Traceback (most recent call last):
...
mql.errors.ModelError: model.yaml:5:1 colour: unknown key (expected one of: accounts, attribution, consent, decay, description, event_types, exit, fields, fit, grades, intent, lifecycle, list_values, lists, mql, name, nurture, outcomes, reports, routing, scores, sla, tests, total, version)
1 error
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic

from mql.errors import ModelError, Problem
from mql.model import document as d
from mql.model.build import Builder, _suggest, as_yaml
from mql.model.lists import build_lists, with_values
from mql.model.spec import Model
from mql.model.yaml_marks import Located, Path, YamlSyntaxError, load


def parse_model(text: str, *, source: str = "model.yaml",
                lists: Mapping[str, Sequence[str]] | None = None) -> Model:
    """The `Model` described by `text`; raises `ModelError` listing every problem.

    `lists` holds the values of the lists the model reads from files (`lists:`), read by
    the caller (`mql.model.lists`; `mql.service.scoring.load_model_file` does it)."""
    try:
        located = load(text)
    except YamlSyntaxError as exc:
        raise ModelError(
            [Problem(source, exc.mark.line, exc.mark.column, "", f"not valid YAML: {exc}")]
        ) from None
    problems = [
        Problem(source, m.line, m.column, _dotted(p), "duplicate key (YAML keeps only the last)")
        for p, m in located.duplicates
    ]
    if not isinstance(located.data, dict):
        mark = located.mark(())
        problems.append(
            Problem(source, mark.line, mark.column, "", "expected a mapping of sections "
                    "(name, fit, intent, mql ...) at the top of the file")
        )
        raise ModelError(problems)
    named, list_problems = build_lists(located, source, lists)
    problems.extend(list_problems)
    try:
        doc = d.ModelDoc.model_validate(located.data)
    except pydantic.ValidationError as exc:
        problems.extend(_translate(exc, located, source))
        checker = Builder(located, source)
        checker.lists = named
        checker.check_raw(located.data)
        problems.extend(checker.problems)
        raise ModelError(_unique(problems)) from None
    builder = Builder(located, source)
    builder.lists = named
    model = builder.build(doc)
    problems.extend(builder.problems)
    if problems:
        raise ModelError(_unique(problems))
    digest = hashlib.sha256(with_values(text, lists or {}).encode()).hexdigest()
    object.__setattr__(model, "digest", digest)
    return model


def _unique(problems: list[Problem]) -> list[Problem]:
    """Problems in file order, each reported once."""
    seen: dict[str, Problem] = {}
    for p in sorted(problems, key=lambda p: (p.line, p.column)):
        seen.setdefault(str(p), p)
    return list(seen.values())


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _data_path(located: Located, loc: tuple[int | str, ...]) -> Path:
    """The path in the data for a pydantic `loc`, dropping the `kind` tags of scores."""
    path: list[str | int] = []
    node: Any = located.data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and node.get("kind") == part:
            continue  # the tag pydantic adds for the chosen kind of score
        else:
            path.append(part)  # a missing or unknown key: report it by name
            node = None
    return tuple(path)


def _allowed_keys(located: Located, path: Path) -> list[str]:
    """The keys the section at `path` accepts, found by walking the schema."""
    cls: Any = d.ModelDoc
    node: Any = located.data
    for part in path:
        parent_cls = cls
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
        if isinstance(part, int):
            continue
        if parent_cls is d.ModelDoc and part == "scores":
            cls = "scores"
        elif cls == "scores":
            kind = node.get("kind") if isinstance(node, dict) else None
            cls = d.IntentScoreDoc if kind == "intent" else d.FitScoreDoc
        else:
            fields = getattr(cls, "model_fields", {})
            if part not in fields:
                return []
            cls = _section_of(fields[part].annotation)
    return sorted(getattr(cls, "model_fields", {}))


def _section_of(annotation: Any) -> Any:
    """The pydantic section class inside an annotation such as `list[X] | None`."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _section_of(arg)
        if found is not None:
            return found
    return None


_KIND_WORDS = {
    "float": "a number",
    "int": "a whole number",
    "bool": "true or false",
    "string": "text",
    "str": "text",
    "list": "a list",
    "dict": "a mapping (key: value)",
    "model": "a mapping (key: value)",
}


def _translate(exc: pydantic.ValidationError, located: Located, source: str) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[Path, str]] = set()
    for error in exc.errors():
        loc = tuple(error["loc"])
        kind = error["type"]
        path = _data_path(located, loc)
        if kind == "extra_forbidden":
            allowed = _allowed_keys(located, path[:-1])
            close = _suggest(str(path[-1]), allowed).strip(" ()") if path else ""
            hint = f"{close} " if close else ""
            message = f"unknown key ({hint}expected one of: {', '.join(allowed)})"
            mark = located.mark(path, key=True)
        elif kind == "missing":
            message = f"{loc[-1]} is required"
            path = path[:-1] if path and path[-1] == loc[-1] else path
            mark = located.mark(path)
        else:
            message = _message(error)
            mark = located.mark(path)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        problems.append(Problem(source, mark.line, mark.column, _dotted(path), message))
    return problems


def _message(error: Any) -> str:
    kind: str = error["type"]
    given = error.get("input")
    shown = "a mapping" if isinstance(given, dict) else "a list" if isinstance(
        given, list) else "nothing" if given is None else as_yaml(given)
    if kind == "int_from_float":
        return f"expected a whole number, got {shown}"
    if kind == "string_too_long":
        return f"at most {error['ctx']['max_length']} characters, got {len(given)}"
    base = kind.split("_")[0]
    if kind.endswith(("_type", "_parsing")) and base in _KIND_WORDS:
        return f"expected {_KIND_WORDS[base]}, got {shown}"
    if kind == "model_attributes_type":
        return f"expected a mapping (key: value), got {shown}"
    if kind == "string_pattern_mismatch":
        return (f"{shown} is not a valid name (use lower case letters, digits and "
                "underscores, starting with a letter)")
    if kind == "literal_error":
        return f"{error['msg'].replace('Input should be', 'expected')}, got {shown}"
    if kind == "union_tag_invalid":
        return f"kind must be fit or intent, got {shown}"
    if kind == "union_tag_not_found":
        return "kind is required (fit or intent)"
    message = str(error["msg"]).replace("Input should be", "must be")
    message = message.removeprefix("Value error, ")
    return f"{message}, got {shown}"
