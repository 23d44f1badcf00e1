"""`mql audit` finds a drift injected into the synthetic world (`mql synth --drift`) and
finds none in the same world without it."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from mql.errors import ConfigError
from mql.identity.merge import IdentityRules
from mql.service import audit as service
from mql.service import ingest as ingest_service
from mql.service import outcomes
from mql.service.synth import write_world
from mql.store.db import connect
from mql.store.migrate import upgrade
from mql.store.models import activate, save_version
from mql.synthetic.params import Drift, WorldParameters
from mql.synthetic.world import World

ACCOUNTS, MONTHS, SEED = 100, 6, 3
START = datetime(2025, 1, 1, tzinfo=UTC)
DRIFT = "webinar_attended:2025-03-01"
END = datetime(2025, 7, 1, tzinfo=UTC)
RULES = IdentityRules()


def _store(folder: Path, drift: tuple[str, ...]) -> Engine:
    write_world(folder / "world", accounts=ACCOUNTS, months=MONTHS, seed=SEED, drift=drift)
    engine = connect(f"sqlite:///{folder / 'store.db'}")
    upgrade(engine)
    text = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
    with engine.begin() as conn:
        activate(conn, save_version(conn, "b2b_saas", "1", text, source="b2b-saas.yaml",
                                    now=START), now=START)
    for kind in ("accounts", "contacts", "events"):
        ingest_service.ingest_file(engine, folder / "world" / f"{kind}.csv", kind,  # type: ignore[arg-type]
                                   rules=RULES, now=END)
    outcomes.ingest_outcomes(engine, folder / "world" / "opportunities.csv", "opportunities",
                             rules=RULES, now=END)
    return engine


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, service.AuditResult]:
    out = {}
    for name, drift in (("drift", (DRIFT,)), ("steady", ())):
        engine = _store(tmp_path_factory.mktemp(name), drift)
        out[name] = service.audit(engine, now=END, since=date(2025, 3, 1))
        engine.dispose()
    return out


@pytest.mark.slow
def test_the_audit_flags_the_injected_webinar_drift(audits: dict[str, service.AuditResult]
                                                    ) -> None:
    result = audits["drift"]
    flagged = {v.rule: v for v in result.flagged}
    assert "webinar_attended" in flagged, [v.words for v in result.verdicts]
    assert flagged["webinar_attended"].words.startswith("webinar_attended: ")
    webinar = next(r for r in result.rules if r.rule == "webinar_attended")
    assert webinar.rate_after is not None and webinar.rate_before is not None
    assert webinar.rate_after > 3 * webinar.rate_before
    # nothing else drifted: the other behaviours kept their rates
    assert set(flagged) == {"webinar_attended"}


@pytest.mark.slow
def test_the_audit_flags_nothing_in_the_world_without_drift(
        audits: dict[str, service.AuditResult]) -> None:
    result = audits["steady"]
    assert result.flagged == (), [v.words for v in result.flagged]


def test_the_drift_raises_webinar_attendance_from_its_date_only() -> None:
    def by_half(drift: tuple[Drift, ...]) -> Counter[tuple[str, bool]]:
        world = World(WorldParameters(60, MONTHS, drift=drift), random.Random(SEED))
        return Counter((e.type, e.at >= datetime(2025, 3, 1, tzinfo=UTC))
                       for s in world.accounts() for e in s.clean_events)

    steady, drifted = by_half(()), by_half((Drift.parse(DRIFT),))
    # before the date the world follows the same rules: about as many webinars
    assert drifted[("webinar_attended", False)] <= 1.5 * steady[("webinar_attended", False)] + 5
    # after it, everyone attends as if evaluating
    assert drifted[("webinar_attended", True)] > 2 * steady[("webinar_attended", True)]


def test_a_drift_names_a_known_driver_and_a_date() -> None:
    with pytest.raises(ConfigError, match="unknown driver 'pricing'"):
        Drift.parse("pricing:2025-03-01")
    with pytest.raises(ConfigError, match="expected DRIVER:DATE"):
        Drift.parse("webinar_attended")
    with pytest.raises(ConfigError, match="is not a date"):
        Drift.parse("webinar_attended:March")
