"""Outcome use cases: opportunities, marketing costs and sales dispositions into the store,
from files (`mql ingest opportunities|costs|dispositions`) and from the API; opportunities
linked to contacts and accounts and credited to the hand-offs before them.

**Opportunities** arrive as states over time (a CRM export today, another next week). Each
row is the state of one opportunity as of `as_of` (its `updated_at`, else the newest time
it holds). Loading is idempotent and the order of the rows does not matter:

- the stored opportunity is the state with the newest `as_of` (on a tie, the larger
  state, compared as canonical JSON, so any order gives the same result);
- `opportunity_history` holds one entry per (time, stage): each stage change the row lists
  and the row's own state at `as_of`; an entry seen twice keeps, field by field, the value
  that is known (and of two known values the larger), so reading more never loses what was
  read before;
- `opportunity_contacts` holds every contact a row names that identity resolution finds
  (the primary contact by email, the contact roles), each with the role of the newest row
  naming it; the account is the one of the row's domain, else the primary contact's.

**Links** (`opportunity_links`) say which hand-off each opportunity is credited to, with
the rule in words: a contact's move to MQL (or PQL) at most `outcomes.sourced_within_days`
(model setting, 90 by default) before the opportunity opened *sourced* it, and the first
wins: the primary contact's, else the earliest among the opportunity's other contacts,
else the earliest among the account's contacts. Every other of these contacts with an MQL
at most `outcomes.influenced_within_days` (180) before it opened, or while it was open,
*influenced* it. Links are computed again whenever the opportunity is loaded, and for all
opportunities by `link_all` (`mql outcomes link`).

**Costs** are totals per month, channel and campaign: the rows of one file with the same
key are added up, and the file's total replaces the stored one (loading a file again
changes nothing).

**Dispositions** are what sales did with a lead: one row per contact, time and status,
stored once however often it is read. The reason must be one of the live model's
`lifecycle.reject_reasons`. Every sales action (accept, reject, convert) writes its row
too (`mql.service.lifecycle`), so there is one ledger of what sales did.

A row whose value cannot be used is quarantined with file, row and field (a disposition
for a contact not in the store too); every other row lands.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from mql.errors import ConfigError, InputError, NotFound
from mql.identity.merge import Identifier, IdentityRules
from mql.identity.normalize import clean_email
from mql.ingest import mapping as mappings
from mql.ingest.files import Kind, ReadOptions
from mql.ingest.outcomes import (
    OUTCOME_KINDS,
    CostRow,
    DispositionRow,
    OpportunityRow,
    status_of,
)
from mql.ingest.rows import raw_json, read_batches
from mql.model.spec import Outcomes
from mql.records import split_key
from mql.service import state as states
from mql.service.ingest import IngestSummary, Progress, RowSource, file_rows, list_rows
from mql.service.resolve import find_by_email
from mql.store import accounts as account_store
from mql.store import contacts as contact_store
from mql.store import outcomes as store
from mql.store import quarantine as quarantine_store
from mql.store.db import translate_errors
from mql.store.migrate import check

_STATE = ("name", "account_domain", "primary_email", "product_line", "amount", "currency",
          "opened_at", "closed_at", "stage", "status", "lost_reason", "lead_source",
          "attributes")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=lambda v: v.isoformat()
                      if isinstance(v, datetime) else str(v))


def state_of(row: OpportunityRow) -> dict[str, Any]:
    """The columns of `opportunities` one row gives (without ids and links)."""
    attributes = dict(row.attributes)
    if row.contacts:
        attributes["contacts"] = [{"email": e, "role": r} for e, r in row.contacts]
    if row.stage_history:
        attributes["stage_history"] = [{"stage": s, "at": t.isoformat()}
                                       for s, t in row.stage_history]
    return {"name": row.name, "account_domain": row.account_domain,
            "primary_email": row.primary_email, "product_line": row.product_line,
            "amount": row.amount, "currency": row.currency, "opened_at": row.opened_at,
            "closed_at": row.closed_at, "stage": row.stage, "status": row.status,
            "lost_reason": row.lost_reason, "lead_source": row.lead_source,
            "attributes": attributes, "as_of": row.as_of}


def rank(state: Mapping[str, Any]) -> tuple[datetime, str]:
    """What decides between two states of one opportunity: the newer, then the larger as
    canonical JSON (so the outcome does not depend on the order they arrive in)."""
    return state["as_of"], _json({k: state.get(k) for k in _STATE})


def _larger(a: Any, b: Any) -> Any:
    """The known one of two values, or the larger (commutative, associative, idempotent)."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def history_entries(row: OpportunityRow) -> dict[tuple[datetime, str], dict[str, Any]]:
    """The history entries one row gives: each listed stage change (status from the stage
    name), and the row's own state at `as_of`."""
    out: dict[tuple[datetime, str], dict[str, Any]] = {}

    def put(at: datetime, stage: str, values: dict[str, Any]) -> None:
        old = out.get((at, stage))
        out[(at, stage)] = values if old is None else {
            k: _larger(old.get(k), values.get(k)) for k in values}

    for stage, at in row.stage_history:
        status = status_of(stage)
        put(at, stage, {"status": status, "amount": None,
                        "closed_at": at if status != "open" else None})
    if row.status is not None:  # a partial row without a stage or status adds no entry
        put(row.as_of, row.stage or row.status, {"status": row.status, "amount": row.amount,
                                                 "closed_at": row.closed_at})
    return out


