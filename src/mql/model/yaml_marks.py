"""YAML text to plain data plus the line and column of every value and key.

Only the safe YAML subset is read (no tags that build objects): the model file is data,
never code. Duplicate keys are reported, since YAML would silently keep the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True, slots=True)
class Located:
    """The data of a YAML document and where each part of it starts."""

    data: Any
    values: dict[Path, Mark]  # path -> where its value starts
    keys: dict[Path, Mark]  # path -> where its key starts
    duplicates: tuple[tuple[Path, Mark], ...]

    def mark(self, path: Path, *, key: bool = False) -> Mark:
        """Where `path` is, or its nearest located ancestor (for missing keys)."""
        table = self.keys if key else self.values
        while path:
            if path in table:
                return table[path]
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), Mark(1, 1))


class YamlSyntaxError(Exception):
    """The text is not valid YAML; `.mark` says where the parser stopped."""

    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.mark = mark


_PLAIN = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:omap"})


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def load(text: str) -> Located:
    """Parse `text` as one YAML document, keeping the position of every part.

    >>> doc = load("a:\\n  b: [1, 2]\\n")
    >>> doc.data, doc.values[("a", "b", 1)]
    ({'a': {'b': [1, 2]}}, Mark(line=2, column=10))
    """
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:  # e.g. control characters, refused before parsing
        raise YamlSyntaxError(str(exc).splitlines()[0], Mark(1, 1)) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, {}, {}, ())
        values: dict[Path, Mark] = {}
        keys: dict[Path, Mark] = {}
        duplicates: list[tuple[Path, Mark]] = []
        data = _build(loader, node, (), values, keys, duplicates)
    except YamlSyntaxError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
        raise YamlSyntaxError(f"{exc.problem or exc.context}", where) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), Mark(1, 1)) from None
    finally:
        loader.dispose()
    return Located(data, values, keys, tuple(duplicates))


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: Path,
    values: dict[Path, Mark],
    keys: dict[Path, Mark],
    duplicates: list[tuple[Path, Mark]],
) -> Any:
    values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN:
        raise YamlSyntaxError(f"the tag {node.tag} is not allowed: a model file is plain data",
                              _mark(node))
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                key = str(key)
            child = (*path, key if isinstance(key, str | int) else str(key))
            if key in result:
                duplicates.append((child, _mark(key_node)))
            keys[child] = _mark(key_node)
            result[key] = _build(loader, value_node, child, values, keys, duplicates)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, (*path, i), values, keys, duplicates)
            for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
