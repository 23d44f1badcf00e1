"""The jurisdiction of a contact: from its country (ISO 3166-1 alpha-2) and, where the
model names one, its region (``CC-RR``: a US state, a Canadian province).

| countries | jurisdiction | law |
|---|---|---|
| EU member states, Iceland, Liechtenstein, Norway | `gdpr` | EU GDPR with the ePrivacy rules |
| GB (and UK), plus Gibraltar, Guernsey, Jersey, Isle of Man | `uk` | UK GDPR and PECR |
| CA | `casl` | Canada's Anti-Spam Legislation |
| US | `can_spam` | CAN-SPAM |
| anything else, and an unknown country | `default` | the model's default line |

The model's `consent.countries` adds to or overrides the table (``{"CH": gdpr}``,
``{"US-CA": ccpa}``); a region entry wins over its country's.

>>> of("de"), of("GB"), of(" CA "), of("US"), of(None), of("BR")
('gdpr', 'uk', 'casl', 'can_spam', 'default', 'default')
>>> of("US", "CA", overrides={"US-CA": "gdpr"}), of("US", "NY", overrides={"US-CA": "gdpr"})
('gdpr', 'can_spam')
"""

from __future__ import annotations

from collections.abc import Mapping

EU_EEA = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    "IS", "LI", "NO"})  # fmt: skip
UK = frozenset({"GB", "UK", "GI", "GG", "JE", "IM"})
TABLE: Mapping[str, str] = {**dict.fromkeys(EU_EEA, "gdpr"), **dict.fromkeys(UK, "uk"),
                            "CA": "casl", "US": "can_spam"}
DEFAULT = "default"


def of(country: object, region: object = None, *,
       overrides: Mapping[str, str] | None = None) -> str:
    """The jurisdiction of a contact in `country` (and `region`); `default` when the
    country is missing or not in the table."""
    code = str(country).strip().upper() if country is not None else ""
    if not code:  # no country: no entry of the table applies, not even a blank one
        return DEFAULT
    extra = overrides or {}
    if region is not None and str(region).strip():
        found = extra.get(f"{code}-{str(region).strip().upper()}")
        if found is not None:
            return found
    return extra.get(code) or TABLE.get(code, DEFAULT)