@dataclass(frozen=True, slots=True)
class Link:
    """The credit of one opportunity to one contact's qualification."""

    contact_id: int
    kind: str  # sourced | influenced
    history_id: int
    qualified_at: datetime
    rule: str


_TIERS = ("the primary contact", "a contact of the opportunity", "a contact at the account")


def credit(opened_at: datetime, closed_at: datetime | None,
           candidates: Sequence[tuple[int, int, Sequence[tuple[int, datetime]]]],
           outcomes: Outcomes) -> list[Link]:
    """The links of an opportunity opened at `opened_at`: `candidates` are (contact id,
    tier: 0 the primary contact, 1 another contact of the opportunity, 2 a contact at the
    account, the contact's qualifications as (history id, time)).

    >>> from datetime import datetime, timezone
    >>> day = lambda d: datetime(2025, 3, d, tzinfo=timezone.utc)
    >>> links = credit(day(20), None, [(1, 2, [(10, day(1))]), (2, 0, [(11, day(2))])],
    ...                Outcomes(30, 60))
    >>> [(l.contact_id, l.kind, l.history_id) for l in links]
    [(2, 'sourced', 11), (1, 'influenced', 10)]
    """
    source_window = timedelta(days=outcomes.sourced_within_days)
    influence_window = timedelta(days=outcomes.influenced_within_days)
    best: dict[int, tuple[int, int, datetime]] = {}  # contact -> (tier, history id, time)
    for cid, tier, quals in candidates:
        if cid not in best or tier < best[cid][0]:
            first = next(((h, at) for h, at in quals
                          if opened_at - source_window <= at <= opened_at), None)
            if first is not None:
                best[cid] = (tier, first[0], first[1])
    sourced = min(best.items(), key=lambda kv: (kv[1][0], kv[1][2], kv[0]), default=None)
    links: list[Link] = []
    if sourced is not None:
        cid, (tier, hid, at) = sourced
        days = (opened_at - at).total_seconds() / 86400
        links.append(Link(cid, "sourced", hid, at, (
            f"sourced: {_TIERS[tier]} became an MQL on {at:%Y-%m-%d %H:%M} UTC, {days:.1f} "
            f"days before the opportunity opened (within sourced_within_days "
            f"{outcomes.sourced_within_days:g}; the first wins: the primary contact, then "
            "the earliest of the opportunity's contacts, then of the account's)")))
    seen = {sourced[0]} if sourced is not None else set()
    ordered = sorted(candidates, key=lambda c: (c[1], c[0]))
    for cid, tier, quals in ordered:
        if cid in seen:
            continue
        first = next(((h, at) for h, at in quals
                      if opened_at - influence_window <= at and (
                          closed_at is None or at <= closed_at)), None)
        if first is None:
            continue
        seen.add(cid)
        hid, at = first
        when = (f"{(opened_at - at).total_seconds() / 86400:.1f} days before the "
                "opportunity opened" if at <= opened_at else "while the opportunity was open")
        links.append(Link(cid, "influenced", hid, at, (
            f"influenced: {_TIERS[tier]} became an MQL on {at:%Y-%m-%d %H:%M} UTC, {when} "
            f"(within influenced_within_days {outcomes.influenced_within_days:g}, or "
            "before it closed)")))
    return links


def _outcome_settings(conn: Connection) -> Outcomes:
    try:
        return states.live_model(conn).model.outcomes
    except ConfigError:  # no live model: the defaults
        return Outcomes()


def _reasons(conn: Connection) -> tuple[str, ...] | None:
    try:
        return states.live_model(conn).model.lifecycle.reject_reasons
    except ConfigError:
        return None


# -- opportunities ----------------------------------------------------------------------

_TIMES = "_as_of"  # attributes key: the time of each field's value (partial updates)
_DEFAULT_TIME = "0001-01-01T00:00:00+00:00"  # a default (status open) loses to any state
_COLUMNS = tuple(k for k in _STATE if k != "attributes")


@dataclass(slots=True)
class Refused:
    """A row that cannot be applied (its position in the batch, the field, the reason)."""

    index: int
    field: str
    reason: str


def _flat(state: Mapping[str, Any], times: Mapping[str, str] | None, default: str
          ) -> dict[str, tuple[str, Any]]:
    """The fields a state knows, flattened (`attributes.k`, `contacts.<email>`), each with
    the time of its value; `times` the stored times (None: every known field at `default`).
    An open status says the opportunity is not closed: `closed_at` is known (None)."""
    times = times or {}
    out: dict[str, tuple[str, Any]] = {}
    for k in _COLUMNS:
        if state.get(k) is not None or k in times:
            out[k] = (times.get(k, default), state.get(k))
    if state.get("status") == "open" and "closed_at" not in out:
        out["closed_at"] = (times.get("status", default), None)
    for k, v in (state.get("attributes") or {}).items():
        if k == "contacts":
            for c in v:
                key = f"contacts.{c['email']}"
                out[key] = (times.get(key, default), c.get("role"))
        elif k not in ("stage_history", _TIMES):
            key = f"attributes.{k}"
            out[key] = (times.get(key, default), v)
    return out


