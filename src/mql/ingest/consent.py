"""Consent rows (`mql ingest consent`), in mql's own columns after the column mapping;
the synthetic world's ``consent.csv`` uses them as they are:

- `email` (required): the contact the consent is about;
- `status` (required): granted, denied, withdrawn (also opted_in, unsubscribed, ...);
- `at` (or `timestamp`, `given_at`; required): when the decision was made;
- `channel`: email (default), phone, sms, ads, sales, or ``all`` (a global
  do-not-contact);
- `basis` (or `legal_basis`): consent, legitimate_interest,
  existing_business_relationship, implied_inquiry, implied_purchase, none (also
  express_consent, opt_out_default, implied, ebr, ...); default: consent for a grant,
  none otherwise;
- `purpose` (default marketing), `source`, `expires_at`;
- evidence: `evidence` (a JSON object, or text), `form_id`, `ip`, `text_version`;
- `jurisdiction` and `regime` are read as evidence too (the jurisdiction that decides
  is the contact's, from its country: `mql.compliance.jurisdictions`).

A bad value raises `InputError` naming the row and the field; the row is quarantined.

>>> r = consent_from_row({"email": "Ann@Acme.example", "status": "Unsubscribed",
...                       "at": "2025-03-01T10:00:00Z", "channel": "E-mail"},
...                      source="c.csv", row=2)
>>> r.email, r.channel, r.status, r.basis, r.at.isoformat()
('ann@acme.example', 'email', 'withdrawn', 'none', '2025-03-01T10:00:00+00:00')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mql.compliance.consent import basis_of, channel_of, status_of
from mql.errors import InputError
from mql.ingest.formats import DateStyle
from mql.ingest.rows import blank, email_field, text_field, time_field
from mql.model.consent import BASES, CHANNELS, STATUSES

CONSENT_COLUMNS = ("email", "status", "at", "timestamp", "given_at", "channel", "basis",
                   "legal_basis", "purpose", "source", "expires_at", "evidence", "form_id",
                   "ip", "text_version", "jurisdiction", "regime")
REQUIRED = (("email",), ("status",), ("at", "timestamp", "given_at"))
TIME_FIELDS = ("at", "timestamp", "given_at", "expires_at")
_EVIDENCE = ("form_id", "ip", "text_version", "jurisdiction", "regime")


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """One consent change of the contact with `email`."""

    email: str
    channel: str
    status: str
    basis: str
    at: datetime
    purpose: str = "marketing"
    source: str | None = None
    expires_at: datetime | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    jurisdiction: str | None = None


def consent_from_row(data: Mapping[str, Any], *, source: str, row: int,
                     style: DateStyle | None = None,
                     warnings: list[InputError] | None = None) -> ConsentRow:
    """The consent change of one mapped row; `InputError` naming the field otherwise."""
    del warnings
    email = email_field(data, "email", source=source, row=row, required=True)
    word = text_field(data, "status", source=source, row=row, limit=40, required=True)
    status = status_of(word)
    if status is None or status == "unknown":
        raise InputError(source, row, "status", f"{word!r} is not a consent status (one of "
                         f"{', '.join(s for s in STATUSES if s != 'unknown')})")
    name = next((n for n in ("at", "timestamp", "given_at") if not blank(data.get(n))), "at")
    at = time_field(data, name, source=source, row=row, style=style, required=True)
    text = text_field(data, "channel", source=source, row=row, limit=40)
    channel = channel_of(text) if text else "email"
    if channel is None:
        raise InputError(source, row, "channel", f"{text!r} is not a channel (one of "
                         f"{', '.join(CHANNELS)}, or all)")
    field_name = "basis" if not blank(data.get("basis")) else "legal_basis"
    given = text_field(data, field_name, source=source, row=row, limit=100)
    basis = basis_of(given) if given else ("consent" if status == "granted" else "none")
    if basis is None:
        raise InputError(source, row, field_name, f"{given!r} is not a legal basis (one of "
                         f"{', '.join(BASES)})")
    evidence: dict[str, Any] = {}
    raw = data.get("evidence")
    if not blank(raw):
        if isinstance(raw, Mapping):
            evidence.update(raw)
        else:
            try:
                parsed = json.loads(str(raw))
            except ValueError:
                parsed = str(raw).strip()
            if isinstance(parsed, dict):
                evidence.update(parsed)
            else:
                evidence["text"] = str(raw).strip()[:2000]
    for key in _EVIDENCE:
        value = text_field(data, key, source=source, row=row, limit=200)
        if value is not None:
            evidence[key] = value
    expires = time_field(data, "expires_at", source=source, row=row, style=style)
    if expires is not None and at is not None and expires <= at:
        raise InputError(source, row, "expires_at", f"{expires:%Y-%m-%d %H:%M} is not after "
                         f"the record's time {at:%Y-%m-%d %H:%M}")
    assert email is not None and at is not None
    purpose = text_field(data, "purpose", source=source, row=row, limit=40) or "marketing"
    return ConsentRow(email, channel, status, basis, at, "_".join(purpose.lower().split()),
                      text_field(data, "source", source=source, row=row), expires, evidence,
                      text_field(data, "jurisdiction", source=source, row=row, limit=40))
