"""A whole synthetic B2B world, generated lazily one account at a time.

`World(params, rng)` draws the vendor's catalog and a world token from `rng`; then
`world.accounts()` yields one `AccountSlice` per account (its account row, contacts,
events sorted by time, opportunities, consent, dispositions and ground truth), so memory
stays bounded by the largest account, never by the world. `world.costs()` gives the
spend per channel and month once the accounts have been generated.

>>> import random
>>> from mql.synthetic.params import WorldParameters
>>> world = World(WorldParameters(accounts=3, months=2), random.Random(7))
>>> slices = list(world.accounts())
>>> len(slices), all(s.account.domain for s in slices)
(3, True)
>>> all(e.at < world.params.end for s in slices for e in s.clean_events)
True
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from mql.records import Account, Contact, Event
from mql.synthetic.activity import Touch, activity
from mql.synthetic.catalog import Catalog, calendar_months, catalog
from mql.synthetic.channel_effects import accept_chance, exposure
from mql.synthetic.consent import REGRANT_ON_FORM, ConsentRecord, on_capture, regrant
from mql.synthetic.costs import CampaignCost, costs
from mql.synthetic.draws import chance, child
from mql.synthetic.firmographics import REGION_OF, Company, company
from mql.synthetic.journeys import BUYING_STAGES, Journey, journey
from mql.synthetic.mailings import mailings, send_times
from mql.synthetic.messiness import (
    MalformedEvent,
    event_noise,
    identity_variants,
    malformed_contacts,
    missing_firmographics,
)
from mql.synthetic.outcomes import Disposition, Opportunity, outcomes
from mql.synthetic.params import WorldParameters
from mql.synthetic.people import Person, person_title, staff
from mql.synthetic.truth import (
    AccountTruth,
    DealChance,
    DuplicateMember,
    HandoffChance,
    MalformedRow,
)
from mql.synthetic.usage import usage

# share of people already in the CRM at the start (a list import), by account kind
IMPORTED = {"abm": 1.0, "customer": 0.8, "partner": 0.6, "committee": 0.35, "other": 0.05}


@dataclass(frozen=True, slots=True)
class AccountSlice:
    """Everything one account contributes to the world's files.

    `events` is what a careless pipeline delivers (with `--dirty`: duplicates and
    malformed rows, the latter as `MalformedEvent` when the timestamp is unreadable);
    `clean_events` is the history the outcomes were computed from, sorted by time: no
    duplicate or malformed rows, but a person's second email stays where it was used.
    """

    account: Account
    contacts: tuple[Contact, ...]
    events: tuple[Event | MalformedEvent, ...]
    clean_events: tuple[Event, ...]
    opportunities: tuple[Opportunity, ...]
    consent: tuple[ConsentRecord, ...]
    dispositions: tuple[Disposition, ...]
    truth: AccountTruth
    duplicates: tuple[DuplicateMember, ...]
    malformed: tuple[MalformedRow, ...]
    handoff_chances: tuple[HandoffChance, ...] = ()  # one per disposition, in its order
    deal_chances: tuple[DealChance, ...] = ()  # one per opportunity, in its order
    exposed: tuple[str, ...] = ()  # the channel-effects world: the account's web channels


def _merged(delivered: tuple[Event | MalformedEvent, ...], extra: list[Event]
            ) -> tuple[Event | MalformedEvent, ...]:
    """`extra` (sorted by time) placed into `delivered` by time, every delivered row kept in
    its place relative to the others (a malformed row stays after its predecessor)."""
    out: list[Event | MalformedEvent] = []
    rest = iter(extra)
    waiting = next(rest, None)
    for row in delivered:
        at = row.at if isinstance(row, Event) else None
        while waiting is not None and at is not None and waiting.at < at:
            out.append(waiting)
            waiting = next(rest, None)
        out.append(row)
    if waiting is not None:
        out.append(waiting)
    out.extend(rest)
    return tuple(out)


class World:
    """A seeded synthetic world; iterate `accounts()` once, in order, then ask `costs()`."""

    def __init__(self, params: WorldParameters, rng: random.Random) -> None:
        self.params = params
        self.token = f"{rng.getrandbits(32):08x}"
        self.catalog: Catalog = catalog(rng, params)
        self.weeks = -(-(params.end - params.start).days // 7)
        self._weekly = self.catalog.weekly(params.start, self.weeks)
        self._sends = {r: send_times(params.start, self.weeks, r) for r in set(REGION_OF.values())}
        self._domains: set[str] = set()
        self._personal: set[str] = set()
        self._paid: dict[tuple[str, str], int] = {}
        self._done = 0

    def accounts(self) -> Iterator[AccountSlice]:
        """One slice per account, generated when asked for (lazy)."""
        for index in range(self._done, self.params.accounts):
            self._done = index + 1
            yield self._account(index)

    def months(self) -> list[str]:
        """The calendar months (``YYYY-MM``) the world touches, partial ones included."""
        return calendar_months(self.params)

    def costs(self) -> list[CampaignCost]:
        """Spend per channel and month, counting the paid touches of the accounts made so far."""
        return costs(
            child(f"{self.token}:costs"),
            months=self.months(),
            accounts=self.params.accounts,
            touches=self._paid,
        )

    def _account(self, index: int) -> AccountSlice:
        p = self.params
        rng = child(f"{self.token}:{index}")
        firm = company(rng, index=index, taken=self._domains)
        people = staff(rng, firm, taken=self._personal, token=self.token)
        exposed = exposure(child(f"{self.token}:{index}:channels")) if p.channel_effects else None
        path = journey(rng, fit=firm.fit, status=firm.status, weeks=self.weeks,
                       accept=None if exposed is None else accept_chance(exposed))
        touches = activity(rng, firm, people, path, self.catalog, p.start, p.end, self._weekly,
                           p.drift, exposed)
        captured = self._captures(rng, firm, people, path, touches)
        consent = self._consent_and_mail(rng, firm, people, path, touches, captured)
        touches.sort(key=lambda t: t.at)
        events = self._events(firm, people, touches, captured, index)
        contacts = [self._contact(firm, people[n], *captured[n]) for n in sorted(captured)]
        retitle = {
            people[n].email: person_title(rng, people[n].committee_role, people[n].seniority,
                                          people[n].department, people[n].country)
            for n in captured
        }
        duplicates: list[DuplicateMember] = []
        malformed: list[MalformedRow] = []
        variants, contact_dups = identity_variants(
            rng, p.dirty, contacts, events, retitle, f"dup-{self.token}-{index:x}"
        )
        duplicates.extend(contact_dups)
        kinds = {people[n].email: people[n].kind for n in captured}
        kinds.update({v.email: "duplicate" for v in variants})
        # sales attach the champion to an opportunity nobody in marketing started, else the
        # decision maker (small committees have no champion)
        signers = sorted(
            (("champion", "decision_maker").index(people[n].committee_role or ""), people[n].email)
            for n in captured
            if people[n].committee_role in ("champion", "decision_maker")
        )
        signer = signers[0][1] if signers else None
        opportunities, dispositions, handoff_chances, deal_chances = outcomes(
            rng,
            company=firm,
            journey=path,
            events=events,
            kinds=kinds,
            champion=signer,
            start=p.start,
            end=p.end,
            token=self.token,
        )
        written_contacts, bad_contacts = malformed_contacts(rng, p.dirty, contacts + variants)
        malformed.extend(bad_contacts)
        account, missing = missing_firmographics(rng, p.dirty, firm.account)
        delivered = tuple(
            event_noise(rng, p.dirty, events, duplicates=duplicates, malformed=malformed)
        )
        for event in events:
            self._count_paid(event)
        if p.usage:  # its own generator and ids, drawn last: nothing above changes
            product = usage(child(f"{self.token}:{index}:usage"), events, path.stages,
                            p.start, p.end, prefix=f"pu-{self.token}-{index:x}-")
            events = sorted([*events, *product], key=lambda e: e.at)  # stable
            delivered = _merged(delivered, product)
        changes = path.changes()
        truth = AccountTruth(
            domain=firm.account.domain,
            fit=firm.fit,
            segment=firm.segment,
            product=firm.product,
            buying_department=firm.department,
            committee_size=sum(1 for x in people if x.committee_role is not None),
            people=len(people),
            contacts=len(contacts),
            initial_stage=path.stages[0],
            final_stage=path.stages[-1],
            in_market_weeks=sum(1 for s in path.stages if s in BUYING_STAGES),
            opportunities=len(opportunities),
            won=any(o.status == "won" for o in opportunities),
            missing_fields=missing,
            path=tuple((stage, p.start + timedelta(weeks=w)) for w, stage in changes),
        )
        return AccountSlice(
            account=account,
            contacts=tuple(written_contacts),
            events=delivered,
            clean_events=tuple(events),
            opportunities=tuple(opportunities),
            consent=tuple(consent),
            dispositions=tuple(dispositions),
            truth=truth,
            duplicates=tuple(duplicates),
            malformed=tuple(malformed),
            handoff_chances=tuple(handoff_chances),
            deal_chances=tuple(deal_chances),
            exposed=exposed or (),
        )

    def _consent_and_mail(
        self,
        rng: random.Random,
        firm: Company,
        people: list[Person],
        path: Journey,
        touches: list[Touch],
        captured: dict[int, tuple[datetime, str]],
    ) -> list[ConsentRecord]:
        """Consent records of every contact; appends their email touches to `touches`."""
        p = self.params
        consent: list[ConsentRecord] = []
        for n in sorted(captured):
            at, source = captured[n]
            person = people[n]
            record = on_capture(rng, person.email, person.country, source, at)
            consent.append(record)
            allowed = [(at, p.end)] if record.status == "granted" else []
            if record.status == "denied":
                later = [
                    t.at for t in touches if t.person == n and t.type == "form_submit" and t.at > at
                ]
                for form_at in sorted(later):
                    if chance(rng, REGRANT_ON_FORM):
                        consent.append(regrant(record, form_at))
                        allowed = [(form_at, p.end)]
                        break
            mail, withdrawal = mailings(
                rng,
                n=n,
                engagement=person.engagement,
                allowed=allowed,
                consent=record,
                journey=path,
                catalog=self.catalog,
                start=p.start,
                end=p.end,
                sends=self._sends[firm.region],
            )
            touches.extend(mail)
            if withdrawal is not None:
                consent.append(withdrawal)
        return consent

    def _count_paid(self, event: Event) -> None:
        """Count the touches marketing pays for one by one: ad clicks, partner referrals
        (the landing page view) and badge scans."""
        channel = event.properties.get("channel")
        if event.type == "event_scan":
            channel = "events"
        elif not (
            event.type == "ad_click"
            or (
                channel == "partner"
                and "referrer" in event.properties
                and event.type == "page_view"
            )
        ):
            return
        key = (event.at.strftime("%Y-%m"), str(channel))
        self._paid[key] = self._paid.get(key, 0) + 1

    def _captures(
        self,
        rng: random.Random,
        firm: Company,
        people: list[Person],
        path: Journey,
        touches: list[Touch],
    ) -> dict[int, tuple[datetime, str]]:
        """When and how each person became a contact (person index -> (time, source))."""
        start = self.params.start
        captured: dict[int, tuple[datetime, str]] = {}
        abm = firm.account.attributes.get("abm_tier") in ("1:1", "1:few")
        for n, person in enumerate(people):
            group = "committee" if person.committee_role else "other"
            if firm.status in ("customer", "partner"):
                group = firm.status
            elif abm and person.committee_role:
                group = "abm"
            if chance(rng, IMPORTED[group]):
                captured[n] = (start, "list_import")
        for deal in path.deals:
            at = start + timedelta(weeks=deal.opened, days=1)
            if at >= self.params.end:
                continue
            for n, person in enumerate(people):
                signer = person.committee_role in ("champion", "decision_maker")
                if signer and (n not in captured or captured[n][0] > at):
                    captured[n] = (at, "sales")
        for touch in sorted((t for t in touches if t.captures), key=lambda t: t.at):
            if touch.person not in captured or captured[touch.person][0] > touch.at:
                captured[touch.person] = (touch.at, touch.captures or "web")
        return captured

    def _events(
        self,
        firm: Company,
        people: list[Person],
        touches: list[Touch],
        captured: dict[int, tuple[datetime, str]],
        index: int,
    ) -> list[Event]:
        """Touches (sorted by time) as events with ids; browser touches stay anonymous
        until a form submit or a tracked email click ties the cookie to the email."""
        domain = firm.account.domain
        tied: dict[int, datetime] = {}
        for touch in touches:
            if touch.ties and touch.person not in tied:
                tied[touch.person] = touch.at
        events = []
        prefix = f"ev-{self.token}-{index:x}-"
        for n, touch in enumerate(touches):
            event_id = f"{prefix}{n}"
            if touch.person < 0:
                events.append(
                    Event(
                        event_id, touch.type, touch.at, account=domain, properties=touch.properties
                    )
                )
                continue
            person = people[touch.person]
            since = tied.get(touch.person)
            if touch.web and (since is None or touch.at < since):
                events.append(
                    Event(
                        event_id,
                        touch.type,
                        touch.at,
                        account=domain if touch.resolved else None,
                        properties=touch.properties,
                        anonymous_id=person.anonymous_id,
                    )
                )
                continue
            if touch.person not in captured or captured[touch.person][0] > touch.at:
                continue  # not a contact yet, and not a browser touch: nobody records it
            events.append(
                Event(
                    event_id,
                    touch.type,
                    touch.at,
                    contact=person.email,
                    account=domain,
                    properties=touch.properties,
                    anonymous_id=person.anonymous_id if touch.web else None,
                )
            )
        return events

    @staticmethod
    def _contact(firm: Company, person: Person, at: datetime, source: str) -> Contact:
        attributes = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "title": person.title,
            "seniority": person.seniority,
            "department": person.department,
            "committee_role": person.committee_role,
            "country": person.country,
            "region": REGION_OF[person.country],
            "source": source,
            "lifecycle_stage": "customer" if firm.status == "customer" else "captured",
            "owner": firm.account.attributes.get("owner"),
            "created_at": at,
        }
        return Contact(person.email, firm.account.domain, MappingProxyType(attributes))
