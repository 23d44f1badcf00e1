"""Use cases of consent (issue 17): load consent changes (files, Segment messages, the
API), keep the suppression lists, and answer "may we reach this contact now, and why
not" for the gates of the hand-off (`mql.service.handoff`) and the lead views.

A consent row about an address the store does not know is quarantined (file, row,
field) until the contact exists; every good row lands, once (a fingerprint per change).
Every consent change, suppression and policy-driven refusal is in the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mql.compliance.consent import channel_of
from mql.compliance.policy import SUPPRESSION_KINDS, Suppression, email_hash
from mql.errors import ConfigError, InputError, NotFound
from mql.identity.merge import IdentityRules
from mql.identity.normalize import clean_email
from mql.ingest.consent import ConsentRow
from mql.ingest.files import ReadOptions
from mql.ingest.rows import Refused, read_batches
from mql.service import suppressed
from mql.service.consent_gate import HOLD, Gate, verdicts_of
from mql.service.ingest import IngestSummary, RowSource, file_rows, list_rows
from mql.service.resolve import find_by_email
from mql.store import consent as store
from mql.store import contacts as contact_store
from mql.store import merges as audit_store
from mql.store import quarantine as quarantine_store
from mql.store.db import translate_errors
from mql.store.migrate import check
from mql.store.tables import audit_log, contacts, outbox

Progress = Callable[[int, int, int | None], None]


def _raw(row: Any) -> str:
    data = dict(row) if isinstance(row, Mapping) else {"line": row}
    return json.dumps(data, default=str, sort_keys=True)


def _contacts_of(conn: Connection, emails: Iterable[str], rules: IdentityRules
                 ) -> dict[str, int]:
    clean: dict[str, str] = {}
    for e in emails:
        try:
            clean[e] = clean_email(e)
        except ValueError:
            continue
    found = find_by_email(conn, sorted(set(clean.values())), rules) if clean else {}
    return {e: found[c] for e, c in clean.items() if c in found}


def apply_consent(conn: Connection, rows: Sequence[tuple[int, ConsentRow]], *,
                  rules: IdentityRules, now: datetime, where: str, actor: str = "ingest",
                  source: str | None = None) -> tuple[set[int], list[InputError]]:
    """Store consent changes (each (row number, row)); (the row numbers that stored a
    change, the rows refused, named by `where`). A change stored already is skipped (not
    refused). A row without its own source gets `source` (default: `where`)."""
    found = _contacts_of(conn, {r.email for _, r in rows}, rules)
    # a grant for an address without a contact lifts its suppression (an erased person
    # who gives consent again may be imported again: `mql.service.suppressed`)
    lifted = suppressed.lift(conn, [(r.email, r.at, r.source or source or where)
                                    for _, r in rows
                                    if r.status == "granted" and r.email not in found],
                             rules=rules, now=now, actor=actor)
    refused: list[InputError] = []
    pending: list[tuple[int, dict[str, Any]]] = []
    for number, r in rows:
        cid = found.get(r.email)
        if cid is None:
            refused.append(InputError(where, number, "email", (
                f"no contact {r.email!r} in the store; {suppressed.LIFTED_NOTE}")
                if r.email in lifted else (f"no contact {r.email!r} in the store; ingest "
                                           "the contacts first")))
            continue
        pending.append((number, {
            "contact_id": cid, "origin_id": cid, "channel": r.channel,
            "jurisdiction": r.jurisdiction, "status": r.status, "basis": r.basis,
            "purpose": r.purpose, "at": r.at, "source": (r.source or source or where)[:200],
            "evidence": dict(r.evidence) or None, "expires_at": r.expires_at,
            "recorded_at": now,
            "fingerprint": store.fingerprint(r.email, r.channel, r.purpose, r.status,
                                             r.basis, r.at)}))
    new = store.add_records(conn, [p for _, p in pending])
    landed = {n for n, p in pending if p["fingerprint"] in new}
    changed = [p for _, p in pending if p["fingerprint"] in new]
    store.audit_many(conn, [{
        "at": now, "actor": actor, "action": "consent.change",
        "subject": f"contact:{p['contact_id']}", "detail": {
            "contact_id": p["contact_id"], "channel": p["channel"], "status": p["status"],
            "basis": p["basis"], "at": p["at"].isoformat(), "source": p["source"]}}
        for p in changed])
    stopped = {p["contact_id"] for p in changed if p["status"] in ("denied", "withdrawn")}
    if stopped:
        _refuse_pending(conn, stopped, now)
        from mql.service import nurture  # issue 21: a withdrawal ends the track at once

        stops: dict[int, datetime] = {}
        for p in changed:
            if p["status"] in ("denied", "withdrawn"):
                cid = int(p["contact_id"])
                stops[cid] = min(stops.get(cid, p["at"]), p["at"])
        nurture.consent_stopped(conn, stops)
    granted = {p["contact_id"] for p in changed if p["status"] == "granted"}
    if granted:  # a lead held for want of this consent goes to its seller now
        release_held(conn, granted, now=now)
    return landed, refused


def _refuse_pending(conn: Connection, contact_ids: set[int], now: datetime) -> None:
    """A withdrawal is honoured at once (CAN-SPAM allows 10 business days; mql takes
    none): the contacts' notifications not yet delivered are refused."""
    emails = [e for e in conn.execute(sa.select(contacts.c.email).where(
        contacts.c.id.in_(sorted(contact_ids)))).scalars() if e]
    if emails:
        conn.execute(outbox.update().where(outbox.c.subject.in_(emails),
                                           outbox.c.status == "pending")
                     .values(status="refused", last_error="consent withdrawn", locked_until=None))