def _merge_state(current: dict[str, tuple[str, Any]], new: Mapping[str, tuple[str, Any]]
                 ) -> bool:
    """Each field keeps its newest value (on a tie the larger as JSON): commutative,
    associative and idempotent, so the order rows arrive in does not matter and an older
    state cannot overwrite a newer one (on a tie a known value beats a cleared one).
    True if `current` changed."""
    changed = False
    for k, (at, value) in new.items():
        old = current.get(k)
        if old is None or at != old[0]:
            newer = old is None or at > old[0]
        else:  # a tie: compared as canonical JSON only then
            newer = (value is not None, _json(value)) > (old[1] is not None, _json(old[1]))
        if newer and old != (at, value):
            current[k] = (at, value)
            changed = True
    return changed


def _columns(flat: Mapping[str, tuple[str, Any]], history: Iterable[Mapping[str, Any]],
             as_of: datetime) -> dict[str, Any]:
    """The `opportunities` columns of a flattened state (with its stage history list);
    the attribute `_as_of` keeps the time of each value older than `as_of` (a field a
    later partial update left alone), so the next state is merged field by field."""
    out: dict[str, Any] = {k: flat[k][1] if k in flat else None for k in _COLUMNS}
    attributes: dict[str, Any] = {}
    people = []
    for k, (_, v) in sorted(flat.items()):
        if k.startswith("attributes."):
            attributes[k.removeprefix("attributes.")] = v
        elif k.startswith("contacts."):
            people.append({"email": k.removeprefix("contacts."), "role": v})
    if people:
        attributes["contacts"] = people
    steps = sorted({(h["at"], h["stage"]) for h in history})
    if steps:
        attributes["stage_history"] = [{"stage": s, "at": a} for a, s in steps]
    status = flat.get("status")

    def kept(k: str, at: str, v: Any) -> bool:  # what `_flat` cannot tell from the row
        if k == "closed_at" and v is None:  # cleared: implied by an open status' time
            return status is None or status[1] != "open" or status[0] != at
        return at != as_of.isoformat()

    older = {k: at for k, (at, v) in sorted(flat.items()) if kept(k, at, v)}
    if older:
        attributes[_TIMES] = older
    out["attributes"] = attributes
    return out


@dataclass(slots=True)
class _Opp:
    flat: dict[str, tuple[str, Any]]
    history: list[dict[str, Any]]
    as_of: datetime
    id: int | None = None
    changed: bool = False


def apply_opportunities(conn: Connection, rows: Sequence[OpportunityRow], *,
                        rules: IdentityRules, now: datetime, source: str
                        ) -> tuple[int, int, list[Refused]]:
    """Apply opportunity states in the caller's transaction, set-based (a few statements
    per batch); (rows that changed something, rows that changed nothing, rows refused: a
    partial row about an opportunity not in the store). Their links are computed again."""
    source = source[:1000]
    stored = store.opportunities_by_external(conn, {r.external_id for r in rows})
    opps: dict[str, _Opp] = {}
    for ext, s in stored.items():
        attrs = s["attributes"] or {}
        opps[ext] = _Opp(_flat(s, attrs.get(_TIMES), s["as_of"].isoformat()),
                         [{"stage": h["stage"], "at": h["at"]}
                          for h in attrs.get("stage_history", [])], s["as_of"], int(s["id"]))
    refused: list[Refused] = []
    did: dict[int, bool] = {}
    applied: list[tuple[int, OpportunityRow]] = []
    for index, row in enumerate(rows):
        state = state_of(row)
        new = _flat(state, None, row.as_of.isoformat())
        opp = opps.get(row.external_id)
        if opp is None:
            if row.opened_at is None:
                refused.append(Refused(index, "created_at", (
                    f"is empty, and opportunity {row.external_id!r} is not in the store: "
                    "a new opportunity needs created_at (load the opportunities before "
                    "their changes or contact roles)")))
                continue
            opp = _Opp({"status": (_DEFAULT_TIME, "open")}, [], row.as_of, changed=True)
            opps[row.external_id] = opp
            did[index] = True
        did[index] = _merge_state(opp.flat, new) or did.get(index, False)
        steps = [{"stage": s, "at": t.isoformat()} for s, t in row.stage_history]
        if any(s not in opp.history for s in steps):
            opp.history.extend(s for s in steps if s not in opp.history)
            did[index] = True
        opp.as_of = max(opp.as_of, row.as_of)
        opp.changed |= did[index]
        applied.append((index, row))
    # the opportunities: new ones in one insert, changed ones in one update
    fresh = [(ext, o) for ext, o in opps.items() if o.id is None]
    store.insert_opportunities(conn, [
        {**_columns(o.flat, o.history, o.as_of), "external_id": ext, "as_of": o.as_of,
         "source": source, "created_at": now, "updated_at": now} for ext, o in fresh])
    if fresh:
        ids = store.opportunity_ids_by_external(conn, [ext for ext, _ in fresh])
        for ext, o in fresh:
            o.id = ids[ext]
    store.update_opportunities(conn, [
        {**_columns(o.flat, o.history, o.as_of), "id": o.id, "as_of": o.as_of, "source": source,
         "updated_at": now} for ext, o in opps.items()
        if o.changed and ext in stored])
    by_ext = {ext: int(o.id) for ext, o in opps.items() if o.id is not None}
    history_did = _merge_histories(conn, by_ext, applied, source=source, now=now)
    # what identity and linking need of each opportunity, as now merged
    columns = {by_ext[ext]: {
        "primary_email": o.flat.get("primary_email", ("", None))[1],
        "account_domain": o.flat.get("account_domain", ("", None))[1],
        "opened_at": o.flat["opened_at"][1],
        "closed_at": o.flat.get("closed_at", ("", None))[1],
        "account_id": stored.get(ext, {}).get("account_id"),
        "primary_contact_id": stored.get(ext, {}).get("primary_contact_id")}
        for ext, o in opps.items() if ext in by_ext}
    contact_did = _merge_all_contacts(conn, by_ext, applied, columns, rules=rules,
                                      source=source)
    changed = sum(1 for i, _ in applied if did.get(i) or i in history_did or i in contact_did)
    touched = {by_ext[r.external_id] for _, r in applied}
    link(conn, touched, now=now, known={oid: columns[oid] for oid in touched})
    return changed, len(applied) - changed, refused


