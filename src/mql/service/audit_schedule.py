"""The worker's scheduled drift audit: once per period (month or week) and live version,
`service.audit.audit` over the last months, and a `model.drift` notification through the
outbox when drift passes a bound (docs/learning.md, "The scheduled audit")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine

from mql.errors import ConfigError
from mql.learning.drift import Bounds
from mql.service.audit import AuditResult, audit, month_start
from mql.settings import Settings
from mql.store import handoff as handoff_store
from mql.store import merges as merge_store
from mql.store import models as model_store
from mql.store.db import translate_errors

DRIFT_TOPIC = "model.drift"
AUDIT_ACTION = "model.drift_audit"  # one audit-log line per period audited


@dataclass(frozen=True, slots=True)
class AuditSchedule:
    """How often the worker audits (`every`: month or week; off: never), over how many
    months, and the bounds of a drift (`Bounds`)."""

    every: str = "off"
    months: int = 6
    bounds: Bounds = field(default_factory=Bounds)

    @classmethod
    def of(cls, settings: Settings) -> AuditSchedule:
        return cls(settings.audit_every, settings.audit_months,
                   Bounds(psi=settings.audit_psi, min_outcomes=settings.audit_min_outcomes))

    def period(self, now: datetime) -> str:
        """The period `now` falls in: 2026-05 (month) or 2026-W18 (ISO week)."""
        if self.every == "week":
            year, week, _ = now.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{now:%Y-%m}"


def _months_back(now: datetime, months: int) -> date:
    m = month_start(now)
    for _ in range(months):
        m = date(m.year - (m.month == 1), 12 if m.month == 1 else m.month - 1, 1)
    return m


def drift_data(result: AuditResult, period: str, version_id: int) -> dict[str, Any]:
    """The `model.drift` notification's data: the model, the period, the split, and the
    verdict of every flagged rule."""
    return {
        "model": {"name": result.model, "version": result.version, "version_id": version_id},
        "period": period,
        "since": result.since.isoformat(),
        "score_drifted_since": (None if result.score_drifted_since is None
                                else result.score_drifted_since.isoformat()),
        "rules": [{"rule": r.rule, "score": r.score, "status": v.status, "verdict": v.words,
                   "lift_before": r.before.value, "lift_since": r.after.value,
                   "worst_psi": r.worst_psi}
                  for r, v in zip(result.rules, result.verdicts, strict=True) if v.flagged],
    }


def run_scheduled(engine: Engine, *, now: datetime, schedule: AuditSchedule) -> int:
    """The worker's audit: at most once per period and live version (audit-log lines
    record the claim and the result); when drift passes a bound, one `model.drift`
    notification for each subscribed webhook, in the transaction that records the
    result. Returns the notifications queued."""
    if schedule.every == "off":
        return 0
    period = schedule.period(now)
    # the period is claimed (a first audit-log line, committed) before the audit runs, so
    # another worker that looks meanwhile leaves it alone
    with translate_errors("checking the audit schedule"), engine.begin() as conn:
        version = model_store.active_version(conn)
        if version is None:
            return 0
        key = f"{version.id}:{period}"
        if any(line["subject"] == key for line in merge_store.audit_lines(conn, AUDIT_ACTION)):
            return 0
        merge_store.audit(conn, "worker", AUDIT_ACTION, key, {"started": now.isoformat()},
                          now=now)
    detail: dict[str, Any]
    try:
        result: AuditResult | None = audit(engine, now=now,
                                           start=_months_back(now, schedule.months),
                                           bounds=schedule.bounds)
    except ConfigError as exc:  # too little history yet: say so in the log, try next period
        result, detail = None, {"skipped": str(exc)}
    queued = 0
    with translate_errors("recording the scheduled audit"), engine.begin() as conn:
        if result is not None:
            detail = {"drifted": result.drifted,
                      "flagged": [v.words for v in result.flagged]}
            if result.drifted:
                queued = handoff_store.enqueue(conn, DRIFT_TOPIC, f"{result.model}:{period}",
                                               drift_data(result, period, version.id), now)
        merge_store.audit(conn, "worker", AUDIT_ACTION, key, detail, now=now)
    return queued