def _load(engine: Engine, rows: RowSource, *, rules: IdentityRules, now: datetime,
          batch_size: int) -> None:
    """The consent rows of one file (or list), a batch per transaction."""
    summary = rows.summary

    def held_row(r: Refused, email: str | None = None) -> quarantine_store.Held:
        return quarantine_store.Held("consent", summary.source, r.number, r.raw_text,
                                     r.field, r.reason, rows.mapping(), email)

    for batch in read_batches(rows.items, rows.parse, batch_size):
        summary.rows += batch.rows
        held = [held_row(r, str(r.raw.get("email") or "").strip().lower() or None
                         if r.read and isinstance(r.raw, Mapping) else None)
                for r in batch.refused]
        if held or batch.good:
            good = {g.number: g for g in batch.good}
            with translate_errors(f"ingesting consent from {summary.source}"), \
                    engine.begin() as conn:
                landed, refused = apply_consent(
                    conn, [(g.number, g.record) for g in batch.good], rules=rules, now=now,
                    where=summary.source, source=rows.name)
                summary.loaded += len(landed)
                summary.duplicates += len(batch.good) - len(landed) - len(refused)
                summary.resolved += quarantine_store.resolve_subjects(
                    conn, ["consent"], {g.record.email for g in batch.good
                                        if g.number in landed}, now=now,
                    note="a later consent row of the same contact landed")
                held += [held_row(Refused(e.row or 0, good[e.row or 0].raw, e.field,
                                          e.reason), good[e.row or 0].record.email)
                         for e in refused]
                new = quarantine_store.add(conn, held, now=now)
                summary.quarantined += len(held)
                summary.quarantined_before += len(held) - new
        if rows.progress is not None:
            rows.progress(summary.rows)


def ingest_consent(engine: Engine, path: Path, *, rules: IdentityRules, now: datetime,
                   mapping: str | Path = "auto", source: str | None = None,
                   batch_size: int = 1000, progress: Progress | None = None,
                   options: ReadOptions | None = None, date_format: str | None = None,
                   dayfirst: bool | None = None) -> IngestSummary:
    """Load a file of consent changes (`mql ingest consent`); the summary counts its rows
    (`loaded`: changes new to the store, `duplicates`: changes it held already)."""
    rows = file_rows(engine, path, "consent", mapping=mapping, source=source,
                     options=options, date_format=date_format, dayfirst=dayfirst,
                     progress=progress)
    _load(engine, rows, rules=rules, now=now, batch_size=batch_size)
    return rows.finish()


def load_rows(engine: Engine, rows: Iterable[Mapping[str, Any]], *, rules: IdentityRules,
              now: datetime, source: str, batch_size: int = 1000) -> IngestSummary:
    """Load rows in mql's consent columns (the synthetic world's records, as
    `mql.service.synth.record_row` writes them) as `ingest_consent` loads a file."""
    listed = list_rows(engine, "consent", rows, source=source)
    _load(engine, listed, rules=rules, now=now, batch_size=batch_size)
    return listed.finish()