def _merge_histories(conn: Connection, ids: Mapping[str, int],
                     applied: Sequence[tuple[int, OpportunityRow]], *, source: str,
                     now: datetime) -> set[int]:
    """The rows' history entries into `opportunity_history` (one read, one insert); the
    positions of the rows that added or changed an entry."""
    existing: dict[tuple[int, datetime, str], dict[str, Any]] = {}
    for oid, entries in store.history_of(conn, set(ids.values())).items():
        for h in entries:
            existing[(oid, h["at"], h["stage"])] = h
    new: dict[tuple[int, datetime, str], dict[str, Any]] = {}
    updates: dict[int, dict[str, Any]] = {}
    changed: set[int] = set()
    for index, row in applied:
        oid = ids[row.external_id]
        for (at, stage), values in history_entries(row).items():
            key = (oid, at, stage)
            old = existing.get(key) or new.get(key)
            if old is None:
                new[key] = {"opportunity_id": oid, "at": at, "stage": stage, **values,
                            "source": source, "recorded_at": now}
                changed.add(index)
                continue
            merged = {k: _larger(old[k], v) for k, v in values.items()}
            if any(merged[k] != old[k] for k in merged):
                old.update(merged)
                if "id" in old:
                    updates[int(old["id"])] = {"id": int(old["id"]), **{
                        k: old[k] for k in ("status", "amount", "closed_at")}}
                changed.add(index)
    store.add_history(conn, list(new.values()))
    store.update_histories(conn, list(updates.values()))
    return changed


def _merge_all_contacts(conn: Connection, ids: Mapping[str, int],
                        applied: Sequence[tuple[int, OpportunityRow]],
                        columns: Mapping[int, dict[str, Any]], *, rules: IdentityRules,
                        source: str) -> set[int]:
    """The contacts the rows name into `opportunity_contacts`, and each opportunity's
    account and primary contact from its merged state; the positions of the rows that
    added or changed a contact."""
    refs = {e for _, r in applied for e in ([r.primary_email] if r.primary_email else [])
            + [c for c, _ in r.contacts]}
    refs |= {c["primary_email"] for c in columns.values() if c["primary_email"]}
    found = _contacts_by_email(conn, refs, rules)
    existing = store.contacts_of(conn, set(columns))
    adds: dict[tuple[int, int], dict[str, Any]] = {}
    updates: dict[int, dict[str, Any]] = {}
    changed: set[int] = set()
    for index, row in applied:
        oid = ids[row.external_id]
        named: dict[int, str | None] = {}
        if row.primary_email and row.primary_email in found:
            named[found[row.primary_email]] = None
        for email, role in row.contacts:
            if email in found:
                named[found[email]] = _larger(named.get(found[email]), role)
        mine = existing.setdefault(oid, {})
        for cid, role in named.items():
            old = mine.get(cid)
            if old is None:
                mine[cid] = adds[(oid, cid)] = {
                    "opportunity_id": oid, "contact_id": cid, "role": role,
                    "is_primary": False, "source": source, "updated_at": row.as_of}
                changed.add(index)
            elif (row.as_of, role or "") > (old["updated_at"], old["role"] or ""):
                # the role of the newest row naming the contact
                old.update(role=role, updated_at=row.as_of)
                if "id" in old:
                    updates[int(old["id"])] = {"id": int(old["id"]), "role": role,
                                               "updated_at": row.as_of}
                changed.add(index)
    primaries = {oid: found.get(c["primary_email"]) if c["primary_email"] else None
                 for oid, c in columns.items()}
    domains = account_store.ids_by_domain(conn, {c["account_domain"] for c in
                                                 columns.values() if c["account_domain"]})
    of_contact = store.account_of_contacts(conn, {p for p in primaries.values() if p})
    moves = []
    for oid, c in columns.items():
        primary = primaries[oid]
        account = domains.get(c["account_domain"] or "")
        if account is None and primary is not None:
            account = of_contact.get(primary)
        ids_now = {"account_id": account, "primary_contact_id": primary}
        if any(c.get(k) != v for k, v in ids_now.items()):
            moves.append({"id": oid, **ids_now})
            c.update(ids_now)
        for cid, r in existing.get(oid, {}).items():
            if bool(r["is_primary"]) != (cid == primary):
                r["is_primary"] = cid == primary
                if "id" in r:
                    updates.setdefault(int(r["id"]), {"id": int(r["id"])})[
                        "is_primary"] = cid == primary
    store.update_opportunities(conn, moves)
    store.add_contacts(conn, list(adds.values()))
    # one executemany per set of columns
    store.update_contacts(conn, list(updates.values()))
    return changed


