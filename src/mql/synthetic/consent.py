"""Email consent per contact, consistent with the contact's jurisdiction.

Opt-in regimes (GDPR in the EU/EEA, UK GDPR, CASL in Canada, and the opt-in laws of
Australia, New Zealand, Japan and Brazil) allow marketing email only after an express
(or, under CASL, implied) consent. Opt-out regimes (CAN-SPAM in the US, and Singapore,
India, Mexico) allow it until the person unsubscribes.

>>> jurisdiction("DE"), jurisdiction("US"), jurisdiction("CA")
(('GDPR', 'opt_in'), ('CAN_SPAM', 'opt_out'), ('CASL', 'opt_in'))
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from mql.synthetic.draws import chance
from mql.synthetic.firmographics import EU_EEA

_OTHER = {"GB": ("UK_GDPR", "opt_in"), "CA": ("CASL", "opt_in"), "US": ("CAN_SPAM", "opt_out"),
          "AU": ("SPAM_ACT_AU", "opt_in"), "NZ": ("UEMA_NZ", "opt_in"), "JP": ("APPI", "opt_in"),
          "BR": ("LGPD", "opt_in"), "SG": ("PDPA_SG", "opt_out"), "IN": ("DPDP_IN", "opt_out"),
          "MX": ("LFPDPPP", "opt_out")}  # fmt: skip
# chance that a newly captured contact in an opt-in regime gives consent, by how captured
GRANT_AT_CAPTURE = {"web": 0.6, "list_import": 0.55, "event": 0.45, "sales": 0.3,
                    "product": 0.5}  # fmt: skip
CASL_IMPLIED = 0.75  # Canada: an inquiry gives implied consent this often
REGRANT_ON_FORM = 0.3  # a later form submit wins consent from someone who had declined


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One consent decision for `email` on a channel, at a time.

    `regime` is opt_in or opt_out; `status` granted, denied or withdrawn; `basis` says why
    (express_consent, implied_inquiry, opt_out_default, no_consent, unsubscribe).
    """

    email: str
    channel: str
    jurisdiction: str
    regime: str
    status: str
    basis: str
    at: datetime
    source: str


def jurisdiction(country: str) -> tuple[str, str]:
    """(law, regime) for a contact in `country` (ISO code); regime is opt_in or opt_out."""
    if country in EU_EEA:
        return "GDPR", "opt_in"
    return _OTHER.get(country, ("OTHER", "opt_out"))


def on_capture(
    rng: random.Random, email: str, country: str, source: str, at: datetime
) -> ConsentRecord:
    """The consent recorded when a person becomes a contact.

    >>> from datetime import UTC
    >>> at = datetime(2025, 1, 1, tzinfo=UTC)
    >>> r = on_capture(random.Random(0), "a@b.example", "US", "web", at)
    >>> r.status, r.basis
    ('granted', 'opt_out_default')
    """
    law, regime = jurisdiction(country)
    if regime == "opt_out":
        return ConsentRecord(email, "email", law, regime, "granted", "opt_out_default", at, source)
    if law == "CASL" and source in ("web", "product") and chance(rng, CASL_IMPLIED):
        return ConsentRecord(email, "email", law, regime, "granted", "implied_inquiry", at, source)
    if chance(rng, GRANT_AT_CAPTURE[source]):
        return ConsentRecord(email, "email", law, regime, "granted", "express_consent", at, source)
    return ConsentRecord(email, "email", law, regime, "denied", "no_consent", at, source)


def regrant(record: ConsentRecord, at: datetime) -> ConsentRecord:
    """A later express consent, given on a web form by someone who had declined."""
    return ConsentRecord(
        record.email,
        "email",
        record.jurisdiction,
        record.regime,
        "granted",
        "express_consent",
        at,
        "web",
    )


def withdraw(record: ConsentRecord, at: datetime) -> ConsentRecord:
    """The withdrawal recorded when the contact unsubscribes."""
    return ConsentRecord(
        record.email,
        "email",
        record.jurisdiction,
        record.regime,
        "withdrawn",
        "unsubscribe",
        at,
        "email",
    )
