"""Column mappings for CRM exports: HubSpot and Salesforce headers to mql's columns.

`detect(headers, kind)` picks a mapping from the header row ("auto"); `map_row` renames the
columns of one row. Headers are compared case-insensitively and without surrounding
blanks. Columns a mapping does not name keep their header (they become custom
attributes). External record ids land in ``hubspot_id`` / ``salesforce_id``, which identity
resolution uses to merge duplicates.

>>> row = {"Record ID": "51", "Email": "Jane@Acme.com", "Company Name": "Acme",
...        "Number of Employees": "250", "Lifecycle Stage": "Lead"}
>>> detect(row, "contacts")
'hubspot'
>>> map_row(row, "contacts", "hubspot")
{'hubspot_id': '51', 'email': 'Jane@Acme.com', 'company': 'Acme', 'employees': '250', \
'lifecycle_stage': 'lead'}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mql.errors import ConfigError

MAPPINGS = ("auto", "mql", "hubspot", "salesforce")
EXTERNAL_ID_FIELDS = {"hubspot_id": "hubspot", "salesforce_id": "salesforce",
                      "user_id": "segment", "external_id": "crm"}

_COMMON = {
    "email": "email", "email address": "email", "first name": "first_name",
    "last name": "last_name", "job title": "title", "title": "title",
    "industry": "industry", "country": "country", "country/region": "country",
    "state/region": "state", "city": "city", "phone number": "phone", "phone": "phone",
    "annual revenue": "revenue", "number of employees": "employees",
    "employees": "employees", "no. of employees": "employees", "website": "website",
    "website url": "website",
}
HUBSPOT = {
    "contacts": {**_COMMON, "record id": "hubspot_id", "contact id": "hubspot_id",
                 "company name": "company", "associated company": "company",
                 "lifecycle stage": "lifecycle_stage", "lead status": "lead_status",
                 "contact owner": "owner", "create date": "created_at",
                 "original source": "source", "seniority": "seniority",
                 "job function": "department", "buying role": "committee_role"},
    "accounts": {**_COMMON, "record id": "hubspot_id", "company id": "hubspot_id",
                 "company domain name": "domain", "domain": "domain", "company name": "name",
                 "name": "name", "company owner": "owner", "lifecycle stage": "status",
                 "type": "status", "technologies": "technologies",
                 "web technologies": "technologies", "abm tier": "abm_tier",
                 "ideal customer profile tier": "abm_tier"},
}
SALESFORCE = {
    "contacts": {**_COMMON, "lead id": "salesforce_id", "contact id": "salesforce_id",
                 "id": "salesforce_id", "company": "company", "account name": "company",
                 "lead status": "lead_status", "status": "lead_status",
                 "lead source": "source", "lead owner": "owner", "contact owner": "owner",
                 "created date": "created_at", "department": "department",
                 "mailing country": "country"},
    "accounts": {**_COMMON, "account id": "salesforce_id", "id": "salesforce_id",
                 "account name": "name", "account owner": "owner", "type": "status",
                 "billing country": "country", "account domain": "domain",
                 "domain": "domain"},
}
_TABLES = {"hubspot": HUBSPOT, "salesforce": SALESFORCE}
_SIGNATURES = {
    "hubspot": {"record id", "lifecycle stage", "company domain name", "country/region",
                "contact owner", "associated company", "number of employees"},
    "salesforce": {"lead id", "account id", "lead source", "lead owner", "account name",
                   "billing country", "mailing country", "no. of employees"},
}
# HubSpot lifecycle stages as mql's stage names
_STAGES = {"subscriber": "subscriber", "lead": "lead", "marketingqualifiedlead": "mql",
           "marketing qualified lead": "mql", "salesqualifiedlead": "sql",
           "sales qualified lead": "sql", "opportunity": "opportunity", "customer": "customer",
           "evangelist": "customer", "other": "other"}


def _key(header: str) -> str:
    return " ".join(header.strip().lower().split())


def detect(headers: Iterable[str], kind: str) -> str:
    """'hubspot', 'salesforce' or 'mql': whose export these headers look like.

    >>> detect(["Lead ID", "Email", "Company", "Lead Status"], "contacts")
    'salesforce'
    >>> detect(["email", "account"], "contacts")
    'mql'
    """
    keys = {_key(h) for h in headers}
    best, hits = "mql", 0
    for name, signature in _SIGNATURES.items():
        count = len(keys & signature)
        if count > hits:
            best, hits = name, count
    return best


def check(mapping: str) -> str:
    """`mapping` if known; `ConfigError` listing the choices otherwise."""
    if mapping not in MAPPINGS:
        raise ConfigError(f"unknown mapping {mapping!r}; choose one of {', '.join(MAPPINGS)}")
    return mapping


def map_row(row: Mapping[str, Any], kind: str, mapping: str) -> dict[str, Any]:
    """`row` with its headers renamed for `mapping` ("mql" and events: unchanged).

    When the account domain is missing, a website column gives it (accounts).
    """
    table = _TABLES.get(check(mapping), {}).get(kind)
    if table is None:
        return dict(row)
    out: dict[str, Any] = {}
    for header, value in row.items():
        name = table.get(_key(header), header)
        if name in out and out[name] not in (None, ""):
            continue  # the first column of two that map to the same field wins
        out[name] = value
    if kind == "contacts" and isinstance(out.get("lifecycle_stage"), str):
        stage = out["lifecycle_stage"].strip().lower()
        out["lifecycle_stage"] = _STAGES.get(stage, stage) or None
    if kind == "accounts" and not out.get("domain") and out.get("website"):
        out["domain"] = str(out["website"])
    if kind == "accounts" and isinstance(out.get("domain"), str):
        out["domain"] = _host(out["domain"])
    return out


def _host(text: str) -> str:
    host = text.strip().lower()
    if "://" in host:
        host = host.split("://", 1)[1]
    return host.split("/", 1)[0].removeprefix("www.")


def mapped_columns(headers: Iterable[str], kind: str, mapping: str) -> list[str]:
    """The column names a row with these `headers` has after `mapping` (for the header
    check, before any row is read).

    >>> mapped_columns(["Company Domain Name", "Name"], "accounts", "hubspot")
    ['domain', 'name']
    >>> mapped_columns(["Website"], "accounts", "hubspot")
    ['website', 'domain']
    """
    return list(map_row({h: "x" for h in headers}, kind, mapping))