def _contacts_by_email(conn: Connection, emails: Iterable[str], rules: IdentityRules
                       ) -> dict[str, int]:
    """The stored contact of each address, or of each CRM id key (``salesforce:003...``,
    a contact role named by the CRM's contact id)."""
    clean: dict[str, str] = {}
    crm: dict[str, Identifier] = {}
    for email in emails:
        parts = split_key(email) if "@" not in email else None
        if parts is not None:
            crm[email] = Identifier("external", parts[1], parts[0])
            continue
        try:
            clean[email] = clean_email(email)
        except ValueError:
            continue
    found = find_by_email(conn, sorted(set(clean.values())), rules) if clean else {}
    out = {e: found[c] for e, c in clean.items() if c in found}
    if crm:
        by_id = contact_store.find(conn, crm.values())
        out.update({e: by_id[i] for e, i in crm.items() if i in by_id})
    return out


def _merge_contacts(conn: Connection, oid: int, row: OpportunityRow, found: Mapping[str, int],
                    *, source: str) -> bool:
    named: dict[int, str | None] = {}
    if row.primary_email and row.primary_email in found:
        named[found[row.primary_email]] = None
    for email, role in row.contacts:
        if email in found:
            cid = found[email]
            named[cid] = _larger(named.get(cid), role)
    existing = store.contacts_of(conn, [oid]).get(oid, {})
    changed = False
    for cid, role in named.items():
        old = existing.get(cid)
        if old is None:
            store.add_contact(conn, {"opportunity_id": oid, "contact_id": cid, "role": role,
                                     "is_primary": False, "source": source[:1000],
                                     "updated_at": row.as_of})
            changed = True
        elif (row.as_of, role or "") > (old["updated_at"], old["role"] or ""):
            store.update_contact(conn, int(old["id"]), {"role": role,
                                                         "updated_at": row.as_of})
            changed = True
    return changed


def _set_primary(conn: Connection, oid: int, primary: int | None) -> None:
    for cid, row in store.contacts_of(conn, [oid]).get(oid, {}).items():
        if bool(row["is_primary"]) != (cid == primary):
            store.update_contact(conn, int(row["id"]), {"is_primary": cid == primary})


def link(conn: Connection, opportunity_ids: Iterable[int], *, now: datetime,
         known: Mapping[int, Mapping[str, Any]] | None = None) -> int:
    """Compute the links of these opportunities again (in the caller's transaction, a few
    statements for all of them); the number of links added, changed or removed. `known`:
    their opened_at, closed_at, primary_contact_id and account_id when the caller has
    them (else they are read)."""
    outcomes = _outcome_settings(conn)
    ids = sorted(set(opportunity_ids))
    opps = dict(known) if known is not None else store.opportunity_keys(conn, ids)
    people = store.contacts_of(conn, ids)
    at_account = store.contacts_of_accounts(conn, {int(o["account_id"]) for o in opps.values()
                                                   if o["account_id"] is not None})
    tiers_of: dict[int, dict[int, int]] = {}
    for oid in ids:
        opp = opps.get(oid)
        if opp is None:
            continue
        tiers: dict[int, int] = {}
        if opp["primary_contact_id"] is not None:
            tiers[int(opp["primary_contact_id"])] = 0
        for cid in people.get(oid, {}):
            tiers.setdefault(cid, 1)
        if opp["account_id"] is not None:
            for cid in at_account.get(int(opp["account_id"]), []):
                tiers.setdefault(cid, 2)
        tiers_of[oid] = tiers
    quals = store.qualifications(conn, {c for t in tiers_of.values() for c in t})
    stored_links = store.links_of_many(conn, tiers_of)
    gone: list[int] = []
    adds: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for oid, tiers in tiers_of.items():
        opp = opps[oid]
        links = {lk.contact_id: lk for lk in credit(
            opp["opened_at"], opp["closed_at"],
            [(cid, tier, quals.get(cid, [])) for cid, tier in tiers.items()], outcomes)}
        stored = stored_links.get(oid, {})
        gone += [int(stored[c]["id"]) for c in set(stored) - set(links)]
        for cid, lk in links.items():
            values = {"kind": lk.kind, "history_id": lk.history_id,
                      "qualified_at": lk.qualified_at, "rule": lk.rule}
            old = stored.get(cid)
            if old is None:
                adds.append({"opportunity_id": oid, "contact_id": cid, **values,
                             "linked_at": now})
            elif any(old[k] != v for k, v in values.items()):
                updates.append({"id": int(old["id"]), **values, "linked_at": now})
    store.delete_link_rows(conn, gone)
    store.add_links(conn, adds)
    store.update_links(conn, updates)
    return len(gone) + len(adds) + len(updates)


