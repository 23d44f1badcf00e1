"""The oracle threshold of a synthetic world, from its ground truth (docs/learning.md,
"Calibrate", says why this is the target).

Each hand-off in the world's `dispositions` file became an SQL by a coin flip whose
chance the world knows: `mql.synthetic.outcomes.accept_and_sql` at the account's hidden
stage on the hand-off's day (`truth/accounts`, `path`), its hidden fit (`fit`) and whether
one of its opportunities was open then (`opportunities`); competitors never convert and
accounts under 0.15 fit are mostly turned away as a wrong fit. (The kind of person, a
student or a job seeker, is not in the truth files: every contact counts as a member of
the buying committee.) The oracle threshold is the recommendation's own method
(`mql.learning.calibrate.change_point`) applied to those chances instead of the coin
flips: what calibration would say with infinitely many outreaches.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

from mql.learning.calibrate import Moment, candidates, change_point
from mql.synthetic.outcomes import accept_and_sql


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def chances(world: Path) -> dict[str, float]:
    """Each contact's true chance that its first hand-off became an SQL."""
    truth = {r["domain"]: r for r in _rows(world / "truth" / "accounts.csv")}
    status = {r["domain"]: r["status"] for r in _rows(world / "accounts.csv")}
    deals: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for o in _rows(world / "opportunities.csv"):
        deals.setdefault(o["account"], []).append(
            (_time(o["created_at"]), _time(o["closed_at"]) if o["closed_at"] else None))
    out: dict[str, float] = {}
    for d in sorted(_rows(world / "dispositions.csv"), key=lambda r: r["disposed_at"]):
        email, domain = d["email"].lower(), d["account"]
        if email in out or domain not in truth:
            continue
        at, t = _time(d["handed_at"]), truth[domain]
        stage = "none"
        for step in json.loads(t["path"]):
            if _time(step["at"]) <= at:
                stage = step["stage"]
        fit = float(t["fit"])
        has_deal = any(opened <= at and (closed is None or at < closed)
                       for opened, closed in deals.get(domain, []))
        if status.get(domain) == "competitor" or stage == "competitor":
            out[email] = 0.0  # turned away as a competitor
            continue
        accept, sql = accept_and_sql(stage, fit=fit, has_deal=has_deal)
        p = accept * sql
        if fit < 0.15:
            p *= 0.2  # four in five are turned away as a wrong fit first
        out[email] = p
    return out


def oracle_threshold(moments: list[Moment], world: Path, step: float | None = None
                     ) -> float | None:
    """The change point of the true chances at the scores of `moments`."""
    p = chances(world)
    true = [Moment(m.contact, m.score, p[m.contact]) for m in moments if m.contact in p]
    return change_point(true, candidates([m.score for m in moments], step))
