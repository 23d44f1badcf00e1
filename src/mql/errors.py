"""The one exception tree of mql.

Every error mql raises on purpose is an `MQLError`. Errors that are also input errors
subclass `ValueError` as well, so callers that only know the builtins still catch them.
This module imports nothing from mql, so every layer may use it.
"""

from __future__ import annotations


class MQLError(Exception):
    """Base class for every error mql raises on purpose."""


class ModelError(MQLError, ValueError):
    """The model file is invalid.

    `.problems` holds one `Problem` per mistake (file, line, column, field path, message);
    `str()` lists them all, one per line, followed by their count.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = [str(p) for p in self.problems]
        lines.append(f"{count} error" + ("" if count == 1 else "s"))
        super().__init__("\n".join(lines))


class Problem:
    """One mistake in a model file, located by file:line:column and field path."""

    __slots__ = ("column", "line", "message", "path", "source")

    def __init__(self, source: str, line: int, column: int, path: str, message: str) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.path = path
        self.message = message

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.column}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where} {self.message}"

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"


class InputError(MQLError, ValueError):
    """A row of an input file (contacts, accounts, events) cannot be used.

    The message names the file, the row number and the field; `.source`, `.row` and
    `.field` carry them for programs.
    """

    def __init__(self, source: str, row: int, field: str | None, message: str) -> None:
        self.source = source
        self.row = row
        self.field = field
        self.reason = message
        where = f"{source}:{row}" + (f" {field}" if field else "")
        super().__init__(f"{where}: {message}")


class ConfigError(MQLError, ValueError):
    """A setting, option or argument is invalid or names something that does not exist."""


class NotFound(MQLError, LookupError):
    """A contact, account, model version or other named thing does not exist."""


class StoreError(MQLError):
    """The operational store refused an operation; the message names the step."""


class StoreUnavailable(StoreError):
    """The database cannot be reached, opened, or is locked; the message says which."""


class DuplicateEvent(StoreError):
    """A row with the same key (e.g. event id) is already stored; nothing was written."""


class SchemaOutdated(StoreError):
    """The database schema is older (or newer) than this mql; run `mql migrate`."""


class MergeRefused(MQLError):
    """Two contacts were not merged because a guardrail forbids it; `.reason` says which."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class TransitionRefused(MQLError):
    """A lifecycle move is not allowed; `.reason` says which rule refused it."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Forbidden(MQLError, PermissionError):
    """The caller may use this action but not on this object (e.g. a seller acting on a
    lead of another team); the message names the owner and who may act."""
