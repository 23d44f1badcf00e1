"""Nurture tracks in the store (issue 21): the entry and exit facts of every decided
contact, made in the scoring transaction, their notifications, and the moment the next
one falls due (folded into the contact's `due_at`, so the worker makes it on time).

`step` is called by `service.state.score_contacts` for every batch it decides, so an
event, a due move, a model switch and a sales action all move the tracks the same way;
`consent_stopped` ends the tracks of contacts whose consent was withdrawn, at the
record's moment. The computation is `mql.nurture`; nothing here is a nightly job.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection, Engine

from mql.analytics.definitions import segment_of
from mql.model.consent import DEFAULT_POLICY
from mql.model.nurture import Nurture, Track
from mql.nurture import OPEN, Facts, Member, advance, due
from mql.records import Account, Contact
from mql.scoring.evaluate import as_number
from mql.scoring.fit import record_getter
from mql.scoring.intent import IntentState
from mql.scoring.qualify import Decision
from mql.service import consent_gate
from mql.service.handoff import CONTACT_ID, complete_notes, iso, model_data
from mql.store import account_stages
from mql.store import events as event_store
from mql.store import handoff as handoff_store
from mql.store import nurture as store

if TYPE_CHECKING:
    from mql.service.conversions import OutcomeTimes
    from mql.service.reports import ReportResult
    from mql.service.state import LiveModel

ENROLLED = "mql.nurture.enrolled"
_NONE = store.Standing()
UNENROLLED = "mql.nurture.unenrolled"


def lead_getter(contact: Contact, account: Account | None, d: Decision, stage: str,
                reason: str | None) -> Any:
    """The getter of a track's `when`: contact.*, account.*, score.* and lead.*."""
    records = record_getter(contact, account)
    attrs = account.attributes if account is not None else {}
    employees = as_number(attrs.get("employees"))
    lead = {"stage": stage, "reason": reason, "grade": d.grade,
            "fit_grade": d.grade[:1] if d.grade else None,
            "segment": attrs.get("segment") or (
                segment_of(int(employees)) if employees is not None else None)}

    def get(name: Any) -> Any:
        if name.startswith("score."):
            return d.scores.get(name[6:])
        if name.startswith("lead."):
            return lead.get(name[5:])
        return records(name)

    return get


def step(conn: Connection, live: LiveModel, decisions: Mapping[int, Decision],
         records: Mapping[int, Contact], accounts_of: Mapping[int, Account | None],
         states: Mapping[int, IntentState], account_states: Mapping[int, IntentState],
         *, cause: str) -> None:
    """Make the nurture facts of the decided contacts at their decisions' moments, queue
    their notifications and schedule the next one (each contact's `due_at`)."""
    spec = live.model.nurture
    if spec is None or not decisions:
        return
    rows = handoff_store.stages(conn, decisions)  # after this batch's moves
    standing = store.standings(conn, decisions)
    # a contact on no track in a stage no track takes (an MQL, sales' stages): nothing
    # to decide, nothing due
    ids = [cid for cid in decisions if cid in rows and (
        (rows[cid].stage or "captured") in OPEN or standing.get(cid, _NONE).track)]
    if not ids:
        return
    reasons = store.last_reasons(conn, ids)
    gate = consent_gate.Gate(live.model.consent or DEFAULT_POLICY).load(conn, ids, records)
    domains = {a.domain for cid in ids if (a := accounts_of.get(cid)) is not None}
    mqa = {d for d, s in account_stages.last_stages(conn, domains).items() if s == "mqa"}
    facts_rows: list[dict[str, Any]] = []
    notes: list[handoff_store.Note] = []
    schedule: dict[int, datetime | None] = {}
    for cid in ids:
        d, row = decisions[cid], rows[cid]
        stage = row.stage or "captured"
        s = standing.get(cid, store.Standing())
        member = Member(s.track, s.since) if s.track and s.since else None
        at = d.as_of
        if s.last_at is not None and s.last_at > at:
            continue  # a decision older than the newest fact: the past does not change
        verdict = gate.verdict(cid, at)
        account = accounts_of.get(cid)
        state = states.get(cid, IntentState.empty())
        f = Facts(
            at, stage, lead_getter(records[cid], account, d, stage, reasons.get(cid)),
            last_engagement=state.as_of,
            quiet_since=_quiet_since(live, spec, member, stage, records[cid], account, state,
                                     account_states.get(cid, IntentState.empty()), at),
            channels=None if verdict is None else verdict.may_contact,
            suppressed=verdict is not None and verdict.suppressed is not None,
            mqa=account is not None and account.domain in mqa,
            left=s.left,
            channel_change=None if verdict is None else verdict.next_change)
        for fact in advance(spec, member, f):
            channels = f.channels
            facts_rows.append({"contact_id": cid, "track": fact.track, "kind": fact.kind,
                               "at": fact.at, "reason": fact.reason, "cause": cause,
                               "model_version_id": live.version_id,
                               "channels": None if channels is None else dict(channels)})
            track = spec.track(fact.track)
            notes.append(_note(fact.kind, cid, records[cid].email, track, fact.track,
                               fact.reason, fact.at, channels))
            member = Member(fact.track, fact.at) if fact.kind == "enrolled" else None
        nxt = due(spec, member, f)
        when = [t for t in (row.due, nxt) if t is not None]
        wanted = min(when) if when else None
        if wanted != row.due:
            schedule[cid] = wanted
    store.add_facts(conn, facts_rows)
    handoff_store.set_due(conn, schedule)
    _enqueue(conn, live, notes)


