"""Applying records inside one transaction: identity resolution, the event ledger and the
states, shared by file ingest, Segment messages and quarantine retries.

- accounts: upsert by domain, then rescore the contacts of changed accounts (fit);
- contacts: found by email key or external id (`identity.normalize.email_key`), created
  with a lead-to-account match otherwise; two contacts found for one row are merged;
- events: skipped when their id is stored; attributed by email key, then anonymous id; an
  email with an anonymous id links the cookie to the contact and gives it the cookie's
  earlier events (then the contact's state is re-derived from its ledger); states are
  updated in O(1) per event otherwise;
- aliases (Segment `alias(previousId, userId)`): a `previousId` that names a person (the
  email of a contact, or a Segment userId one holds) merges that contact into the user's,
  with the guardrails, the merge record and its undo of any merge; any other `previousId`
  is a cookie, linked as the events' anonymous ids are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from mql.errors import MergeRefused
from mql.identity.domains import registered_domain
from mql.identity.jobs import JOB_CHANGE, job_changes
from mql.identity.match import AccountIndex, is_free_mail
from mql.identity.merge import Identifier, IdentityRules, choose_survivor, plan_merge
from mql.identity.normalize import email_key
from mql.ingest.formats import EXTERNAL_ID_FIELDS
from mql.ingest.mapping import with_company
from mql.lifecycle.rules import counts_after
from mql.lifecycle.stages import OPEN_STAGES, Cause, Stage
from mql.records import Account, Contact, Event, split_key
from mql.service import nurture
from mql.service import state as states
from mql.service.handoff import NewMql, account_handoff, route_deferred
from mql.service.state import LiveModel
from mql.store import accounts as account_store
from mql.store import contacts as contact_store
from mql.store import events as event_store
from mql.store import handoff as handoff_store
from mql.store import merges as merge_store


@dataclass(slots=True)
class Run:
    """One transaction's context and counters."""

    conn: Connection
    live: LiveModel
    rules: IdentityRules
    now: datetime
    source: str
    index: AccountIndex
    duplicates: int = 0
    merges: int = 0
    merges_refused: int = 0
    actor: str = "ingest"
    # contacts to rescore once at the end (None: rescore at once): set by a caller that
    # applies contacts, accounts and events together, so each contact is decided once
    deferred: set[int] | None = None
    held: set[int] = field(default_factory=set)  # deferred contacts whose stage was imported

    def rescore(self, ids: Iterable[int], *, hold: frozenset[int] = frozenset()) -> None:
        """Rescore the contacts `ids` now, or with the events when deferred; the contacts
        in `hold` keep their just imported stage."""
        if self.deferred is None:
            states.rescore(self.conn, self.live, ids, now=self.now, hold=hold)
        else:
            self.deferred.update(ids)
            self.held |= hold

    def email_id(self, email: str) -> Identifier | None:
        """The exact identity key of an address (plus-tags, case and Gmail dots removed);
        for a contact keyed by a CRM id (``salesforce:00Q1``), that external id."""
        parts = split_key(email)
        if parts is not None:
            ident = Identifier("external", parts[1], parts[0])
        else:
            ident = Identifier("email", email_key(email, collapse_subdomains=False))
        return ident if self.rules.usable(ident) else None

    def loose_id(self, email: str) -> Identifier | None:
        """The address on its registrable domain (`jane@emea.acme.com` -> `jane@acme.com`),
        namespace ``registered``; None when subdomains are not collapsed."""
        if not self.rules.collapse_subdomains or "@" not in email:
            return None
        loose = Identifier("email", email_key(email, collapse_subdomains=True), "registered")
        return loose if self.rules.usable(loose) else None