def link_all(engine: Engine, *, now: datetime, rules: IdentityRules | None = None) -> int:
    """Link every stored opportunity again (after contacts or MQLs arrived later); the
    number of links added, changed or removed. Contacts named by email that were not in
    the store when the opportunity was loaded are resolved now, and a contact merged into
    another since is replaced by the survivor."""
    rules = rules or IdentityRules()
    check(engine)
    with translate_errors("linking opportunities"), engine.begin() as conn:
        store.drop_merged_contacts(conn)
        ids = store.opportunity_ids(conn)
        emails: dict[int, tuple[str | None, list[tuple[str, str | None]]]] = {}
        for oid in ids:
            opp = store.opportunity(conn, oid)
            assert opp is not None
            people = [(c["email"], c.get("role")) for c in
                      (opp["attributes"] or {}).get("contacts", []) if c.get("email")]
            emails[oid] = (opp["primary_email"], people)
        found = _contacts_by_email(conn, {e for p, more in emails.values()
                                          for e in ([p] if p else []) + [m for m, _ in more]},
                                   rules)
        for oid, (primary_email, people) in emails.items():
            opp = store.opportunity(conn, oid)
            assert opp is not None
            row = OpportunityRow(opp["external_id"], opp["opened_at"], opp["as_of"],
                                 opp["status"], primary_email=primary_email,
                                 contacts=tuple(people))
            _merge_contacts(conn, oid, row, found, source=opp["source"] or "")
            primary = found.get(primary_email) if primary_email else None
            account = None
            if opp["account_domain"]:
                account = account_store.ids_by_domain(conn, [opp["account_domain"]]).get(
                    opp["account_domain"])
            if account is None and primary is not None:
                account = store.account_of_contacts(conn, [primary]).get(primary)
            store.update_opportunity(conn, oid, {"account_id": account,
                                                 "primary_contact_id": primary})
            _set_primary(conn, oid, primary)
        return link(conn, ids, now=now)


# -- costs ------------------------------------------------------------------------------

CostKey = tuple[str, str, str]


def apply_costs(conn: Connection, rows: Sequence[CostRow], *, now: datetime, source: str
                ) -> tuple[set[CostKey], set[CostKey]]:
    """Store the totals of `rows` per month, channel and campaign (replacing the stored
    totals of those keys); (keys new or changed, keys as stored)."""
    totals: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r.month, r.channel, r.campaign)
        t = totals.setdefault(key, {"amount": 0.0, "currency": r.currency, "touches": None})
        t["amount"] = round(t["amount"] + r.amount, 6)
        if r.touches is not None:
            t["touches"] = (t["touches"] or 0) + r.touches
    stored = store.costs_of(conn, totals)
    changed: set[CostKey] = set()
    same: set[CostKey] = set()
    for key, values in sorted(totals.items()):
        old = stored.get(key)
        if old is None:
            store.add_cost(conn, {"month": key[0], "channel": key[1], "campaign": key[2],
                                  **values, "source": source[:1000], "updated_at": now})
            changed.add(key)
        elif any(old[k] != v for k, v in values.items()):
            store.update_cost(conn, int(old["id"]), {**values, "source": source[:1000],
                                                     "updated_at": now})
            changed.add(key)
        else:
            same.add(key)
    return changed, same


# -- dispositions -----------------------------------------------------------------------

def apply_dispositions(conn: Connection, rows: Sequence[tuple[int, DispositionRow]], *,
                       rules: IdentityRules, now: datetime, source: str, where: str
                       ) -> tuple[set[int], list[InputError], list[tuple[int, InputError]]]:
    """Store dispositions (each (row number, row)); (the row numbers that stored one,
    refused rows, kept rows' dropped fields as (row number, error)). A disposition of a
    contact, time and status stored already is skipped."""
    found = _contacts_by_email(conn, {r.email for _, r in rows}, rules)
    reasons = _reasons(conn)
    opps = store.opportunity_ids_by_external(conn, {r.opportunity for _, r in rows
                                                     if r.opportunity})
    known = store.disposition_keys(conn, set(found.values()))
    refused: list[InputError] = []
    kept: list[tuple[int, InputError]] = []
    new: list[dict[str, Any]] = []
    landed: set[int] = set()
    for number, r in rows:
        if r.email not in found:
            refused.append(InputError(where, number, "email", f"no contact {r.email!r} in "
                                      "the store; ingest the contacts first"))
            continue
        if r.reason is not None and reasons is not None and r.reason not in reasons:
            refused.append(InputError(where, number, "reason", f"{r.reason!r} is not one of "
                                      f"the model's reasons ({', '.join(reasons)})"))
            continue
        oid = opps.get(r.opportunity) if r.opportunity else None
        if r.opportunity and oid is None:
            kept.append((number, InputError(where, number, "opportunity_id", (
                f"no opportunity {r.opportunity!r} in the store (ingest the opportunities "
                "first); the row was kept without this field"))))
        key = (found[r.email], r.at, r.status)
        if key in known:
            continue
        known.add(key)
        landed.add(number)
        new.append({"contact_id": key[0], "at": r.at, "status": r.status,
                    "reason": r.reason, "note": r.note, "actor": r.actor,
                    "opportunity_id": oid, "source": source[:1000], "recorded_at": now})
    store.add_dispositions(conn, new)
    return landed, refused, kept


# -- files ------------------------------------------------------------------------------

def _subject(kind: str, record: Any) -> str | None:
    if isinstance(record, OpportunityRow):
        return record.external_id
    if isinstance(record, list) and record and isinstance(record[0], DispositionRow):
        return str(record[0].email)
    return None


_SUBJECT_FIELD = {"opportunities": "opportunity_id", "dispositions": "email"}


def _raw_subject(kind: str, raw: Mapping[str, Any], mapping: mappings.Mapping
                 ) -> str | None:
    """The opportunity id or email a bad row is about (a later good row resolves it)."""
    name = _SUBJECT_FIELD.get(kind)
    if name is None:
        return None
    value = mappings.map_row(raw, kind, mapping).get(name)
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    return text.lower() if kind == "dispositions" else text[:200]