def _quiet_since(live: LiveModel, spec: Nurture, member: Member | None, stage: str,
                 contact: Contact, account: Account | None, state: IntentState,
                 account_state: IntentState, at: datetime) -> datetime | None:
    """When the contact's intent fell under the re-engagement line with no event since
    (None: not under it, or its stage cannot enter re-engagement): the crossing of decay
    demotion (`Qualifier.first_below`), from its last event on."""
    if spec.reengage is None or stage not in OPEN:
        return None
    q = live.qualifier
    start = max([t for t in (state.as_of, account_state.as_of) if t is not None],
                default=None)
    if start is None:
        return None  # no engagement at all: nothing to re-engage
    crossing = q.first_below("intent", spec.reengage.intent_below, q.fits(contact, account),
                             state, account_state, start)
    return crossing


def _note(kind: str, cid: int, email: str, track: Track | None, name: str, reason: str,
          at: datetime, channels: Mapping[str, bool] | None) -> handoff_store.Note:
    data: dict[str, Any] = {CONTACT_ID: cid, "nurture": {
        "track": name, "reason": reason, "at": iso(at),
        "channel": None if track is None else track.channel,
        "touches": None if track is None else track.length.touches,
        "days": None if track is None else track.length.days},
        "permitted_channels": sorted(c for c, ok in (channels or {}).items() if ok)
        if channels is not None else None}
    return handoff_store.Note(ENROLLED if kind == "enrolled" else UNENROLLED, email, data, at)


def _enqueue(conn: Connection, live: LiveModel, notes: list[handoff_store.Note]) -> None:
    """Queue the notes for the subscribers. No consent gate drops them: an enrollment is
    made only where consent permits, and an exit must always reach the email tool."""
    if not notes:
        return
    hooks = handoff_store.active_webhooks(conn)
    if hooks:
        done = complete_notes(model_data(live.version_id, live.model))(conn, notes)
        handoff_store.enqueue_many(conn, done, hooks)


def consent_stopped(conn: Connection, stops: Mapping[int, datetime]) -> None:
    """Contacts whose consent was denied or withdrawn (each with the record's moment)
    leave their track then if their consent no longer permits its channel."""
    from mql.errors import ConfigError
    from mql.service.state import live_model

    if not stops:
        return
    try:
        live = live_model(conn)
    except ConfigError:
        return  # no active model: no tracks
    _leave(conn, live, stops, reason="unsubscribed", cause="consent", still_permitted=True)


