"""Admin actions of the HTTP API that change state outside keys and models: retrying
quarantined rows and dead webhook deliveries, each followed by its audit log line."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.service import lifecycle
from mql.service.ingest import RetryResult, retry_quarantined
from mql.service.keys import record_action


def retry_quarantine(engine: Engine, ids: list[int] | None, *, rules: IdentityRules,
                     actor: str, now: datetime) -> RetryResult:
    """Parse quarantined rows again (every open one when `ids` is None) and load those that
    pass; ids loaded and ids still failing with the reason."""
    result = retry_quarantined(engine, ids, rules=rules, now=now)
    record_action(engine, actor=actor, action="quarantine.retry", subject=None,
                  detail={"ids": ids, "loaded": result.loaded,
                          "failed": [i for i, _ in result.failed]}, now=now)
    return result


def retry_deliveries(engine: Engine, ids: list[int] | None, *, actor: str, now: datetime
                     ) -> int:
    """Put dead or refused webhook deliveries back in line; how many."""
    count = lifecycle.retry_outbox(engine, ids, now=now)
    record_action(engine, actor=actor, action="deliveries.retry", subject=None,
                  detail={"ids": ids, "retried": count}, now=now)
    return count