def _same_name(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """False when both records name the person and the names differ (two people who share
    a mailbox name on different subdomains of one company)."""
    for part in ("first_name", "last_name"):
        x, y = a.get(part), b.get(part)
        if x and y and str(x).strip().lower() != str(y).strip().lower():
            return False
    return True


def find_by_email(conn: Connection, emails: list[str], rules: IdentityRules) -> dict[str, int]:
    """The live contact of each address: by its exact key, else on its registrable domain."""
    exact = {e: Identifier("email", email_key(e, collapse_subdomains=False)) for e in emails}
    found = contact_store.find(conn, exact.values())
    out = {e: found[k] for e, k in exact.items() if k in found}
    if rules.collapse_subdomains:
        loose = {e: Identifier("email", email_key(e), "registered") for e in emails
                 if e not in out}
        more = contact_store.find(conn, loose.values())
        out.update({e: more[k] for e, k in loose.items() if k in more})
    survivors = merge_store.resolve_survivors(conn, out.values())
    return {e: survivors[c] for e, c in out.items()}


def _externals(run: Run, attributes: dict[str, Any]) -> list[Identifier]:
    found = []
    for name, namespace in EXTERNAL_ID_FIELDS.items():
        value = attributes.get(name)
        if value not in (None, ""):
            ident = Identifier("external", str(value).strip(), namespace)
            if run.rules.usable(ident):
                found.append(ident)
    return found


def apply_accounts(run: Run, records: list[Account]) -> int:
    """Upsert accounts; contacts of the changed accounts are rescored (fit changed)."""
    ids = account_store.upsert_accounts(run.conn, records, source=run.source, now=run.now)
    for a in records:
        run.index.add(a.domain, a.attributes.get("name"))
    run.rescore(contact_store.live_contact_ids(run.conn, ids.values()))
    return len(records)


def account_for(run: Run, email: str, company: str | None, named: str | None
                ) -> tuple[str | None, str | None, float | None]:
    """(domain, method, confidence) of a new contact's account: a named account wins, then
    the index; an unknown business domain becomes a new account; free mail, none. A
    contact keyed by a CRM id has no email domain: only its company name can match."""
    if named:
        return named, "given", 1.0
    if "@" not in email:
        by_name = run.index.match_name(company) if company else None
        return (by_name.account, by_name.method, by_name.confidence) if by_name else (
            None, None, None)
    found = run.index.match(email, company)
    if found is not None:
        return found.account, found.method, found.confidence
    host = email.rpartition("@")[2]
    if is_free_mail(host):
        return None, None, None
    return registered_domain(host) or host, "new_account", 0.9


@dataclass(slots=True)
class _Pending:
    """A contact to create at the next flush (placeholder id < 0 until then)."""

    contact: Contact
    named: str | None
    idents: list[Identifier]
    attributes: dict[str, Any]


def _flush(run: Run, pending: dict[int, _Pending], known: dict[Identifier, int],
           attrs: dict[int, dict[str, Any]], touched: set[int]) -> set[int]:
    """Create every pending contact with two statements and remap the placeholders;
    returns the new contacts' ids."""
    if not pending:
        return set()
    order = list(pending)
    matches = []
    for ph in order:
        p = pending[ph]
        company = p.attributes.get("company")
        matches.append(account_for(run, p.contact.email,
                                   company if isinstance(company, str) else None, p.named))
    domains = {m[0] for m in matches if m[0] is not None}
    account_ids = account_store.ensure_accounts(run.conn, domains, now=run.now) if domains else {}
    for d in domains:
        run.index.add(d)
    new_ids = contact_store.create_contacts(run.conn, [contact_store.NewContact(
        pending[ph].contact.email, account_ids.get(domain) if domain else None, domain, method,
        confidence, pending[ph].attributes, run.source)
        for ph, (domain, method, confidence) in zip(order, matches, strict=True)],
        now=run.now)
    real = dict(zip(order, new_ids, strict=True))
    rows = [(real[ph], i, pending[ph].contact.email if i.kind == "email" else i.value)
            for ph in order for i in pending[ph].idents]
    contact_store.add_identity_rows(run.conn, rows, source=run.source, now=run.now)
    for ident, owner in list(known.items()):
        if owner in real:
            known[ident] = real[owner]
    for ph in order:
        attrs[real[ph]] = attrs.pop(ph, pending[ph].attributes)
        if ph in touched:
            touched.discard(ph)
            touched.add(real[ph])
    pending.clear()
    return set(real.values())


def merge(run: Run, survivor: int, other: int, reason: str) -> bool:
    """Merge contact `other` into `survivor` if the guardrails allow; True if merged."""
    ids = contact_store.identifiers_of(run.conn, [survivor, other])
    try:
        plan = plan_merge((survivor, frozenset(ids.get(survivor, ()))),
                          (other, frozenset(ids.get(other, ()))), reason=reason, rules=run.rules)
    except MergeRefused as exc:
        run.merges_refused += 1
        merge_store.audit(run.conn, run.actor, "merge_refused", f"contact:{survivor}",
                          {"other": other, "reason": exc.reason}, now=run.now)
        return False
    # the caller's survivor (found by the highest-priority identifier) keeps its id
    keep, drop = survivor, other
    assert {plan.survivor, plan.merged} == {keep, drop}
    loaded = contact_store.load_contacts(run.conn, [keep, drop])
    merge_store.fold(run.conn, keep, drop, reason=reason, actor=run.actor, now=run.now)
    nurture.merged_away(run.conn, run.live, drop, run.now)
    attrs = {**loaded[drop].record.attributes, **{k: v for k, v in
                                                  loaded[keep].record.attributes.items()
                                                  if v is not None}}
    contact_store.update_attributes(run.conn, {keep: attrs}, now=run.now)
    run.merges += 1
    derived = states.rederive_contacts(run.conn, run.live, [keep])
    states.score_contacts(run.conn, run.live, derived, now=run.now)
    return True


def apply_contacts(run: Run, records: list[tuple[Contact, bool]],
                   companies: list[Account | None] | None = None, *,
                   import_stages: bool = False) -> int:
    """Create or update contacts; returns how many rows were applied.

    New contacts are created together at the end of the batch (or before a merge needs
    their ids); rows naming a contact created earlier in the batch update it in memory.
    `companies` (one per row, or None) are the company columns of each row: they fill the
    gaps of the account the contact is matched to. With `import_stages` (a CRM file), a
    new contact's ``lifecycle_stage`` is its starting stage (a transition with cause
    ``import``); the scoring of this batch does not move it.
    """
    rows = []
    wanted: list[Identifier] = []
    for contact, named in records:
        e = run.email_id(contact.email)
        idents = list(dict.fromkeys(([e] if e else []) + _externals(run, dict(contact.attributes))))
        loose = run.loose_id(contact.email)
        rows.append((contact, named, idents, loose))
        wanted.extend(idents + ([loose] if loose else []))
    known = contact_store.find(run.conn, wanted)
    loaded = contact_store.load_contacts(run.conn, set(known.values()))
    attrs: dict[int, dict[str, Any]] = {i: dict(c.record.attributes) for i, c in loaded.items()}
    keyed = {i for i, c in loaded.items() if not c.record.has_email}
    emails: dict[int, str] = {}
    touched: set[int] = set()
    created: set[int] = set()
    pending: dict[int, _Pending] = {}
    for contact, named, idents, loose in rows:
        hits = [(known[i], i) for i in idents if i in known]
        if not hits and idents and idents[0].kind == "email" and loose is not None \
                and loose in known and _same_name(attrs.get(known[loose], {}),
                                                  contact.attributes):
            hits = [(known[loose], Identifier("email", idents[0].value, "registered"))]
        owners = {c for c, _ in hits}
        if not hits:
            ph = -(len(pending) + 1) - len(touched)
            while ph in pending or ph in attrs:
                ph -= 1
            claim = [loose] if loose is not None and loose not in known else []
            pending[ph] = _Pending(contact, contact.account if named else None,
                                   idents + claim, dict(contact.attributes))
            attrs[ph] = pending[ph].attributes
            for i in idents + claim:
                known[i] = ph
            touched.add(ph)
            continue
        if len(owners) == 1 and next(iter(owners)) < 0:
            ph = next(iter(owners))  # a contact created earlier in this batch
            p = pending[ph]
            for i in idents:
                if i not in known and sum(x.kind == i.kind for x in p.idents) < \
                        run.rules.limit(i.kind):
                    p.idents.append(i)
                    known[i] = ph
            p.attributes.update({k: v for k, v in contact.attributes.items()
                                 if v is not None and k not in ("email", "email_domain")})
            continue
        if any(c < 0 for c in owners):
            created |= _flush(run, pending, known, attrs, touched)
            hits = [(known[i], i) for i in idents if i in known] or hits
        cid = choose_survivor(hits, run.rules)
        for other in sorted({c for c, _ in hits} - {cid}):
            reason = "; ".join(f"same {i.namespace or i.kind} {i.value}"
                               for c, i in hits if c in (cid, other))
            if merge(run, cid, other, reason):
                for i, owner in list(known.items()):
                    if owner == other:
                        known[i] = cid
                attrs[cid] = {**attrs.pop(other, {}), **attrs.get(cid, {})}
                touched.discard(other)
        fresh = [i for i in idents if i not in known]
        if fresh:
            have = contact_store.identifiers_of(run.conn, [cid]).get(cid, set())
            allowed = [i for i in fresh if sum(x.kind == i.kind for x in have)
                       < run.rules.limit(i.kind)]
            contact_store.add_identities(run.conn, cid, [(i, i.value) for i in allowed],
                                         source=run.source, now=run.now)
        attrs[cid] = {**attrs.get(cid, {}),
                      **{k: v for k, v in contact.attributes.items()
                         if v is not None and k not in ("email", "email_domain")}}
        if cid in keyed and contact.has_email:  # known by its CRM id; now its address
            emails.setdefault(cid, contact.email)
            attrs[cid].update(email=contact.email, email_domain=contact.email_domain)
        for i in idents:
            known.setdefault(i, cid)
        touched.add(cid)
    created |= _flush(run, pending, known, attrs, touched)
    contact_store.update_attributes(run.conn, {i: attrs[i] for i in touched}, now=run.now)
    contact_store.set_emails(run.conn, emails, now=run.now)
    _record_job_changes(run, [(cid, e) for cid in sorted(touched & loaded.keys())
                              for e in job_changes(loaded[cid].record.email,
                                                   loaded[cid].record.attributes, attrs[cid],
                                                   run.now)])
    first = [next((known[i] for i in idents if i in known), None) for _, _, idents, _ in rows]
    survivors = merge_store.resolve_survivors(run.conn, {c for c in first if c is not None})
    owner_of = [None if c is None else survivors[c] for c in first]
    if companies:
        _apply_companies(run, owner_of, companies)
    held = (_import_stages(run, [c for c, _ in records], owner_of, created)
            if import_stages else frozenset())
    run.rescore(touched, hold=held)
    return len(records)


def _record_job_changes(run: Run, changes: list[tuple[int, Event]]) -> None:
    """Append the `job_change` events of contacts whose title or company changed
    (`mql.identity.jobs`) to their ledger, dated now, and add them to their states; the
    contacts are decided with their new attributes (an exit on the change fires here)."""
    if not changes:
        return
    conn, now = run.conn, run.now
    seen = event_store.known_ids(conn, [e.event_id for _, e in changes])
    fresh = [(cid, e) for cid, e in changes if e.event_id not in seen]
    if not fresh:
        return
    account_of = contact_store.account_ids(conn, {cid for cid, _ in fresh})
    rows = [event_store.StoredEvent(e, cid, account_of.get(cid), run.source) for cid, e in fresh]
    event_store.insert_events(conn, rows, now=now)
    program = run.live.program
    contact_states = states.contact_states(conn, run.live, {cid for cid, _ in fresh})
    resets = states.latest_resets(conn, contact_states)
    for r in rows:
        assert r.contact_id is not None
        if counts_after(r.event.at, resets.get(r.contact_id)):
            contact_states[r.contact_id] = contact_states[r.contact_id].add(r.event, program)
    if run.live.account_level and program.trackers_for("account", JOB_CHANGE):
        account_states = states.account_states(
            conn, run.live, {r.account_id for r in rows if r.account_id is not None})
        for r in rows:
            if r.account_id in account_states:
                account_states[r.account_id] = account_states[r.account_id].add(
                    r.event, program, "account")
        states.save_accounts(conn, run.live, account_states, now=now)
    states.score_contacts(conn, run.live, contact_states, now=now)


def _apply_companies(run: Run, owners: list[int | None], companies: list[Account | None]
                     ) -> None:
    """Put the company columns of contact rows on the accounts the contacts are matched
    to (the stored account's values win; the rows fill the gaps)."""
    wanted = {o for o, c in zip(owners, companies, strict=True) if o is not None and c}
    if not wanted:
        return
    stored = contact_store.load_contacts(run.conn, wanted)
    by_domain: dict[str, Account] = {}
    for owner, company in zip(owners, companies, strict=True):
        contact = stored.get(owner) if owner is not None else None
        domain = contact.record.account if contact is not None else None
        if company is None or not domain or is_free_mail(domain):
            continue  # no account to put it on (a free-mail contact nobody matched)
        earlier = by_domain.get(domain)
        attrs = {**company.attributes, **(earlier.attributes if earlier else {})}
        by_domain[domain] = Account(domain, attrs)
    if not by_domain:
        return
    ids = account_store.ids_by_domain(run.conn, by_domain)
    existing = {a.domain: a for a in account_store.load_accounts(run.conn, ids.values())
                .values()}
    merged = [with_company(existing.get(d), a) for d, a in by_domain.items()]
    changed = [a for a in merged if existing.get(a.domain) != a]
    if changed:
        account_store.upsert_accounts(run.conn, changed, source=run.source, now=run.now)
        for a in changed:
            run.index.add(a.domain, a.attributes.get("name"))


def _import_stages(run: Run, contacts: list[Contact], owners: list[int | None],
                   created: set[int]) -> frozenset[int]:
    """Record the imported lifecycle stage of each new contact (or of one without a stage
    yet) as its starting stage, cause ``import``; returns those that the scoring of this
    batch must not move (an imported MQL is not demoted at import; an imported lead may
    still qualify)."""
    known = {s.value for s in Stage}
    wanted = {o: str(c.attributes["lifecycle_stage"]) for c, o in zip(contacts, owners,
                                                                        strict=True)
              if o is not None and c.attributes.get("lifecycle_stage") in known}
    if not wanted:
        return frozenset()
    current = handoff_store.stages(run.conn, wanted)
    done: set[int] = set()
    for cid, stage in wanted.items():
        row = current.get(cid)
        if cid not in created and row is not None and row.since is not None:
            continue  # the contact has a lifecycle in mql already: an import does not rewrite it
        handoff_store.add_history(run.conn, cid, None, stage, run.now, Cause.IMPORT.value,
                                  f"import:{run.source}", run.live.version_id,
                                  "lifecycle stage of the imported record")
        handoff_store.set_stage(run.conn, cid, stage, run.now)
        if Stage(stage) not in OPEN_STAGES:
            done.add(cid)
    return frozenset(done)


def _key_attribute(key: str) -> dict[str, Any]:
    """The attribute of a CRM-id key (``salesforce:00Q1`` -> salesforce_id: 00Q1)."""
    parts = split_key(key)
    if parts is None:
        return {}
    names = {namespace: name for name, namespace in EXTERNAL_ID_FIELDS.items()}
    name = names.get(parts[0])
    return {name: parts[1]} if name else {}


def with_user_emails(run: Run, items: list[tuple[Event, str | None]]) -> list[Event]:
    """Events whose only link is a Segment userId get the email of the contact holding it."""
    ids = {Identifier("external", u, "segment") for e, u in items if u and e.contact is None}
    found = contact_store.find(run.conn, ids) if ids else {}
    emails = {i: c.record.email for i, c in
              contact_store.load_contacts(run.conn, set(found.values())).items()}
    out = []
    for e, user in items:
        cid = found.get(Identifier("external", user, "segment")) if user else None
        if e.contact is None and cid is not None:
            e = dataclasses.replace(e, contact=emails[cid])
        out.append(e)
    return out


def _create_people(run: Run, fresh: list[Event], email_of: Mapping[str, Identifier | None],
                   known: dict[Identifier, int]) -> None:
    """Create a contact for each email of `fresh` not in `known` (adding it there), in a few
    statements for the whole batch. An address whose registrable-domain key is held (by a
    stored contact or one created earlier in the batch) joins that contact instead: the
    same person on another subdomain (an event names nobody, so no name tells otherwise)."""
    new: dict[Identifier, Event] = {}
    for e in fresh:
        ident = email_of.get(e.contact) if e.contact else None
        if ident is not None and ident not in known and ident not in new:
            new[ident] = e
    if not new:
        return
    loose_of = {ident: run.loose_id(e.contact or "") for ident, e in new.items()}
    stored = contact_store.find(run.conn, [x for x in loose_of.values() if x is not None])
    rows: list[tuple[int, Identifier, str | None]] = []  # identities of known contacts
    creating: list[tuple[Identifier, Event, Identifier | None]] = []
    joining: list[tuple[Identifier, int, str | None]] = []  # (ident, index in creating, raw)
    claimed: dict[Identifier, int] = {}  # registrable-domain key -> index in creating
    for ident, e in new.items():
        loose = loose_of[ident]
        if loose is not None and loose in stored:
            twin = merge_store.resolve_survivor(run.conn, stored[loose])
            rows.append((twin, ident, e.contact))
            known[ident] = twin
        elif loose is not None and loose in claimed:
            joining.append((ident, claimed[loose], e.contact))
        else:
            if loose is not None:
                claimed[loose] = len(creating)
            creating.append((ident, e, loose))
    matches = []
    for _, e, _ in creating:  # one by one: each new domain is known to the next address
        domain, method, confidence = account_for(run, e.contact or "", None, e.account)
        if domain is not None:
            run.index.add(domain)
        matches.append((domain, method, confidence))
    domains = {d for d, _, _ in matches if d is not None}
    account_ids = account_store.ensure_accounts(run.conn, domains, now=run.now) if domains \
        else {}
    new_ids = contact_store.create_contacts(run.conn, [contact_store.NewContact(
        e.contact, account_ids.get(domain) if domain else None, domain, method, confidence,
        {**({"email": e.contact} if "@" in (e.contact or "") else
            _key_attribute(e.contact or "")), "source": run.source}, run.source)
        for (_, e, _), (domain, method, confidence) in zip(creating, matches, strict=True)],
        now=run.now)
    for cid, (ident, e, loose) in zip(new_ids, creating, strict=True):
        rows.append((cid, ident, e.contact))
        if loose is not None:
            rows.append((cid, loose, e.contact))
        known[ident] = cid
    for ident, at, raw in joining:
        rows.append((new_ids[at], ident, raw))
        known[ident] = new_ids[at]
    contact_store.add_identity_rows(run.conn, rows, source=run.source, now=run.now)


def apply_events(run: Run, batch: list[Event]) -> int:
    """Append new events, resolve who did them, and update states; returns events applied."""
    conn, now = run.conn, run.now
    known_ids = event_store.known_ids(conn, [e.event_id for e in batch])
    fresh: list[Event] = []
    for e in batch:
        if e.event_id in known_ids:
            run.duplicates += 1
        else:
            known_ids.add(e.event_id)
            fresh.append(e)
    if not fresh:
        return 0
    email_of = {e.contact: run.email_id(e.contact) for e in fresh if e.contact}
    anon_of = {e.anonymous_id: Identifier("anonymous_id", e.anonymous_id)
               for e in fresh if e.anonymous_id}
    anon_of = {k: v for k, v in anon_of.items() if run.rules.usable(v)}
    known = contact_store.find(conn, [*filter(None, email_of.values()), *anon_of.values()])
    # new people: the first event naming an unknown email creates the contact
    _create_people(run, fresh, email_of, known)
    # identify: an email seen with a cookie links the cookie (once; shared cookies stay put)
    rederive: set[int] = set()
    links: dict[Identifier, int] = {}
    for e in fresh:
        ident = email_of.get(e.contact) if e.contact else None
        cookie = anon_of.get(e.anonymous_id) if e.anonymous_id else None
        if ident is not None and cookie is not None and cookie not in known:
            links.setdefault(cookie, known[ident])
    if links:
        have = contact_store.identifiers_of(conn, set(links.values()))
        anon_count = {c: sum(1 for i in have.get(c, ()) if i.kind == "anonymous_id")
                      for c in set(links.values())}
        earlier = event_store.unattributed_anonymous(conn, [c.value for c in links])
        linked: list[tuple[int, Identifier, str | None]] = []
        for cookie, cid in links.items():
            if anon_count[cid] >= run.rules.limit("anonymous_id"):
                continue  # guardrail: the cookie stays anonymous
            linked.append((cid, cookie, cookie.value))
            anon_count[cid] += 1
            known[cookie] = cid
        contact_store.add_identity_rows(conn, linked, source=run.source, now=now)
        # the cookie's earlier events now count for the contact (Segment semantics)
        moved = [(cookie.value, cid) for cid, cookie, _ in linked if earlier.get(cookie.value)]
        event_store.attribute_anonymous_many(conn, moved)
        rederive.update(cid for _, cid in moved)
    # attribution and accounts
    contact_of: list[int | None] = []
    for e in fresh:
        ident = email_of.get(e.contact) if e.contact else None
        cookie = anon_of.get(e.anonymous_id) if e.anonymous_id else None
        who = known.get(ident) if ident else None
        contact_of.append(who if who is not None else (known.get(cookie) if cookie else None))
    account_of = contact_store.account_ids(conn, {c for c in contact_of if c is not None})
    domains = {e.account for e in fresh if e.account}
    account_ids = account_store.ensure_accounts(conn, domains, now=now) if domains else {}
    rows: list[event_store.StoredEvent] = []
    for e, owner in zip(fresh, contact_of, strict=True):
        aid = account_ids.get(e.account) if e.account else None
        if aid is None and owner is not None:
            aid = account_of[owner]
        rows.append(event_store.StoredEvent(e, owner, aid, run.source))
    event_store.insert_events(conn, rows, now=now)
    # states: O(1) per event, except contacts whose ledger changed under them
    program = run.live.program
    touched = {r.contact_id for r in rows if r.contact_id is not None} - rederive
    contact_states = states.contact_states(conn, run.live, touched)
    resets = states.latest_resets(conn, touched)
    for r in rows:
        if r.contact_id in contact_states and counts_after(r.event.at, resets.get(r.contact_id)):
            contact_states[r.contact_id] = contact_states[r.contact_id].add(r.event, program)
    contact_states.update(states.rederive_contacts(conn, run.live, rederive))
    if run.deferred:  # contacts whose attributes or account changed: decided once, here
        contact_states.update(states.contact_states(conn, run.live,
                                                    run.deferred - contact_states.keys()))
        run.deferred.clear()
    held, run.held = frozenset(run.held), set()
    if run.live.account_level:
        acc = {r.account_id for r in rows if r.account_id is not None
               and program.trackers_for("account", r.event.type)}
        account_states = states.account_states(conn, run.live, acc)
        for r in rows:
            if r.account_id in account_states:
                account_states[r.account_id] = account_states[r.account_id].add(
                    r.event, program, "account")
        states.save_accounts(conn, run.live, account_states, now=now)
    # `handoff: account`: the batch's new MQLs are routed after its MQAs are handed off
    # (at one instant an MQA comes first: an MQL of an account it makes an MQA attaches)
    deferred: list[NewMql] | None = [] if account_handoff(run.live.model) else None
    states.score_contacts(conn, run.live, contact_states, now=now, hold=held,
                          defer=deferred)
    touched = {r.account_id for r in rows if r.account_id}
    if run.live.model.routing is not None and touched:
        from mql.service.accounts import alert_accounts  # it reads scores: imports us

        alert_accounts(conn, run.live, touched, now)
    if run.live.model.accounts is not None:
        from mql.accounts.mqa import FastSignals
        from mql.model.mqa import MqaSpec
        from mql.service.accounts import qualify_accounts  # it reads scores: imports us

        signals = FastSignals(run.live.model, run.live.model.accounts.mqa or MqaSpec(),
                              run.live.model.accounts.intent_score)
        seen: dict[int, dict[str, datetime]] = {}
        for r in rows:
            if r.account_id is not None:
                kinds = seen.setdefault(r.account_id, {})
                for name in signals.of(r.event):
                    if name not in kinds or kinds[name] < r.event.at:
                        kinds[name] = r.event.at
        qualify_accounts(conn, run.live, set(seen), now, seen)
    if deferred:
        route_deferred(conn, run.live.qualifier, run.live.version_id, deferred)
    return len(fresh)


def previous_people(run: Run, previous: Mapping[str, str]) -> dict[str, int]:
    """Of alias `previousId`s (by event id), the ones that name a stored person: the email
    address of a contact, or a Segment userId a contact holds -> that contact (merged
    contacts resolved to their survivor). Blocked values name nobody."""
    emails = [p for p in previous.values() if "@" in p and run.email_id(p) is not None]
    users = {p: Identifier("external", p, "segment") for p in previous.values() if "@" not in p}
    users = {p: i for p, i in users.items() if run.rules.usable(i)}
    by_email = find_by_email(run.conn, emails, run.rules) if emails else {}
    by_user = contact_store.find(run.conn, users.values()) if users else {}
    out: dict[str, int] = {}
    for event_id, p in previous.items():
        cid = by_email.get(p) if "@" in p else (by_user.get(users[p]) if p in users else None)
        if cid is not None:
            out[event_id] = merge_store.resolve_survivor(run.conn, cid)
    return out


def apply_aliases(run: Run, events: list[Event], previous: Mapping[str, str],
                  user_ids: Mapping[str, str | None]) -> None:
    """Segment's alias for a `previousId` that names a person (`previous_people`): that
    contact and the user's are one person, so the previous one is merged into the user's
    (`merge`: guardrails, merge record, undo). A user mql does not know yet (a new Segment
    userId) becomes an identifier of the previous contact instead (within its limit)."""
    people = previous_people(run, previous)
    for e in events:
        if e.event_id not in people:
            continue
        prev = merge_store.resolve_survivor(run.conn, people[e.event_id])
        user_id = user_ids.get(e.event_id)
        ident = run.email_id(e.contact) if e.contact else None
        found = contact_store.find(run.conn, [ident]) if ident is not None else {}
        if ident is not None and ident in found:
            user = merge_store.resolve_survivor(run.conn, found[ident])
            if user != prev:
                merge(run, user, prev, f"alias: {previous[e.event_id]} is {e.contact}")
            continue
        if user_id is None:
            continue
        new = Identifier("external", user_id, "segment")
        if not run.rules.usable(new) or contact_store.find(run.conn, [new]):
            continue
        have = contact_store.identifiers_of(run.conn, [prev]).get(prev, set())
        if sum(1 for i in have if i.kind == "external" and i.namespace == "segment") \
                < run.rules.limit("external"):
            contact_store.add_identities(run.conn, prev, [(new, user_id)], source=run.source,
                                         now=run.now)
