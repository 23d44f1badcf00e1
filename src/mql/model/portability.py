"""What a valid model uses that a batch engine cannot run.

Streaming scoring (`mql score`, the store, the API) evaluates `matches` with Python's `re`;
the batch engines hand the pattern to their database: DuckDB uses RE2, which has no
look-around, back-references, atomic groups, possessive quantifiers or conditionals;
Spark uses Java's regex, which lacks conditionals and Python's `(?P<name>...)` and
`(?P=name)` spellings. `mql validate` reports these, and `mql rescore` refuses such a
model for that engine before it starts.

>>> regex_limits(r"(?<=vp )sales|\\bcto\\b")
{'duckdb': ['a look-behind (?<=...)']}
>>> regex_limits(r"[(?=]\\((?!x)")  # inside a class, or escaped, nothing is special
{'duckdb': ['a look-ahead (?=... or (?!...)']}
>>> regex_limits(r"(?P<w>a)(?P=w)")["spark"]
['a named group (?P<name>...) (Java spells it (?<name>...))', 'a named back-reference (?P=name)']
"""

from __future__ import annotations

from collections.abc import Iterator

from mql.model.conditions import Activity, All, AnyOf, Compare, Condition, Not
from mql.model.spec import FitRule, IntentRule, Model

ENGINES = {"duckdb": "DuckDB (RE2)", "spark": "Spark (Java regex)"}

# (prefix at a group opening, what it is, the engines that cannot run it)
_GROUPS = (
    ("(?<=", "a look-behind (?<=...)", ("duckdb",)),
    ("(?<!", "a look-behind (?<!...)", ("duckdb",)),
    ("(?=", "a look-ahead (?=... or (?!...)", ("duckdb",)),
    ("(?!", "a look-ahead (?=... or (?!...)", ("duckdb",)),
    ("(?>", "an atomic group (?>...)", ("duckdb",)),
    ("(?(", "a conditional (?(...)...)", ("duckdb", "spark")),
    ("(?P=", "a named back-reference (?P=name)", ("duckdb", "spark")),
    ("(?P<", "a named group (?P<name>...) (Java spells it (?<name>...))", ("spark",)),
)


def regex_limits(pattern: str) -> dict[str, list[str]]:
    """The constructs of `pattern` each batch engine cannot run (engines with none are
    left out); escapes and character classes are skipped as the regex parser would."""
    found: dict[str, list[str]] = {}

    def note(what: str, engines: tuple[str, ...]) -> None:
        for engine in engines:
            if what not in found.setdefault(engine, []):
                found[engine].append(what)

    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1 : i + 2]
            if not in_class and nxt.isdigit() and nxt != "0":
                note("a back-reference (\\1 ...)", ("duckdb",))
            i += 2
            continue
        if in_class:
            in_class = c != "]"
            i += 1
            continue
        if c == "[":
            in_class = True
            i += 1
            i += pattern[i : i + 1] == "^"
            i += pattern[i : i + 1] == "]"  # a leading ] is a literal
            continue
        for prefix, what, engines in _GROUPS:
            if pattern.startswith(prefix, i):
                note(what, engines)
                break
        if c in "*+?}" and pattern[i + 1 : i + 2] == "+" and not pattern.startswith("(?", i - 1):
            note("a possessive quantifier (*+, ++, ?+)", ("duckdb",))
        i += 1
    return {engine: found[engine] for engine in ENGINES if found.get(engine)}


def _conditions(model: Model) -> Iterator[tuple[str, Condition]]:
    for score in model.scores.values():
        for rule in score.rules:
            if isinstance(rule, FitRule):
                yield f"{score.name}.rules[{rule.name}].when", rule.when
            elif isinstance(rule, IntentRule) and rule.where is not None:
                yield f"{score.name}.rules[{rule.name}].when", rule.where
            if isinstance(rule, IntentRule) and rule.after and rule.after.where is not None:
                yield f"{score.name}.rules[{rule.name}].after.when", rule.after.where
    for criterion in model.mql.criteria:
        yield f"mql.criteria[{criterion.name}].when", criterion.when
    for excluded in model.mql.exclude:
        yield f"mql.exclude[{excluded.name}].when", excluded.when
    for fast in model.mql.fast_track:
        if fast.where is not None:
            yield f"mql.fast_track[{fast.name}].when", fast.where


def _patterns(cond: Condition) -> Iterator[Compare]:
    if isinstance(cond, Compare):
        if cond.op == "matches" and isinstance(cond.value, str):
            yield cond
    elif isinstance(cond, All | AnyOf):
        for item in cond.items:
            yield from _patterns(item)
    elif isinstance(cond, Not):
        yield from _patterns(cond.item)
    elif isinstance(cond, Activity):
        for where in (cond.where, cond.after.where if cond.after else None):
            if where is not None:
                yield from _patterns(where)


def batch_limits(model: Model, engine: str | None = None) -> list[str]:
    """One line per `matches` pattern of `model` that `engine` (default: any batch engine)
    cannot run, naming the rule, the pattern, the construct and the engine."""
    lines: list[str] = []
    for where, cond in _conditions(model):
        for compare in _patterns(cond):
            for name, constructs in regex_limits(compare.value).items():
                if engine is None or name == engine:
                    lines.append(f"{where}: {compare.field} matches {compare.value!r} uses "
                                 f"{' and '.join(constructs)}, which {ENGINES[name]} cannot "
                                 f"run (mql rescore --engine {name})")
    return lines