def record_consent(engine: Engine, rows: Sequence[ConsentRow], *, rules: IdentityRules,
                   now: datetime, actor: str, source: str = "api") -> int:
    """Store consent changes given one by one (the API); how many were new. `NotFound`
    when a row's contact is not in the store."""
    check(engine)
    with translate_errors("recording consent"), engine.begin() as conn:
        landed, refused = apply_consent(conn, list(enumerate(rows, 1)), rules=rules,
                                        now=now, where=source, actor=actor)
        # a row that lifted a suppression is kept (the lifting), not refused
        hard = [e for e in refused if suppressed.LIFTED_NOTE not in e.reason]
        if hard:
            raise NotFound(hard[0].reason)
        return len(landed)


# -- Segment: identify traits and the consent-management shape --------------------------

_CATEGORY_CHANNELS = {"advertising": "ads", "ads": "ads", "targeting": "ads",
                      "marketing": "email", "email": "email", "email_marketing": "email",
                      "sms": "sms", "phone": "phone", "sales": "sales"}


def rows_from_segment(message: Mapping[str, Any], email: str, at: datetime
                      ) -> list[ConsentRow]:
    """The consent changes a Segment message carries: `context.consent.
    categoryPreferences` (``{"Advertising": true, "Email": false}``: true grants, false
    denies; categories that are not outreach channels, such as analytics, are ignored)
    and, on identify, the traits `unsubscribed` (true withdraws email) and
    `consent_<channel>` (true/false)."""
    out: list[ConsentRow] = []
    context = message.get("context")
    prefs = context.get("consent", {}).get("categoryPreferences") if isinstance(
        context, Mapping) and isinstance(context.get("consent"), Mapping) else None
    evidence = {"message_id": str(message.get("messageId") or "")[:200], "via": "segment"}
    seen: set[str] = set()
    if isinstance(prefs, Mapping):
        for name, value in prefs.items():
            key = "_".join(str(name).lower().replace("-", " ").split())
            channel = _CATEGORY_CHANNELS.get(key)
            if channel is None or not isinstance(value, bool) or channel in seen:
                continue
            seen.add(channel)
            out.append(ConsentRow(email, channel, "granted" if value else "denied",
                                  "consent" if value else "none", at, source="segment",
                                  evidence={**evidence, "category": str(name)[:100]}))
    traits = message.get("traits") if message.get("type") == "identify" else None
    if isinstance(traits, Mapping):
        if traits.get("unsubscribed") is True and "email" not in seen:
            out.append(ConsentRow(email, "email", "withdrawn", "none", at, source="segment",
                                  evidence=evidence))
        for key, value in traits.items():
            channel = channel_of(str(key).removeprefix("consent_")) if str(key).startswith(
                "consent_") else None
            if channel is not None and isinstance(value, bool) and channel not in seen:
                seen.add(channel)
                out.append(ConsentRow(email, channel, "granted" if value else "withdrawn",
                                      "consent" if value else "none", at, source="segment",
                                      evidence=evidence))
    return out


# -- suppression lists ------------------------------------------------------------------

def _entry(kind: str, value: str, at: datetime, reason: str | None) -> Suppression:
    if kind not in SUPPRESSION_KINDS:
        raise ConfigError(f"{kind!r} is not a suppression list ({', '.join(SUPPRESSION_KINDS)})")
    text = value.strip().lower()
    if not text:
        raise ConfigError("a suppression needs a value")
    if kind == "email":
        if "@" not in text:
            raise ConfigError(f"{value!r} is not an email address")
        text = email_hash(text)
    return Suppression(kind, text.removeprefix("@"), at, reason)


def suppress(engine: Engine, kind: str, values: Iterable[str], *, now: datetime,
             reason: str | None = None, actor: str = "cli") -> int:
    """Put emails (kept as hashes), domains or accounts (by domain) on the suppression
    list; how many entries were new. A suppression always wins over consent."""
    entries = [_entry(kind, v, now, reason) for v in values]
    check(engine)
    with translate_errors("updating the suppression list"), engine.begin() as conn:
        added = store.add_suppressions(conn, entries, source=actor)
        for e in entries:
            audit_store.audit(conn, actor, "consent.suppress", None,
                              {"kind": e.kind, "value": e.value, "reason": reason}, now=now)
        return added


