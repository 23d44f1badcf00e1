"""The synthetic world's leads that are not ready enter nurture tracks, and leave at the
exact computed moment or on qualification (issue 21, "Done when"), on the demo's store."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from mql.model.consent import DEFAULT_POLICY
from mql.service import consent_gate
from mql.service import state as states
from mql.service.demo import run_demo
from mql.service.store import init_workspace
from mql.store import events as event_store
from mql.store import tables
from mql.store.db import connect


def test_the_worlds_not_ready_leads_flow_through_the_tracks(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path, now=datetime(2025, 1, 1, tzinfo=UTC))
    engine = connect(ws.database_url)
    report = run_demo(engine, accounts=40, months=3, seed=7)
    with engine.connect() as conn:
        live = states.live_model(conn)
        spec = live.model.nurture
        assert spec is not None
        facts = [dict(r._mapping) for r in conn.execute(
            sa.select(tables.nurture_facts).order_by(tables.nurture_facts.c.at,
                                                     tables.nurture_facts.c.id))]
        recycles = list(conn.execute(sa.select(
            tables.lifecycle_history.c.contact_id, tables.lifecycle_history.c.at).where(
            tables.lifecycle_history.c.to_stage == "recycled")))
        by_contact: dict[int, list[dict]] = defaultdict(list)
        for f in facts:
            by_contact[int(f["contact_id"])].append(f)
        ledgers = event_store.events_of_contacts(conn, by_contact)
        tracked = states.tracked_types(live, "contact")
        gate = consent_gate.Gate(live.model.consent or DEFAULT_POLICY).load(
            conn, by_contact)
    engine.dispose()
    tracks = {f["track"] for f in facts if f["kind"] == "enrolled"}
    # the recycled, the good fits not yet ready and the gone quiet all have a path
    assert {"recycled_followup", "good_fit_warming", "win_back"} <= tracks
    assert report.nurture is not None
    for cid, rows in by_contact.items():
        inside = None
        for f in rows:  # at most one track at a time: entries and exits alternate
            if f["kind"] == "enrolled":
                assert inside is None, (cid, rows)
                inside = f
                # never enrolled where consent (as known then) forbids email
                assert f["channels"]["email"] is True, f
                verdict = gate.verdict(cid, f["at"])
                assert verdict is not None and verdict.suppressed is None
                if not verdict.may_contact["email"]:
                    # a denial dated at or before the entry arrived after it (the world's
                    # consent file is loaded after its contacts): out at once, at its date
                    after = rows[rows.index(f) + 1]
                    assert (after["kind"], after["reason"], after["cause"]) == (
                        "unenrolled", "unsubscribed", "consent"), (f, after)
                    assert after["at"] == f["at"]
                continue
            assert inside is not None and inside["track"] == f["track"]
            track = spec.track(f["track"])
            assert track is not None
            since = inside["at"]
            if f["reason"] == "completed":  # exactly the planned length after entry
                assert f["at"] == since + timedelta(days=track.length.days)
            if f["reason"] == "no_engagement":
                # exactly N days after the later of the entry and the last counted touch:
                # no touch in the N days before, and that moment is the entry or a touch
                quiet = timedelta(days=track.no_engagement_days or 0)
                start = f["at"] - quiet
                touches = [e.at for e in ledgers.get(cid, ()) if e.type in tracked]
                # (an anonymous visit attributed to the person later was not known then:
                # the past does not change)
                known = [e.at for e in ledgers.get(cid, ())
                         if e.type in tracked and e.anonymous_id is None]
                assert not [t for t in known if start < t <= f["at"]], (cid, f)
                assert start == since or start in touches
            inside = None
    # every recycled lead that may be emailed enters the recycled track at that moment
    entered = {(int(f["contact_id"]), f["at"]) for f in facts
               if f["kind"] == "enrolled" and f["track"] == "recycled_followup"}
    left_before = {(int(f["contact_id"])) for f in facts if f["kind"] == "unenrolled"
                   and f["track"] == "recycled_followup"}
    checked = 0
    for cid, at in recycles:
        verdict = gate.verdict(int(cid), at) if int(cid) in by_contact else None
        if verdict is None or not verdict.may_contact.get("email") or verdict.suppressed:
            continue
        checked += 1
        assert (int(cid), at) in entered or int(cid) in left_before
    assert checked > 0
