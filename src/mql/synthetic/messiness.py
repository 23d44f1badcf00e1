"""The dirt of real data, at a rate (`--dirty`): the same person under another email
(case, plus-tag, business-unit subdomain), events sent twice (same id) or copied (new id),
malformed rows (bad emails, unparseable timestamps, unknown event types) and missing
firmographics. Every piece of dirt is recorded in the ground truth.

>>> variant_email("jane.doe@acme.example", "plus_tag", tag="webinar")
'jane.doe+webinar@acme.example'
>>> variant_email("jane.doe@acme.example", "case", tag="")
'Jane.Doe@Acme.example'
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from mql.records import Account, Contact, Event
from mql.synthetic.draws import chance, one_of, pick
from mql.synthetic.truth import DuplicateMember, MalformedRow

VARIANT_FORMS = {"case": 0.4, "plus_tag": 0.3, "subdomain": 0.3}
VARIANT_USE = 0.5  # share of the person's later events that use the second email
RESEND_SHARE = 0.4  # per event, times the rate: sent again with the same id
COPY_SHARE = 0.2  # per event, times the rate: sent again under a new id
MALFORMED_EVENT_SHARE = 0.1  # per event, times the rate
MALFORMED_CONTACT_SHARE = 0.05  # per contact, times the rate
FIRMOGRAPHIC_FIELDS = ("industry", "employees", "revenue", "country", "region", "technologies")
_TAGS = ("news", "webinar", "trial", "mktg", "events")
_BUSINESS_UNITS = ("emea", "us", "corp", "na", "eu")
_BAD_TYPES = ("pageview", "Page Viewed", "demo-request", "webinar_attend", "email_opened",
              "PAGE_VIEW", "formsubmit")  # fmt: skip


@dataclass(frozen=True, slots=True)
class MalformedEvent:
    """An event whose timestamp was written as unparseable text; `event` holds the rest."""

    event: Event
    timestamp: str


def variant_email(email: str, form: str, *, tag: str) -> str:
    """`email` written another way: case, plus_tag or subdomain (`tag` is the plus-tag or
    business unit)."""
    local, domain = email.split("@", 1)
    if form == "case":
        return f"{'.'.join(p.capitalize() for p in local.split('.'))}@{domain.capitalize()}"
    if form == "plus_tag":
        return f"{local}+{tag}@{domain}"
    return f"{local}@{tag}.{domain}"


def bad_email(rng: random.Random, email: str) -> str:
    """`email` broken so that no reader accepts it (no dot in the domain, or a space).

    >>> bad_email(random.Random(1), "jane@acme.example") in ("jane@acme", "ja ne@acme.example")
    True
    """
    local, domain = email.split("@", 1)
    if chance(rng, 0.5):
        return f"{local}@{domain.split('.')[0]}"
    cut = max(1, len(local) // 2)
    return f"{local[:cut]} {local[cut:]}@{domain}"


def bad_timestamp(rng: random.Random, at: datetime) -> str:
    """`at` written in a form ISO 8601 readers refuse.

    >>> bad_timestamp(random.Random(0), datetime(2025, 3, 2, 14, 5))
    'yesterday'
    """
    forms = (
        at.strftime("%d/%m/%y %H.%M"),  # a two-digit year: mql refuses to guess the century
        at.strftime("%b %d, %Y %I:%M %p"),
        f"{at.year}-02-30T{at.hour:02d}:{at.minute:02d}:00Z",
        "yesterday",
    )
    return one_of(rng, forms)


def identity_variants(
    rng: random.Random,
    rate: float,
    contacts: Sequence[Contact],
    events: list[Event],
    retitle: Mapping[str, str],
    cluster_prefix: str,
) -> tuple[list[Contact], list[DuplicateMember]]:
    """Second records of some contacts; rewrites `events` in place so that about half of
    each such person's later events use the second email. `retitle` gives the title the
    person typed the second time."""
    variants: list[Contact] = []
    truth: list[DuplicateMember] = []
    if rate <= 0.0:
        return variants, truth
    for k, contact in enumerate(contacts):
        if not chance(rng, rate):
            continue
        form = pick(rng, VARIANT_FORMS)
        domain = contact.email_domain
        if form == "subdomain" and (domain.count(".") > 1 or contact.account != domain):
            form = "plus_tag"
        tag = one_of(rng, _BUSINESS_UNITS if form == "subdomain" else _TAGS)
        email = variant_email(contact.email, form, tag=tag)
        own = [i for i, e in enumerate(events) if e.contact == contact.email]
        created = events[one_of(rng, own)].at if own else contact.attributes["created_at"]
        for i in own:
            if events[i].at >= created and chance(rng, VARIANT_USE):
                events[i] = dataclasses.replace(events[i], contact=email)
        attributes = dict(contact.attributes)
        attributes.update(created_at=created, source="web", title=retitle[contact.email])
        variants.append(Contact(email, contact.account, MappingProxyType(attributes)))
        cluster = f"{cluster_prefix}-c{k}"
        truth.append(DuplicateMember(cluster, "contact", contact.email, contact.email, "canonical"))
        truth.append(DuplicateMember(cluster, "contact", email, contact.email, form))
    return variants, truth


def malformed_contacts(
    rng: random.Random, rate: float, contacts: Sequence[Contact]
) -> tuple[list[Contact], list[MalformedRow]]:
    """`contacts` with a few emails broken, and the truth rows naming them."""
    out, truth = [], []
    for contact in contacts:
        if rate > 0.0 and chance(rng, rate * MALFORMED_CONTACT_SHARE):
            broken = bad_email(rng, contact.email)
            truth.append(MalformedRow("contacts", contact.email, "bad_email", "email", broken))
            contact = dataclasses.replace(contact, email=broken)
        out.append(contact)
    return out, truth


def missing_firmographics(
    rng: random.Random, rate: float, account: Account
) -> tuple[Account, tuple[str, ...]]:
    """`account` with one to three firmographic fields blanked (at the given rate)."""
    if rate <= 0.0 or not chance(rng, rate):
        return account, ()
    fields = tuple(sorted(rng.sample(FIRMOGRAPHIC_FIELDS, rng.randint(1, 3))))
    attributes: dict[str, Any] = dict(account.attributes)
    attributes.update(dict.fromkeys(fields))
    return Account(account.domain, MappingProxyType(attributes)), fields


def event_noise(
    rng: random.Random,
    rate: float,
    events: Sequence[Event],
    *,
    duplicates: list[DuplicateMember],
    malformed: list[MalformedRow],
) -> Iterator[Event | MalformedEvent]:
    """`events` as a careless pipeline delivers them: some sent twice, some copied under a
    new id, some malformed. Appends what it did to `duplicates` and `malformed`."""
    if rate <= 0.0:
        yield from events
        return
    for event in events:
        if chance(rng, rate * MALFORMED_EVENT_SHARE):
            problem = pick(
                rng,
                {
                    "bad_timestamp": 1.0,
                    "unknown_type": 1.0,
                    "bad_email": 1.0 if event.contact else 0.0,
                },
            )
            if problem == "bad_timestamp":
                text = bad_timestamp(rng, event.at)
                malformed.append(MalformedRow("events", event.event_id, problem, "timestamp", text))
                yield MalformedEvent(event, text)
            elif problem == "unknown_type":
                kind = one_of(rng, _BAD_TYPES)
                malformed.append(MalformedRow("events", event.event_id, problem, "type", kind))
                yield dataclasses.replace(event, type=kind)
            else:
                email = bad_email(rng, event.contact or "")
                malformed.append(MalformedRow("events", event.event_id, problem, "email", email))
                yield dataclasses.replace(event, contact=email)
            continue
        yield event
        roll = rng.random()
        if roll < rate * RESEND_SHARE:
            cluster = f"dup-{event.event_id}"
            duplicates.append(
                DuplicateMember(
                    cluster, "event_same_id", event.event_id, event.event_id, "canonical"
                )
            )
            duplicates.append(
                DuplicateMember(cluster, "event_same_id", event.event_id, event.event_id, "resent")
            )
            yield event
        elif roll < rate * (RESEND_SHARE + COPY_SHARE):
            copy_id = f"{event.event_id}-r"
            cluster = f"dup-{event.event_id}"
            duplicates.append(
                DuplicateMember(
                    cluster, "event_new_id", event.event_id, event.event_id, "canonical"
                )
            )
            duplicates.append(
                DuplicateMember(cluster, "event_new_id", copy_id, event.event_id, "copied")
            )
            yield dataclasses.replace(event, event_id=copy_id)