def merged_away(conn: Connection, live: LiveModel, merged: int, at: datetime) -> None:
    """A contact merged into another leaves its track at the merge (reason `merged`): it
    is scored no more, so nothing else would end its entry, and the email tool must stop
    nurturing the old record. Its earlier facts stay where they are (the past does not
    change); the survivor is decided afresh and enters a track by its own standing."""
    _leave(conn, live, {merged: at}, reason="merged", cause="merge", still_permitted=False)


def _leave(conn: Connection, live: LiveModel, stops: Mapping[int, datetime], *, reason: str,
           cause: str, still_permitted: bool) -> None:
    """End the open track entries of the contacts in `stops` at their moments (never
    before their newest fact), with their notifications; `still_permitted`: keep an
    entry whose channel the contact's consent still permits then."""
    spec = live.model.nurture
    if spec is None:
        return
    members = {cid: s for cid, s in store.standings(conn, stops).items()
               if s.track is not None}
    if not members:
        return
    gate = consent_gate.Gate(live.model.consent or DEFAULT_POLICY).load(conn, members)
    subjects = handoff_store.subjects(conn, members)
    facts_rows, notes = [], []
    for cid, s in members.items():
        at = max(stops[cid], s.last_at or stops[cid])
        track = spec.track(s.track or "")
        verdict = gate.verdict(cid, at)
        channels = None if verdict is None else verdict.may_contact
        if still_permitted and track is not None and verdict is not None and \
                verdict.suppressed is None and channels is not None and \
                channels.get(track.channel, False):
            continue  # another channel was withdrawn: the track's is still permitted
        facts_rows.append({"contact_id": cid, "track": s.track, "kind": "unenrolled",
                           "at": at, "reason": reason, "cause": cause,
                           "model_version_id": live.version_id,
                           "channels": None if channels is None else dict(channels)})
        subject = subjects.get(cid)
        notes.append(_note("unenrolled", cid, subject.email if subject and subject.email
                           else "", track, s.track or "", reason, at, channels))
    store.add_facts(conn, facts_rows)
    _enqueue(conn, live, notes)


# -- measuring and exporting ------------------------------------------------------------

WITHIN_DAYS = 90.0  # the conversion window of the nurture report, from each entry
MAX_WITHIN_DAYS = 3650.0  # ten years: a longer window is a typo, and past timedelta's range



def _spec(conn: Connection) -> Nurture:
    from mql.errors import ConfigError
    from mql.service.state import live_model

    spec = live_model(conn).model.nurture
    if spec is None:
        raise ConfigError("the active model has no nurture: section (docs/nurture.md)")
    return spec


def nurture_report(engine: Engine, *, at: datetime, within_days: float = WITHIN_DAYS
                   ) -> ReportResult:
    """Per track of the active model, as of `at`: enrolled, active, exits by reason,
    median days in the track, conversion to MQL/SQL/opportunity/won within `within_days`
    of entry (lifecycle moves and the store's outcomes: dispositions, opportunities, won
    deals), the comparable group's conversion (contacts never enrolled, from their first
    eligible moment: `eligible_from`), and the content that preceded the conversions.
    `mql report nurture` and `GET /v1/reports/nurture` show this."""
    from mql.errors import ConfigError
    from mql.lifecycle.stages import Stage
    from mql.nurture.measure import FactRow, eligible_from, summarise, table
    from mql.service.conversions import first_outcomes
    from mql.service.reports import ReportResult
    from mql.store.db import translate_errors

    if not 0 < within_days <= MAX_WITHIN_DAYS:
        raise ConfigError(f"--within must be a number of days > 0 and at most "
                          f"{MAX_WITHIN_DAYS:g}, got {within_days:g}")
    with translate_errors("reading the nurture report"), engine.connect() as conn:
        spec = _spec(conn)
        facts = [FactRow(int(r["contact_id"]), r["track"], r["kind"], r["at"], r["reason"])
                 for r in store.facts_until(conn, at)]
        lifecycle = store.stage_moves(conn, set(Stage), at)
        group = {cid: t for cid, created in store.never_enrolled(conn, at).items()
                 if (t := eligible_from(created, lifecycle.get(cid, ()), at)) is not None}
        moves = _with_outcomes(lifecycle, first_outcomes(conn, at.date()))
        converted = {f.contact for f in facts} & set(moves)
        content = {cid: [(e.at, str(name)) for e in events if e.at <= at and (
            name := e.properties.get("campaign") or e.properties.get("utm_campaign")
            or e.properties.get("asset"))]
            for cid, events in event_store.events_of_contacts(conn, converted).items()}
    names = [*spec.names, *sorted({f.track for f in facts} - set(spec.names))]
    rows = summarise(names, facts, moves, content, group, at=at, within_days=within_days)
    columns, out = table(rows)
    total_enrolled = sum(r.enrolled for r in rows)
    notes = [f"conversion within {within_days:g} days of entry; not enrolled: the "
             f"{len(group)} contacts never on a track, from the moment they were first "
             "eligible for one (not an MQL, not in sales' hands)"]
    if not total_enrolled:
        notes.append("no contact has entered a track yet")
    notes += [f"{r.track}: before its MQLs, " + ", ".join(f"{n} ({c})" for n, c in r.content)
              for r in rows if r.content]
    from mql.batch.reports import Window

    return ReportResult("nurture", ["track"], at, Window(None, None), columns, out, None,
                        notes)


