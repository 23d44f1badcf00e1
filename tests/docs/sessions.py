"""The console sessions of the docs, parsed, run and compared (docs/architecture.md, "Testing").

A session is a ```console block: `$ ` starts a command (a line ending in `\\` continues it),
the lines up to the next command are its shown output. Shown output is compared with what
the command prints (stdout and stderr, trailing spaces and blank edge lines ignored):

- a line that is only `...` stands for any number of lines, none included;
- `...` inside a line stands for any text;
- `<time>` stands for a date or a time (`2026-12-01`, `2026-12-01 20:01 UTC`, ISO 8601),
  `<n>` for a number (`1,234.5`), `<id>` and `<key>` for one word.

>>> match(["a <n> b", "...", "end"], ["a 1,200 b", "x", "y", "end"])
True
>>> match(["created <id> at <time>"], ["created 3f2a at 2026-12-01 20:01 UTC"])
True
>>> match(["a ... c"], ["a b"])
False
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

_FENCE = re.compile(r"^(\s*)```+\s*([\w-]*)")
_SKIP = re.compile(r"<!--\s*session:\s*skip\b\s*(.*?)\s*-->")
_PLACEHOLDERS = {
    "<time>": r"\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:?\d\d| UTC)?",
    "<n>": r"-?[\d,]+(?:\.\d+)?",
    "<id>": r"\S+",
    "<key>": r"\S+",
}
_TOKEN = re.compile("|".join(re.escape(t) for t in [*_PLACEHOLDERS, "..."]))


@dataclass
class Command:
    text: str
    line: int
    shown: list[str] = field(default_factory=list)


@dataclass
class Session:
    path: str
    line: int
    commands: list[Command]
    skip: str | None = None  # the reason given in `<!-- session: skip REASON -->`


def sessions(text: str, path: str) -> list[Session]:
    """Every ```console block of a Markdown text, in order."""
    lines = text.splitlines()
    found: list[Session] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        start, lang = i, fence.group(2)
        i += 1
        body: list[tuple[int, str]] = []
        while i < len(lines) and not lines[i].strip().startswith("```"):
            body.append((i + 1, lines[i]))
            i += 1
        i += 1
        if lang != "console":
            continue
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = _SKIP.search(previous)
        found.append(Session(path, start + 1, _commands(body),
                             (marker.group(1) or "no reason given") if marker else None))
    return found


def _commands(body: list[tuple[int, str]]) -> list[Command]:
    commands: list[Command] = []
    continued = False
    for number, line in body:
        if continued:
            commands[-1].text += "\n" + line
        elif line.startswith("$ "):
            commands.append(Command(line[2:], number))
        elif commands:
            commands[-1].shown.append(line)
            continue
        continued = bool(commands) and _open(commands[-1].text)
    return commands


def _open(command: str) -> bool:
    """True while a command goes on: its line ends in a backslash or a quote is open."""
    if command.endswith("\\"):
        return True
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return True
    return False


def _pattern(line: str) -> re.Pattern[str]:
    parts, last = [], 0
    for m in _TOKEN.finditer(line):
        literal = line[last:m.start()]
        if m.group() == "...":  # the spaces before `...` may be cut as trailing spaces are
            literal = re.escape(literal.rstrip()) + (r"\s*" if literal != literal.rstrip() else "")
            parts.append(literal)
        else:
            parts.append(re.escape(literal))
        parts.append(".*?" if m.group() == "..." else _PLACEHOLDERS[m.group()])
        last = m.end()
    parts.append(re.escape(line[last:]))
    return re.compile("".join(parts))


def trim(lines: list[str]) -> list[str]:
    """Lines without trailing spaces and without blank lines at either end."""
    out = [line.rstrip() for line in lines]
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    return out


def match(shown: list[str], printed: list[str]) -> bool:
    """True when `printed` is what `shown` shows (placeholders as in the module doc)."""
    shown, printed = trim(shown), trim(printed)
    patterns = [None if s.strip() == "..." else _pattern(s.strip()) for s in shown]
    # ok[i][j]: shown[i:] matches printed[j:]; filled from the end, so that a command
    # printing thousands of lines needs no recursion
    n, m = len(patterns), len(printed)
    ok = [[False] * (m + 1) for _ in range(n + 1)]
    ok[n][m] = True
    for i in range(n - 1, -1, -1):
        p = patterns[i]
        for j in range(m, -1, -1):
            if p is None:
                ok[i][j] = ok[i + 1][j] or (j < m and ok[i][j + 1])
            else:
                ok[i][j] = (j < m and ok[i + 1][j + 1]
                            and p.fullmatch(printed[j].strip()) is not None)
    return ok[0][0]
