"""YAML text to plain data plus the line and column of every value and key.

Only the safe YAML subset is read (no tags that build objects): the model file is data,
never code. Duplicate keys are reported, since YAML would silently keep the last one.
Aliases are refused beyond `MAX_ALIASES`, and so is a document that expands (aliases
followed) to more than `MAX_VALUES` values or nests deeper than `MAX_DEPTH`: a few hundred
bytes of aliases can otherwise stand for billions of values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[str | int, ...]
MAX_DEPTH = 64  # a model file nests about 8 levels
MAX_ALIASES = 1000
MAX_VALUES = 200_000  # a 1 MB model file of plain values has fewer


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
        loader = _BoundedLoader(text)
    except yaml.YAMLError as exc:  # e.g. control characters, refused before parsing
        raise YamlSyntaxError(str(exc).splitlines()[0], Mark(1, 1)) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, {}, {}, ())
        _check_expansion(node)
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


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing too many aliases and too deep a nesting while composing
    (PyYAML composes recursively, so depth is bounded before Python's stack is)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlSyntaxError(f"more than {MAX_ALIASES} aliases (*name); a model "
                                      "file needs few", self._here())
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlSyntaxError(f"nested more than {MAX_DEPTH} levels deep",
                                      self._here())
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _here(self) -> Mark:
        """Where the next event starts."""
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        return Mark(mark.line + 1, mark.column + 1) if mark is not None else Mark(1, 1)



def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph that stands for more than `MAX_VALUES` values, nests deeper than
    `MAX_DEPTH` with its aliases followed, or refers to itself; counted once per distinct
    node (aliases share nodes), so this is linear in the text."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            open_.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > MAX_VALUES:
                raise YamlSyntaxError(f"the document expands to more than {MAX_VALUES:,} "
                                      "values (aliases followed)", _mark(node))
            if depth[key] > MAX_DEPTH:
                raise YamlSyntaxError(f"with its aliases followed, the document nests more "
                                      f"than {MAX_DEPTH} levels deep", _mark(node))
            continue
        if key in size:
            continue
        if key in open_:
            raise YamlSyntaxError("an alias refers to the value that contains it",
                                  _mark(node))
        open_.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


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