def unsuppress(engine: Engine, kind: str, value: str, *, now: datetime, actor: str = "cli"
               ) -> bool:
    entry = _entry(kind, value, now, None)
    check(engine)
    with translate_errors("updating the suppression list"), engine.begin() as conn:
        gone = store.remove_suppression(conn, entry.kind, entry.value)
        if gone:
            audit_store.audit(conn, actor, "consent.unsuppress", None,
                              {"kind": entry.kind, "value": entry.value}, now=now)
        return gone


def suppression_list(engine: Engine) -> list[dict[str, Any]]:
    check(engine)
    with engine.connect() as conn:
        return store.suppression_list(conn)


# -- the verdict ------------------------------------------------------------------------

def lead_consent(engine: Engine, email: str, *, rules: IdentityRules, at: datetime
                 ) -> dict[str, Any]:
    """A contact's consent as of `at`: the verdict per channel (why not), the records
    and whether its hand-off is held. `NotFound` for an unknown contact."""
    check(engine)
    with engine.connect() as conn:
        found = _contacts_of(conn, [email], rules)
        if not found:
            raise NotFound(f"no contact {email!r} in the store")
        from mql.service import state as states  # the scoring state reads this module

        cid = next(iter(found.values()))
        live = states.live_model(conn).model
        policy = live.consent
        out: dict[str, Any] = {"contact_id": cid, "enforced": policy is not None,
                               "records": store.history(conn, cid)}
        if policy is not None:
            out.update(verdicts_of(conn, policy, {cid: at})[cid].as_dict())
        return out


def holds(engine: Engine, limit: int | None = 50) -> list[dict[str, Any]]:
    """The leads held for compliance, newest first (the sales queue's "why not")."""
    check(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log.c.at, audit_log.c.detail)
                            .where(audit_log.c.action == HOLD)
                            .order_by(audit_log.c.id.desc()).limit(limit)).all()
        ids = [int(r.detail["contact_id"]) for r in rows if "contact_id" in r.detail]
        emails = {cid: c.record.email for cid, c in
                  contact_store.load_contacts(conn, ids).items()}
    return [{**r.detail, "email": emails.get(int(r.detail.get("contact_id", 0)))}
            for r in rows]


@dataclass(frozen=True, slots=True)
class HoldSummary:
    """The leads held for compliance: how many, by jurisdiction and the reason's kind,
    and a few of them (email, jurisdiction, reason) as the sales queue shows them."""

    leads: int
    by_reason: dict[tuple[str, str], int]
    examples: list[tuple[str, str, str]]
    holds: int = 0  # every hold (a lead that qualified twice and was held twice: 2)


def _kind(reason: str) -> str:
    """A held lead's reason in a few words: what blocked its hand-off channels."""
    if reason.startswith("suppressed"):
        return "suppressed"
    if reason.startswith("sector overlay"):
        return "no qualified seller"
    kinds = []
    for part in reason.removeprefix("no hand-off channel is permitted: ").split("; "):
        _, _, why = part.partition(": ")
        word = ("withdrawn" if "withdrawn" in why else "denied" if "denied" in why else
                "lapsed" if "lapsed" in why else "no record" if "on record" in why else
                "basis not accepted")
        kinds.append(word)
    return " / ".join(dict.fromkeys(kinds))


def hold_summary(engine: Engine, examples: int = 5) -> HoldSummary:
    """The leads held for compliance (each counted once, at its latest hold)."""
    rows = holds(engine, limit=None)
    latest: dict[int, dict[str, Any]] = {}
    for r in rows:  # newest first
        latest.setdefault(int(r["contact_id"]), r)
    counts: dict[tuple[str, str], int] = {}
    for r in latest.values():
        key = (str(r["jurisdiction"]), _kind(str(r["reason"])))
        counts[key] = counts.get(key, 0) + 1
    shown = [(str(r["email"]), str(r["jurisdiction"]), str(r["reason"]))
             for r in list(latest.values())[:examples]]
    return HoldSummary(len(latest), dict(sorted(counts.items(), key=lambda kv: -kv[1])),
                       shown, len(rows))