@dataclass(slots=True)
class _Batch:
    held: list[quarantine_store.Held] = field(default_factory=list)
    good: list[tuple[int, Any, Any]] = field(default_factory=list)  # (row, raw, record)


def ingest_outcomes(engine: Engine, path: Path, kind: Kind, *, rules: IdentityRules,
                    now: datetime, mapping: str | Path = "auto", source: str | None = None,
                    batch_size: int = 1000, progress: Progress | None = None,
                    options: ReadOptions | None = None, date_format: str | None = None,
                    dayfirst: bool | None = None) -> IngestSummary:
    """Load a file of opportunities, costs or dispositions; the summary counts its rows
    (`loaded`: rows that changed the store, `duplicates`: rows it held already)."""
    if kind not in OUTCOME_KINDS:
        raise ConfigError(f"{kind!r} is not an outcome kind ({', '.join(OUTCOME_KINDS)})")
    rows = file_rows(engine, path, kind, mapping=mapping, source=source, options=options,
                     date_format=date_format, dayfirst=dayfirst, progress=progress)
    reader = rows.reader
    assert reader is not None
    _load(engine, kind, rows, subject=lambda raw: _raw_subject(kind, raw,
                                                               reader.use(raw.keys())),
          rules=rules, now=now, batch_size=batch_size)
    return rows.finish()


def load_rows(engine: Engine, kind: str, rows: Iterable[Mapping[str, Any]], *,
              rules: IdentityRules, now: datetime, source: str,
              batch_size: int = 1000) -> IngestSummary:
    """Load rows in mql's columns (the files' layout: e.g. the synthetic world's records
    as `mql.service.synth.record_row` writes them) as `ingest_outcomes` loads a file, with
    the same checks, quarantine (`source` and the row's position) and counts."""
    if kind not in OUTCOME_KINDS:
        raise ConfigError(f"{kind!r} is not an outcome kind ({', '.join(OUTCOME_KINDS)})")
    listed = list_rows(engine, kind, rows, source=source)
    _load(engine, kind, listed, subject=lambda raw: _raw_subject(kind, raw, mappings.MQL),
          rules=rules, now=now, batch_size=batch_size)
    return listed.finish()


def _load(engine: Engine, kind: str, rows: RowSource, *,
          subject: Callable[[Mapping[str, Any]], str | None], rules: IdentityRules,
          now: datetime, batch_size: int) -> None:
    """The rows of one file (or one list) into the store, a batch per transaction; costs
    in one transaction at the end (their totals are the file's)."""
    summary, source = rows.summary, rows.name
    costs: list[CostRow] = []
    currency: dict[CostKey, str] = {}

    def parse(raw: Mapping[str, Any], number: int) -> Any:
        record = rows.parse(raw, number)
        if isinstance(record, CostRow):
            key = (record.month, record.channel, record.campaign)
            if currency.setdefault(key, record.currency) != record.currency:
                raise InputError(summary.source, number, "currency", (
                    f"{record.currency} differs from {currency[key]}, the currency "
                    f"of the other rows of {key[0]} {key[1]} {key[2] or ''}").rstrip())
        return record

    # each batch is committed when the next is read, so the last one (the file's end)
    # lands after the costs, as the file's totals
    last: _Batch | None = None
    for read in read_batches(rows.items, parse, batch_size):
        summary.rows += read.rows
        batch = _Batch([quarantine_store.Held(
            kind, summary.source, r.number, r.raw_text, r.field, r.reason, rows.mapping(),
            subject(r.raw) if r.read and isinstance(r.raw, Mapping) else None)
            for r in read.refused])
        for g in read.good:
            if isinstance(g.record, CostRow):
                costs.append(g.record)  # one total per key: applied at the end
            else:
                batch.good.append((g.number, g.raw, g.record))
        if last is not None:
            _commit(engine, kind, last, summary, rules=rules, now=now, source=source,
                    mapping=rows.mapping())
            if rows.progress is not None:
                rows.progress(summary.rows - read.rows)
        last = batch
    if costs:
        with translate_errors(f"ingesting costs from {summary.source}"), \
                engine.begin() as conn:
            changed, same = apply_costs(conn, costs, now=now, source=source)
        keys = [(c.month, c.channel, c.campaign) for c in costs]
        summary.loaded += sum(k in changed for k in keys)
        summary.duplicates += sum(k in same for k in keys)
        summary.notes.append(f"{len(changed) + len(same):,} totals per month, channel and "
                             f"campaign: {len(changed):,} new or changed, {len(same):,} as "
                             "stored")
    if last is not None:
        _commit(engine, kind, last, summary, rules=rules, now=now, source=source,
                mapping=rows.mapping())
    if rows.progress is not None:
        rows.progress(summary.rows)


