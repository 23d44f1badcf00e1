"""The main job, end to end, on a synthetic world: generate, ingest day by day, score,
qualify, route, let simulated sales act, and run the worker through simulated time.

Sales behaviour comes from the world's own chances (`truth/handoffs`: how likely these
sellers were to accept a person handed to them, and to make an SQL of them): each MQL is
accepted, and converted, by a fresh seeded draw at the chances of the person's last
hand-off in the world (never, for a person the world never handed off); the rest are
rejected with the world's reason. So the funnel's acceptance and MQL->SQL estimate known
rates (`tests/reports/test_truth_rates.py`). Response times are drawn from the seeded
random generator, mostly within the SLA.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from mql.analytics.definitions import Dimension, Report
from mql.errors import TransitionRefused
from mql.identity.merge import IdentityRules
from mql.records import Event
from mql.service import consent, lifecycle, nurture, outcomes
from mql.service import state as states
from mql.service.accounts import MotionSummary, motion_summary
from mql.service.ingest import ingest_records
from mql.service.reports import ReportResult, run_reports
from mql.service.scores import list_scores
from mql.service.synth import record_row
from mql.store import contacts as contact_store
from mql.store import handoff as store
from mql.store import nurture as nurture_store
from mql.synthetic.costs import CampaignCost
from mql.synthetic.outcomes import Disposition, Opportunity
from mql.synthetic.params import WorldParameters
from mql.synthetic.truth import HandoffChance
from mql.synthetic.world import World

Progress = Callable[[int, int], None]


@dataclass
class DemoReport:
    """What the simulated months produced."""

    start: datetime
    end: datetime
    accounts: int
    contacts: int
    events: int
    by_month: dict[str, dict[str, int]]
    funnel: dict[str, int]
    sla: dict[str, int]
    teams: dict[str, int]
    top: list[Any] = field(default_factory=list)
    reports: list[ReportResult] = field(default_factory=list)
    accounts_view: MotionSummary | None = None  # MQAs and PQLs beside MQLs (issue 16)
    refused: int = 0  # sales actions refused: the lead had left MQL before the seller came
    acted: list[str] = field(default_factory=list)  # the email of each action that went through
    # hand-offs held for consent (issue 17): (jurisdiction, reason) -> leads, and examples
    held: consent.HoldSummary | None = None
    # the nurture tracks (issue 21): `mql report nurture` at the end, and the facts made
    nurture: ReportResult | None = None
    nurture_facts: dict[str, int] = field(default_factory=dict)  # kind -> facts

    def rate(self, numerator: str, denominator: str) -> float | None:
        below = self.funnel.get(denominator, 0)
        return None if below == 0 else self.funnel.get(numerator, 0) / below

    @property
    def sla_attainment(self) -> float | None:
        settled = sum(self.sla.get(s, 0) for s in ("met", "late", "breached", "escalated"))
        return None if settled == 0 else self.sla.get("met", 0) / settled


def _sales(engine: Engine, rng: random.Random, truth: dict[str, Disposition],
           chances: dict[str, HandoffChance], plans: dict[int, tuple[datetime, str]],
           until: datetime, acted: list[str], waiting_from: datetime) -> int:
    """Let sellers act on the leads assigned to them whose planned moment has come; the
    number of actions refused (the lead had left MQL); `acted` gets the email of each
    action that went through. Leads assigned at or after `waiting_from` are left for
    sellers: the demo ends with MQLs open in the queue (`mql serve`'s sales queue)."""
    refused = 0
    with engine.connect() as conn:
        waiting = store.untouched_assignments(conn, until)
        emails = contact_store.load_contacts(conn, [a["contact_id"] for a in waiting])
    for a in waiting:
        if a["assigned_at"] >= waiting_from:
            continue
        if a["id"] not in plans:
            hours = rng.choice([0.3, 0.5, 0.8, 2, 4, 8, 20, 30, 60])  # mostly within the SLA
            plans[a["id"]] = (a["assigned_at"] + timedelta(hours=hours), "touch")
        at, _ = plans[a["id"]]
        if at > until or a["contact_id"] not in emails:
            continue
        email = emails[a["contact_id"]].record.email
        seller = a["owner"] or "sdr.pool"
        fate, odds = truth.get(email), chances.get(email)
        roll = rng.random()  # one draw per action: accepted below p_accept, SQL below p_sql
        try:
            if odds is not None and roll < odds.p_accept:
                lifecycle.accept(engine, email, actor=seller, now=at)
                acted.append(email)
                if roll < odds.p_sql:
                    lifecycle.convert(engine, email, actor=seller, now=at + timedelta(days=2))
            else:
                reason = (fate.reason if fate is not None and fate.reason else
                          rng.choice(["no_response", "bad_timing", "wrong_fit"]))
                lifecycle.reject(engine, email, reason=reason, actor=seller, now=at)
                acted.append(email)
        except TransitionRefused:
            refused += 1  # the lead left MQL (decay, timeout) before the seller got to it
    return refused


LEFT_OPEN_DAYS = 4  # the MQLs of the world's last days wait for a seller at its end


def run_demo(engine: Engine, *, accounts: int, months: int, seed: int,
             progress: Progress | None = None, usage: bool = False) -> DemoReport:
    """Simulate `months` of a synthetic world of `accounts` companies on `engine` (a
    migrated store with the model active); returns the report. `usage`: the world has
    product telemetry after trial signups (`mql demo` turns it on: PQLs beside MQLs)."""
    rng = random.Random(seed)
    params = WorldParameters(accounts=accounts, months=months, usage=usage)
    world = World(params, random.Random(seed))
    slices = list(world.accounts())
    rules = IdentityRules()
    start = params.start
    ingest_records(engine, "accounts", [s.account for s in slices], rules=rules, now=start,
                   source="synthetic")
    contacts = [c for s in slices for c in s.contacts]
    ingest_records(engine, "contacts", contacts, rules=rules, now=start, source="synthetic")
    # every consent change of the world, as `mql ingest consent` loads its consent.csv:
    # each is read as of its own time, so loading them first changes nothing before then
    consent.load_rows(engine, (record_row(r) for s in slices for r in s.consent),
                      rules=rules, now=start, source="synthetic")
    events: list[Event] = sorted((e for s in slices for e in s.clean_events),
                                 key=lambda e: e.at)
    truth = {d.email: d for s in slices for d in s.dispositions}
    chances = {c.email: c for s in slices for c in s.handoff_chances}  # the last hand-off
    end = max(e.at for e in events) if events else start
    days = (end - start).days + 1
    plans: dict[int, tuple[datetime, str]] = {}
    refused = i = 0
    acted: list[str] = []
    for day in range(days):
        until = start + timedelta(days=day + 1)
        batch: list[Event] = []
        while i < len(events) and events[i].at < until:
            batch.append(events[i])
            i += 1
        if batch:
            ingest_records(engine, "events", batch, rules=rules, now=until,
                           source="synthetic")
        refused += _sales(engine, rng, truth, chances, plans, until, acted,
                          end - timedelta(days=LEFT_OPEN_DAYS))
        lifecycle.run_once(engine, now=until, deliver=False)
        if progress is not None:
            progress(day + 1, days)
    load_world_outcomes(engine, [o for s in slices for o in s.opportunities], world.costs(),
                        now=end, rules=rules)
    with engine.connect() as conn:
        by_month = store.transitions_by_month(conn)
        funnel = store.funnel(conn)
        sla, teams = store.assignment_summary(conn)
        waiting = store.in_stage(conn, "mql", "sal")
        # a lead held for consent is an MQL no seller has: not in the sales queue
        routed = store.with_open_assignments(conn, waiting)
        mqls = set(store.in_stage(conn, "mql"))
        queue = contact_store.load_contacts(conn, [c for c in waiting
                                                   if c in routed or c not in mqls])
    emails = {c.record.email for c in queue.values()}
    top = [d for d in list_scores(engine, at=end, mql_only=True) if d.contact in emails]
    reports = run_reports(engine, DEMO_REPORTS, now=end)
    held = consent.hold_summary(engine)
    with engine.connect() as conn:
        model = states.live_model(conn).model
        made = nurture_store.counts(conn)
    tracks = None if model.nurture is None else nurture.nurture_report(engine, at=end)
    return DemoReport(start, end, accounts, len(contacts), len(events), by_month, funnel, sla,
                      teams, top[:10], reports, motion_summary(model, slices), refused,
                      acted, held, tracks, made)


# what the demo ends with: SLAs, the funnel by cohort, its health against the band, cost
# per MQL
DEMO_REPORTS = [(Report.SLA, Dimension.TEAM), (Report.FUNNEL, Dimension.MONTH),
                (Report.HEALTH, Dimension.SEGMENT), (Report.COST, Dimension.CHANNEL)]


def load_world_outcomes(engine: Engine, deals: list[Opportunity], costs: list[CampaignCost],
                        *, now: datetime, rules: IdentityRules) -> None:
    """The world's opportunities and marketing spend loaded as `mql ingest opportunities`
    and `mql ingest costs` load its files: the same checks, identity links and MQL credit."""
    for kind, records in (("opportunities", deals), ("costs", costs)):
        outcomes.load_rows(engine, kind, (record_row(r) for r in records), rules=rules,
                           now=now, source="synthetic")