# -- releasing a held lead when consent arrives -----------------------------------------

def _held_since(conn: Connection, ids: Sequence[int],
                since: Mapping[int, datetime | None]) -> set[int]:
    """The contacts of `ids` held for consent in their current MQL stay (a lead held by
    a sector overlay waits for a seller who qualifies, not for consent)."""
    subjects = {f"contact:{c}": c for c in ids}
    out: set[int] = set()
    overlaid: set[int] = set()
    for subject, detail in conn.execute(sa.select(audit_log.c.subject, audit_log.c.detail)
                                        .where(audit_log.c.action == HOLD,
                                               audit_log.c.subject.in_(list(subjects)))):
        cid = subjects[str(subject)]
        at, stay = datetime.fromisoformat(str(detail.get("at"))), since.get(cid)
        if stay is None or at >= stay:
            (overlaid if detail.get("overlays") else out).add(cid)
    return out - overlaid


def release_held(conn: Connection, contact_ids: Iterable[int], *, now: datetime) -> int:
    """Hand off the leads among `contact_ids` that were held for compliance in their
    current MQL stay and may be contacted as of `now` (a consent arrived): routed, SLA
    started and `lead.assigned` queued as at qualification, and `consent.released`
    audited. How many were released."""
    from mql.scoring.intent import IntentState
    from mql.service import handoff
    from mql.service import state as states
    from mql.store import accounts as account_store
    from mql.store import handoff as handoff_store

    live = states.live_model(conn)
    model = live.model
    ids = sorted(set(contact_ids))
    if model.consent is None or model.routing is None or not ids:
        return 0
    rows = handoff_store.stages(conn, ids)
    mqls = [c for c in ids if (r := rows.get(c)) is not None and r.stage == "mql"]
    routed = handoff_store.with_open_assignments(conn, mqls) if mqls else set()
    waiting = sorted(_held_since(conn, [c for c in mqls if c not in routed],
                                 {c: rows[c].since for c in mqls}))
    if not waiting:
        return 0
    gate = Gate(model.consent).load(conn, waiting)
    stored = contact_store.load_contacts(conn, waiting)
    accounts = account_store.load_accounts(conn, {c.account_id for c in stored.values()
                                                  if c.account_id is not None})
    intent = states.contact_states(conn, live, waiting)
    account_intent = states.account_states(conn, live, accounts) if live.account_level else {}
    released = 0
    for cid in waiting:
        verdict = gate.verdict(cid, now)
        c = stored.get(cid)
        if verdict is None or verdict.held or c is None:
            continue
        account = accounts.get(c.account_id) if c.account_id is not None else None
        acc_state = account_intent.get(c.account_id, IntentState.empty()) if (
            c.account_id is not None) else IntentState.empty()
        d = live.qualifier.decide(c.record, account, intent[cid], acc_state, now)
        get = live.qualifier.criteria_getter(c.record, account, d.scores, intent[cid], now)
        router = handoff.Router(scope=frozenset((cid,)))
        a = handoff.assign(conn, model.routing, model.sla, cid, c.record, account, get, now,
                           router, model.consent.overlays)
        router.save(conn)
        if a.held:  # a sector overlay nobody the routing reaches meets: held again
            continue
        sla, due = router.sla
        qualified = next((h for h in reversed(handoff_store.history(conn, cid))
                          if h["to_stage"] == "mql"), None)
        transition = None if qualified is None else {
            "from": qualified["from_stage"], "to": "mql", "at": handoff.iso(qualified["at"]),
            "cause": qualified["cause"], "actor": qualified["actor"],
            "reason": qualified["reason"]}
        handoff.notify_lead(conn, "lead.assigned", cid, c.record.email, {
            **handoff.decision_data(model, d), "transition": transition,
            "assignment": {"team": a.team, "owner": a.owner, "rule": a.rule,
                           "reason": a.reason, "sla": sla, "sla_due_at": handoff.iso(due)}},
            now, live.version_id, model)
        audit_store.audit(conn, "mql", "consent.released", f"contact:{cid}", {
            "contact_id": cid, "at": now.isoformat(), "team": a.team, "owner": a.owner},
            now=now)
        released += 1
    return released