def _with_outcomes(moves: Mapping[int, list[tuple[str, datetime]]],
                   outcomes: Mapping[int, OutcomeTimes]
                   ) -> dict[int, list[tuple[str, datetime]]]:
    """The lifecycle moves with each contact's outcomes from the store (SQL by disposition,
    the first opportunity naming it, the first won one: `service.conversions`, the reader
    of learn, calibrate and backtest) as moves into sql, opportunity and customer."""
    out = {cid: list(m) for cid, m in moves.items()}
    for cid, o in outcomes.items():
        for stage, t in (("sql", o.sql), ("opportunity", o.opportunity), ("customer", o.won)):
            if t is not None:
                out.setdefault(cid, []).append((stage, t))
    return out


EXPORT_COLUMNS = ["email", "first_name", "last_name", "title", "account", "track", "since",
                  "reason", "channel", "permitted_channels"]


def export_track(engine: Engine, track: str, *, at: datetime) -> list[dict[str, Any]]:
    """The contacts on `track` at `at` (for email tools that import lists), with the
    channels their consent permits at `at`; never one whose consent forbids the track's
    channel or who is suppressed then."""
    from mql.errors import NotFound
    from mql.store.db import translate_errors

    with translate_errors("exporting a nurture track"), engine.connect() as conn:
        spec = _spec(conn)
        found = spec.track(track)
        if found is None:
            raise NotFound(f"no nurture track {track!r}; tracks are {', '.join(spec.names)}")
        on: dict[int, dict[str, Any]] = {}
        for r in store.facts_until(conn, at):
            cid = int(r["contact_id"])
            if r["kind"] == "enrolled" and r["track"] == track:
                on[cid] = r
            else:
                on.pop(cid, None)
        model = consent_gate.Gate(_policy(conn)).load(conn, on)
        subjects = handoff_store.subjects(conn, on)
        out = []
        for cid, r in sorted(on.items(), key=lambda kv: (kv[1]["at"], kv[0])):
            verdict = model.verdict(cid, at)
            channels = {} if verdict is None else verdict.may_contact
            if verdict is not None and (verdict.suppressed is not None
                                        or not channels.get(found.channel, False)):
                continue
            s = subjects.get(cid)
            a = s.attributes if s is not None else {}
            out.append({"email": (s.email if s is not None else None) or r["email"],
                        "first_name": a.get("first_name"), "last_name": a.get("last_name"),
                        "title": a.get("title"),
                        "account": s.account_domain if s is not None else None,
                        "track": track, "since": iso(r["at"]), "reason": r["reason"],
                        "channel": found.channel,
                        "permitted_channels": sorted(c for c, ok in channels.items() if ok)})
        return out


def _policy(conn: Connection) -> Any:
    from mql.service.state import live_model

    return live_model(conn).model.consent or DEFAULT_POLICY
