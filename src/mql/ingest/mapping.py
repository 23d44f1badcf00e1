"""Column mappings: a CRM export's or spreadsheet's headers and values to mql's columns.

A mapping is a YAML file (docs/ingest.md, "Mapping files"): for each kind (``contacts``,
``accounts``, ``events``) the ``columns`` (source header -> mql field, or a list of
fields), ``values`` (mql field -> {source value: mql value}), plus ``date_format``,
``dayfirst`` and ``detect`` (header names that identify the export for ``--mapping
auto``). The built-in HubSpot and Salesforce mappings are such files
(``mql/ingest/mappings/*.yaml``), loaded by the same code as a user's file.

Headers and value-map keys are compared case-insensitively and without surrounding
blanks (value keys also ignore spaces, dashes and underscores). Columns a mapping does not
name keep their header (they become custom attributes). On contacts, a field
``account.<name>`` is a column of the contact's company (`Company Name`, `Number of
Employees` ...): `parse` returns it as the `company` of the row, for the account the
contact is matched to. External record ids land in ``hubspot_id`` / ``salesforce_id``,
which identity resolution uses to merge duplicates.

>>> row = {"Record ID": "51", "Email": "Jane@Acme.com", "Company Name": "Acme",
...        "Number of Employees": "1,001-5,000", "Lifecycle Stage": "marketingqualifiedlead"}
>>> hubspot = builtin("hubspot")
>>> detect(row, "contacts").name
'hubspot'
>>> parsed = parse(row, "contacts", hubspot, source="hs.csv", number=2)
>>> parsed.record.attributes["lifecycle_stage"], parsed.company
('mql', Account(domain='acme.com', attributes={'name': 'Acme', 'employees': 1001}))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Generic, TypeVar

from mql.errors import ConfigError, InputError, Problem
from mql.ingest import consent, outcomes
from mql.ingest.files import BadRow, Kind, Loaded, ReadOptions, Rejected, RowSource, read_text
from mql.ingest.formats import (
    ACCOUNT_COLUMNS,
    CONTACT_COLUMNS,
    EVENT_COLUMNS,
    EXTERNAL_ID_FIELDS,
    AmbiguousDate,
    DateStyle,
    account_from_row,
    contact_from_row,
    event_from_row,
    slash_order,
    snake,
)
from mql.model.yaml_marks import Located, YamlSyntaxError
from mql.model.yaml_marks import load as load_yaml
from mql.records import Account, Contact, Event, external_key

BUILTINS = ("hubspot", "salesforce", "salesforce_contact_roles")
MAPPINGS = ("auto", "mql", *BUILTINS)
KINDS: tuple[Kind, ...] = ("contacts", "accounts", "events", *outcomes.OUTCOME_KINDS,
                          "consent")
ACCOUNT_PREFIX = "account."
_TIME_FIELDS = {"contacts": ("created_at",), "accounts": (), "events": ("timestamp",),
                **outcomes.TIME_FIELDS, "consent": consent.TIME_FIELDS}
_FIELDS = {"contacts": frozenset({*CONTACT_COLUMNS, *EXTERNAL_ID_FIELDS}),
           "accounts": frozenset({*ACCOUNT_COLUMNS, *EXTERNAL_ID_FIELDS}),
           "events": frozenset({*EVENT_COLUMNS, *EXTERNAL_ID_FIELDS}), **outcomes.FIELDS,
           "consent": frozenset(consent.CONSENT_COLUMNS)}
_TOP_KEYS = ("name", "description", "detect", "date_format", "dayfirst", *KINDS)
_KIND_KEYS = ("columns", "values")


def _key(header: str) -> str:
    return " ".join(str(header).strip().lower().split())


@dataclass(frozen=True, slots=True)
class Section:
    """How one kind of file is mapped: header key -> mql fields, field -> value map."""

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Mapping:
    """A loaded mapping file (or mql's own layout: `name` "mql", no sections)."""

    name: str
    sections: dict[str, Section] = field(default_factory=dict)
    detect: frozenset[str] = frozenset()
    style: DateStyle = field(default_factory=DateStyle)
    source: str = ""

    def with_style(self, date_format: str | None, dayfirst: bool | None) -> Mapping:
        """This mapping with the command line's date options over the file's."""
        style = DateStyle(date_format or self.style.format,
                          self.style.dayfirst if dayfirst is None else dayfirst)
        return Mapping(self.name, self.sections, self.detect, style, self.source)


MQL = Mapping("mql")


def _problem(located: Located, source: str, path: tuple[str | int, ...], message: str,
             *, key: bool = False) -> Problem:
    mark = located.mark(path, key=key)
    return Problem(source, mark.line, mark.column, ".".join(str(p) for p in path), message)


def parse_mapping(text: str, *, source: str) -> Mapping:
    """The mapping described by `text`; `ConfigError` lists every problem as
    file:line:column field: message."""
    try:
        located = load_yaml(text)
    except YamlSyntaxError as exc:
        raise ConfigError(f"{source}:{exc.mark.line}:{exc.mark.column} not valid YAML: "
                          f"{exc}") from None
    problems = [_problem(located, source, p, "duplicate key (YAML keeps only the last)",
                         key=True) for p, _ in located.duplicates]
    data = located.data
    if not isinstance(data, dict):
        raise ConfigError(str(_problem(located, source, (), "expected a mapping with "
                                       "contacts, accounts or events at the top")))
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(_problem(located, source, (key,), "unknown key (expected one of: "
                                     f"{', '.join(_TOP_KEYS)})", key=True))
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name.strip():
        problems.append(_problem(located, source, ("name",), "must be a text"))
        name = Path(source).stem
    detect = data.get("detect", [])
    if not isinstance(detect, list) or not all(isinstance(h, str) for h in detect):
        problems.append(_problem(located, source, ("detect",), "must be a list of header "
                                 "names"))
        detect = []
    date_format = data.get("date_format")
    if date_format is not None and not _valid_format(date_format):
        problems.append(_problem(located, source, ("date_format",), f"{date_format!r} is "
                                 "not a strptime format with a year, month and day (e.g. "
                                 "'%d.%m.%Y %H:%M')"))
        date_format = None
    dayfirst = data.get("dayfirst")
    if dayfirst is not None and not isinstance(dayfirst, bool):
        problems.append(_problem(located, source, ("dayfirst",), "must be true or false"))
        dayfirst = None
    sections: dict[str, Section] = {kind: _section(located, source, kind, data[kind], problems)
                for kind in KINDS if kind in data}
    if not sections and not problems:
        problems.append(_problem(located, source, (), "names no columns: give contacts, "
                                 "accounts or events with their columns"))
    if problems:
        problems.sort(key=lambda p: (p.line, p.column))
        raise ConfigError("\n".join(str(p) for p in problems))
    return Mapping(name.strip(), sections, frozenset(_key(h) for h in detect),
                   DateStyle(date_format, dayfirst), source)


def _valid_format(text: Any) -> bool:
    if not isinstance(text, str) or (not all(d in text for d in ("%Y", "%m", "%d")) and \
            not all(d in text for d in ("%y", "%m", "%d")) and "%b" not in text):
        return False
    probe = datetime(2025, 3, 14, 9, 12, tzinfo=UTC)
    try:
        back = datetime.strptime(probe.strftime(text), text)  # noqa: DTZ007 - a date test
        return back.date() == probe.date()
    except ValueError:
        return False


def _section(located: Located, source: str, kind: str, data: Any,
             problems: list[Problem]) -> Section:
    if not isinstance(data, dict):
        problems.append(_problem(located, source, (kind,), "must be a mapping with columns "
                                 "(and values)"))
        return Section()
    for key in data:
        if key not in _KIND_KEYS:
            problems.append(_problem(located, source, (kind, key), "unknown key (expected "
                                     f"one of: {', '.join(_KIND_KEYS)})", key=True))
    columns: dict[str, tuple[str, ...]] = {}
    raw_columns = data.get("columns", {})
    if not isinstance(raw_columns, dict):
        problems.append(_problem(located, source, (kind, "columns"), "must map source "
                                 "headers to mql fields"))
        raw_columns = {}
    for header, target in raw_columns.items():
        where = (kind, "columns", header)
        targets = target if isinstance(target, list) else [target]
        if not targets or not all(isinstance(t, str) and t.strip() for t in targets):
            problems.append(_problem(located, source, where, "must be an mql field name or a "
                                     "list of them"))
            continue
        for t in targets:
            if t.startswith(ACCOUNT_PREFIX) and (kind != "contacts"
                                                 or not t[len(ACCOUNT_PREFIX):].strip()):
                problems.append(_problem(located, source, where, f"{t!r}: account.<field> "
                                         "is only for the company columns of contacts"))
        columns[_key(str(header))] = tuple(t.strip() for t in targets)
    values: dict[str, dict[str, str]] = {}
    raw_values = data.get("values", {})
    if not isinstance(raw_values, dict):
        problems.append(_problem(located, source, (kind, "values"), "must map mql fields to "
                                 "{source value: mql value}"))
        raw_values = {}
    for name, table in raw_values.items():
        if not isinstance(table, dict) or not all(
                isinstance(v, str | int | float) for v in table.values()):
            problems.append(_problem(located, source, (kind, "values", name), "must map "
                                     "source values to mql values"))
            continue
        values[str(name)] = {snake(str(k)): str(v) for k, v in table.items()}
    return Section(columns, values)


def load_mapping(path: Path) -> Mapping:
    """The mapping file at `path`; `ConfigError` names file:line and field."""
    return parse_mapping(read_text(path, "mapping"), source=str(path))


@cache
def builtin(name: str) -> Mapping:
    """A built-in mapping (package data `mql/ingest/mappings/<name>.yaml`)."""
    if name == "mql":
        return MQL
    if name not in BUILTINS:
        raise ConfigError(f"unknown mapping {name!r}; choose one of {', '.join(MAPPINGS)} "
                          "or give a mapping file (.yaml)")
    resource = files("mql.ingest").joinpath("mappings", f"{name}.yaml")
    return parse_mapping(resource.read_text(encoding="utf-8"), source=f"{name}.yaml")


def resolve(spec: str | Path | None) -> Mapping | None:
    """The mapping `spec` names: None for "auto" (detect from the header), a built-in
    name, or the path of a mapping file."""
    if spec is None or str(spec) == "auto":
        return None
    text = str(spec)
    if text in ("mql", *BUILTINS):
        return builtin(text)
    if text.endswith((".yaml", ".yml")) or "/" in text or Path(text).exists():
        return load_mapping(Path(text))
    return builtin(text)  # the ConfigError listing the choices


def check(spec: str) -> str:
    """`spec` if it names a mapping; `ConfigError` listing the choices otherwise."""
    resolve(spec)
    return spec


def detect(headers: Iterable[str], kind: str) -> Mapping:
    """The built-in mapping whose `detect` headers the file shares most; mql's layout if
    none.

    >>> detect(["Lead ID", "Email", "Company", "Lead Status"], "contacts").name
    'salesforce'
    >>> detect(["email", "account"], "contacts").name
    'mql'
    """
    keys = {_key(h) for h in headers}
    best, hits = MQL, 0
    for name in BUILTINS:
        mapping = builtin(name)
        count = len(keys & mapping.detect)
        if kind in mapping.sections and count > hits:
            best, hits = mapping, count
    return best


def map_row(row: MappingABC[str, Any], kind: str, mapping: Mapping) -> dict[str, Any]:
    """`row` with its headers renamed and its values mapped (mql's layout: unchanged).

    The first of two columns that map to the same field wins when it is not empty. A
    header the mapping does not name keeps its name, unless it is an mql field written
    another way (`Email`, `First Name`).
    """
    section = mapping.sections.get(kind)
    if section is None:
        return dict(row)
    out: dict[str, Any] = {}
    fields = _FIELDS[kind]
    for header, value in row.items():
        # a header the mapping does not name that is an mql field ("Email") is that field
        plain = snake(header)
        for name in section.columns.get(_key(header), (plain if plain in fields else header,)):
            if name in out and out[name] not in (None, ""):
                continue
            out[name] = value
    for name, table in section.values.items():
        value = out.get(name)
        if isinstance(value, str) and value.strip():
            out[name] = table.get(snake(value), value)
    return out


def _host(text: str) -> str:
    host = text.strip().lower()
    if "://" in host:
        host = host.split("://", 1)[1]
    return host.split("/", 1)[0].split(":", 1)[0].removeprefix("www.")


@dataclass(frozen=True, slots=True)
class Parsed:
    """One row read through a mapping: the record, whether a contact named its account,
    its company (the account columns of a contacts row) and the optional fields that were
    dropped (each an `InputError` saying the row was kept)."""

    record: Any  # Account | Contact | Event, or an outcome row (`mql.ingest.outcomes`)
    named: bool = False
    company: Account | None = None
    warnings: tuple[InputError, ...] = ()


_PARSERS: dict[str, Callable[..., Any]] = {
    "accounts": account_from_row, "contacts": contact_from_row, "events": event_from_row,
    **outcomes.PARSERS, "consent": consent.consent_from_row}


def parse(row: MappingABC[str, Any], kind: str, mapping: Mapping, *, source: str,
          number: int, style: DateStyle | None = None) -> Parsed:
    """The record of one raw row after `mapping`; `InputError` when the row cannot be used.

    `style` (default: the mapping's) says how to read dates that are not ISO 8601.
    """
    style = style or mapping.style
    mapped = map_row(row, kind, mapping)
    company_data = {k[len(ACCOUNT_PREFIX):]: mapped.pop(k) for k in list(mapped)
                    if k.startswith(ACCOUNT_PREFIX)}
    company_domain = company_data.get("domain")
    if kind == "contacts" and company_domain not in (None, "") and \
            mapped.get("account") in (None, ""):
        mapped["account"] = _host(str(company_domain))  # the company's website names it
    if kind == "accounts":
        if mapped.get("domain") in (None, "") and mapped.get("website"):
            mapped["domain"] = str(mapped["website"])
        if isinstance(mapped.get("domain"), str):
            mapped["domain"] = _host(mapped["domain"])
    warnings: list[InputError] = []
    record = _PARSERS[kind](mapped, source=source, row=number, style=style, warnings=warnings)
    named = mapped.get("account")
    company = None
    if isinstance(record, Contact):
        company = _company(record, company_data, source=source, number=number, style=style,
                           warnings=warnings)
    return Parsed(record, named is not None and str(named).strip() != "", company,
                  tuple(warnings))


def _company(contact: Contact, data: dict[str, Any], *, source: str, number: int,
             style: DateStyle, warnings: list[InputError]) -> Account | None:
    """The account columns of a contacts row, on the domain they name or the contact's."""
    domain = data.pop("domain", None)
    domain = _host(str(domain)) if domain not in (None, "") else contact.account
    if not domain or not any(v not in (None, "") for v in data.values()):
        return None
    dropped: list[InputError] = []
    account = account_from_row({**data, "domain": domain}, source=source, row=number,
                               style=style, warnings=dropped)
    warnings.extend(InputError(w.source, w.row, f"{ACCOUNT_PREFIX}{w.field}", w.reason)
                    for w in dropped)  # named as the mapping names the company's fields
    attributes = {k: v for k, v in account.attributes.items() if v is not None}
    return Account(account.domain, attributes) if attributes else None


def dayfirst_of(rows: Iterable[MappingABC[str, Any]], kind: str, mapping: Mapping, *,
                source: str) -> bool | None:
    """Whether the slash dates of these rows are day first (True) or month first (False),
    from the values that can be read only one way; None if no value decides. A file whose
    values say both is refused (`ConfigError` naming the column and an example of each)."""
    seen: dict[bool, tuple[str, str]] = {}
    for row in rows:
        mapped = map_row(row, kind, mapping)
        for name in _TIME_FIELDS[kind]:
            value = mapped.get(name)
            if isinstance(value, str) and (order := slash_order(value)) is not None:
                seen.setdefault(order, (name, value))
        if len(seen) == 2:
            (n1, v1), (n2, v2) = seen[True], seen[False]
            raise ConfigError(f"{source}: dates are day first ({n1} {v1!r}) and month "
                              f"first ({n2} {v2!r}) in one file; give --date-format")
    if not seen:
        return None
    return next(iter(seen))


def mapped_columns(headers: Iterable[str], kind: str, mapping: Mapping) -> list[str]:
    """The column names a row with these `headers` has after `mapping` (for the header
    check, before any row is read); an accounts file's website gives the domain.

    >>> mapped_columns(["Company Domain Name", "Name"], "accounts", builtin("hubspot"))
    ['domain', 'name']
    >>> mapped_columns(["Lead ID", "Last Name"], "contacts", builtin("salesforce"))
    ['salesforce_id', 'last_name']
    """
    columns = list(map_row({h: "x" for h in headers}, kind, mapping))
    if kind == "accounts" and "website" in columns and "domain" not in columns:
        columns.append("domain")
    return columns


class Reader:
    """Rows of one file parsed through a mapping (detected from the header when `spec`
    is None), with the day order of ambiguous slash dates found by scanning the file.

    The rows come from `mql.ingest.files.RowSource` with `options` (encoding, value size
    limit, delimiter): a row that is not even a row of its format is `Rejected` with the
    reader's reason. `check_header` refuses a file whose header, after the mapping, lacks
    a required column.

    An ambiguous date (`03/04/2025`) without `--dayfirst`/`--monthfirst` or a
    `date_format` is resolved from the file's other dates; when none of them decides, the
    file is refused with `ConfigError` naming the column and the example.
    """

    def __init__(self, path: Path, kind: Kind, spec: Mapping | None, *,
                 date_format: str | None = None, dayfirst: bool | None = None,
                 options: ReadOptions | None = None) -> None:
        self.path = path
        self.kind = kind
        self.spec = spec
        self.date_format = date_format
        self.dayfirst = dayfirst
        self.rows = RowSource(path, options)
        self.mapping: Mapping | None = None
        if spec is not None:
            self.mapping = spec.with_style(date_format, dayfirst)

    def use(self, headers: Iterable[str]) -> Mapping:
        """The mapping for a file with these headers (detected once)."""
        if self.mapping is None:
            self.mapping = detect(headers, self.kind).with_style(self.date_format,
                                                                 self.dayfirst)
        return self.mapping

    def check_header(self) -> None:
        """`ConfigError` if the file's header (CSV, Parquet), read through the mapping,
        lacks a required column of the kind, before any row is read (the mapping is
        detected from the header here when it is "auto")."""
        header = self.rows.header()
        if header is not None:
            self.rows.check_header(self.kind,
                                   mapped_columns(header, self.kind, self.use(header)))

    def parse(self, row: MappingABC[str, Any], number: int, source: str | None = None
              ) -> Parsed:
        mapping = self.use(row.keys())
        where = source or str(self.path)
        try:
            return parse(row, self.kind, mapping, source=where, number=number)
        except AmbiguousDate as exc:
            again = RowSource(self.path, self.rows.options)
            order = dayfirst_of((r for _, r in again if not isinstance(r, BadRow)),
                                self.kind, mapping, source=str(self.path))
            if order is None:
                raise ConfigError(
                    f"{where}:{exc.row} {exc.field}: every slash date of the file reads "
                    f"both ways (e.g. {exc.reason.split(' reads')[0]}); give --dayfirst "
                    "(14/03/2025), --monthfirst (03/14/2025) or --date-format") from None
            self.mapping = mapping.with_style(mapping.style.format, order)
            return parse(row, self.kind, self.mapping, source=where, number=number)

    def records(self) -> Iterator[tuple[int, Parsed | Rejected]]:
        """Each row as `Parsed`, or as `Rejected` with the reason (the header is checked
        first)."""
        self.check_header()
        source = str(self.path)
        for number, row in self.rows:
            if isinstance(row, BadRow):
                yield number, Rejected(source, number, row.raw, row.error)
                continue
            try:
                yield number, self.parse(row, number)
            except InputError as exc:
                yield number, Rejected(source, number, row, exc)


class MappedFile:
    """The good records of a file read through a mapping, read again on every iteration
    and never all held (a batch engine's contacts and accounts). The rows rejected and
    the fields dropped by the last complete pass are in `rejected` and `warnings`."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.rejected: list[Rejected] = []
        self.warnings: list[InputError] = []

    def __iter__(self) -> Iterator[Any]:
        rejected: list[Rejected] = []
        warnings: list[InputError] = []
        for _, item in self.reader.records():
            if isinstance(item, Rejected):
                rejected.append(item)
            else:
                warnings.extend(item.warnings)
                yield item.record
        self.rejected, self.warnings = rejected, warnings


R = TypeVar("R", Account, Contact, Event)


def read_records(path: Path, kind: Kind, options: ReadOptions | None = None,
                 spec: Mapping | None = None) -> Iterator[tuple[int, Any | Rejected]]:
    """Each row of `path` as a record of `kind` (read through `spec`, detected when None),
    or as `Rejected` with the reason; a header without a required column raises
    `ConfigError` before any row. The fields a row dropped are not reported: use `Reader`
    for them."""
    for number, item in Reader(path, kind, spec, options=options).records():
        yield number, item if isinstance(item, Rejected) else item.record


class RecordFile(MappedFile, Generic[R]):
    """The good records of a file (`MappedFile` of a detected mapping), read again on every
    iteration, never all held: for inputs too large to keep as Python objects (a million
    contacts take gigabytes)."""

    def __init__(self, path: Path, kind: Kind, options: ReadOptions | None = None) -> None:
        super().__init__(Reader(path, kind, None, options=options))

    def __iter__(self) -> Iterator[R]:
        return super().__iter__()


def load(path: Path, kind: Kind, options: ReadOptions | None = None) -> Loaded[Any]:
    """Every good record of `path`, and every rejected row with its reason."""
    records: list[Any] = []
    rejected: list[Rejected] = []
    for _, item in read_records(path, kind, options):
        (rejected if isinstance(item, Rejected) else records).append(item)
    return Loaded(records, rejected)


def with_company(account: Account | None, company: Account) -> Account:
    """The account a contact's company columns describe: the account's own values (an
    accounts file, the store) win, the contact row fills the gaps.

    >>> with_company(Account("acme.com", {"employees": 900}),
    ...              Account("acme.com", {"employees": 1001, "industry": "software"}))
    Account(domain='acme.com', attributes={'employees': 900, 'industry': 'software'})
    """
    if account is None:
        return company
    known = {k: v for k, v in account.attributes.items() if v not in (None, "")}
    return Account(account.domain, {**company.attributes, **known})


def aliases(contacts: Iterable[Contact]) -> dict[str, str]:
    """The CRM-id keys of contacts that have an email: ``hubspot:1001`` -> the contact's
    key, so that events naming only the CRM id join the contact (file mode; the store
    joins on its identities)."""
    out: dict[str, str] = {}
    for contact in contacts:
        for name, namespace in EXTERNAL_ID_FIELDS.items():
            value = contact.attributes.get(name)
            if value not in (None, ""):
                out.setdefault(external_key(namespace, str(value)), contact.email)
    return out


def joined(event: Event, keys: MappingABC[str, str]) -> Event:
    """`event` attributed to the contact its CRM-id key stands for (see `aliases`)."""
    if event.contact is not None and event.contact in keys:
        return dataclasses.replace(event, contact=keys[event.contact])
    return event