def _commit(engine: Engine, kind: str, batch: _Batch, summary: IngestSummary, *,
            rules: IdentityRules, now: datetime, source: str, mapping: str) -> None:
    if not batch.held and not batch.good:
        return
    raws = {number: raw for number, raw, _ in batch.good}
    with translate_errors(f"ingesting {kind} from {summary.source}"), engine.begin() as conn:
        held = list(batch.held)
        if kind == "opportunities":
            changed, same, unknown = apply_opportunities(
                conn, [r for _, _, r in batch.good], rules=rules, now=now, source=source)
            summary.loaded += changed
            summary.duplicates += same
            skipped = {f.index for f in unknown}
            summary.resolved += quarantine_store.resolve_subjects(
                conn, [kind], {r.external_id for i, (_, _, r) in enumerate(batch.good)
                               if i not in skipped}, now=now,
                note="a later row about the same opportunity landed")
            for f in unknown:
                number, raw, record = batch.good[f.index]
                held.append(quarantine_store.Held(kind, summary.source, number,
                                                  raw_json(raw), f.field, f.reason, mapping,
                                                  record.external_id))
        elif kind == "dispositions":
            rows = [(number, d) for number, _, ds in batch.good for d in ds]
            landed, refused, kept = apply_dispositions(
                conn, rows, rules=rules, now=now, source=source, where=summary.source)
            gone = {e.row for e in refused}
            summary.resolved += quarantine_store.resolve_subjects(
                conn, [kind], {d.email for n, d in rows if n in landed}, now=now,
                note="a later disposition of the same contact landed")
            summary.loaded += len(landed)
            summary.duplicates += len({n for n, _ in rows} - landed - gone)
            held += [quarantine_store.Held(kind, summary.source, e.row or 0,
                                           raw_json(raws.get(e.row or 0, {})), e.field,
                                           e.reason, mapping,
                                           _subject(kind, [d for n, d in rows if n == e.row]))
                     for e in refused]
            warned = [quarantine_store.Held(kind, summary.source, n,
                                            raw_json(raws.get(n, {})), e.field, e.reason,
                                            mapping, kept=True)
                      for n, e in kept]
            quarantine_store.add(conn, warned, now=now)
            summary.fields_dropped += len(warned)
        new = quarantine_store.add(conn, held, now=now)
        summary.quarantined += len(held)
        summary.quarantined_before += len(held) - new


# -- one opportunity, one disposition (the API) -----------------------------------------

def save_opportunity(engine: Engine, row: OpportunityRow, *, rules: IdentityRules,
                     now: datetime, source: str) -> dict[str, Any]:
    """Apply one opportunity state (the API); the opportunity as stored after it."""
    check(engine)
    with translate_errors("saving an opportunity"), engine.begin() as conn:
        _, _, refused = apply_opportunities(conn, [row], rules=rules, now=now,
                                            source=source)
    if refused:
        raise NotFound(f"no opportunity {row.external_id!r} in the store, and the request "
                       f"gives no created_at: {refused[0].field} {refused[0].reason}")
    return read_opportunity(engine, row.external_id)


def save_costs(engine: Engine, rows: Sequence[CostRow], *, now: datetime, source: str
               ) -> tuple[set[CostKey], set[CostKey]]:
    """Store cost totals (the API): each key's total replaces the stored one."""
    check(engine)
    with translate_errors("saving costs"), engine.begin() as conn:
        return apply_costs(conn, rows, now=now, source=source)


def save_disposition(engine: Engine, rows: Sequence[DispositionRow], *,
                     rules: IdentityRules, now: datetime, source: str) -> int:
    """Store the dispositions of one request; `NotFound` for an unknown contact,
    `ConfigError` for a reason not in the model's list. The number stored (0: held
    already)."""
    check(engine)
    with translate_errors("saving a disposition"), engine.begin() as conn:
        landed, refused, _ = apply_dispositions(
            conn, [(i, r) for i, r in enumerate(rows)], rules=rules, now=now, source=source,
            where="request")
        if refused:
            if refused[0].field == "email":
                raise NotFound(refused[0].reason)
            raise ConfigError(f"{refused[0].field}: {refused[0].reason}")
    return len(landed)


def read_opportunity(engine: Engine, external_id: str) -> dict[str, Any]:
    """One opportunity with its history, contacts and links; `NotFound` if none."""
    with translate_errors("reading an opportunity"), engine.connect() as conn:
        opp = store.opportunities_by_external(conn, [external_id]).get(external_id)
        if opp is None:
            raise NotFound(f"no opportunity {external_id!r} in the store")
        oid = int(opp["id"])
        history = store.history_of(conn, [oid]).get(oid, [])
        people = store.contacts_of(conn, [oid]).get(oid, {})
        links = store.links_of(conn, oid)
        emails = store.contact_emails(conn, set(people) | set(links))
    attributes = {k: v for k, v in (opp["attributes"] or {}).items() if k != _TIMES}
    return {**opp, "attributes": attributes, "history": history,
            "contacts": [{"contact_id": c, "email": emails.get(c), "role": r["role"],
                          "is_primary": bool(r["is_primary"])}
                         for c, r in sorted(people.items())],
            "links": [{"contact_id": c, "email": emails.get(c), "kind": r["kind"],
                       "history_id": r["history_id"], "qualified_at": r["qualified_at"],
                       "rule": r["rule"]} for c, r in sorted(links.items())]}


def dispositions(engine: Engine, email: str | None = None, *,
                 rules: IdentityRules | None = None) -> list[dict[str, Any]]:
    """The dispositions ledger (of one contact when `email` is given), oldest first."""
    with translate_errors("reading dispositions"), engine.connect() as conn:
        cid = None
        if email is not None:
            found = _contacts_by_email(conn, [email], rules or IdentityRules())
            if email not in found:
                raise NotFound(f"no contact {email!r} in the store")
            cid = found[email]
        ledger = store.dispositions_of(conn, cid)
        emails = store.contact_emails(conn, {d["contact_id"] for d in ledger})
    return [{**d, "email": emails.get(d["contact_id"])} for d in ledger]
