"""The oracle threshold of a synthetic world, from its ground truth (docs/learning.md,
"Calibrate", says why this is the target).

Each hand-off in the world's `dispositions` file became an SQL by a coin flip whose
chance the world wrote down (`truth/handoffs`, `p_sql`: the account's hidden stage and
fit, whether a deal was open, the kind of person: a student or a competitor never
converts, a job seeker rarely). Calibration counts a person as converted when an SQL
came on or after their first outreach, whichever hand-off it came from; so the person's
true chance is that of any of their hand-offs becoming an SQL, `1 - prod(1 - p_sql)`.
(An opportunity sales opened without a marketing SQL also counts as an SQL for its named
champion; the world draws those without a chance per person, so they are left out.)

The oracle threshold is the recommendation's own method
(`mql.learning.calibrate.change_point`) applied to those chances instead of the coin
flips: what calibration would say with infinitely many outcomes at these scores.
`landing_odds` redraws the coin flips from the same chances: how often calibration on
this many outreaches lands within 5% of the oracle at all (its sampling variance).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from mql.learning.calibrate import Moment, candidates, change_point


def chances(world: Path) -> dict[str, float]:
    """Each contact's true chance that a hand-off from its first on became an SQL."""
    missed: dict[str, float] = {}
    with (world / "truth" / "handoffs.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            email = row["email"].lower()
            missed[email] = missed.get(email, 1.0) * (1.0 - float(row["p_sql"]))
    return {email: 1.0 - q for email, q in missed.items()}


def true_moments(moments: list[Moment], world: Path) -> list[Moment]:
    """The outreaches with their true chance in place of the outcome."""
    p = chances(world)
    return [Moment(m.contact, m.score, p[m.contact]) for m in moments if m.contact in p]


def oracle_threshold(moments: list[Moment], world: Path, step: float | None = None
                     ) -> float | None:
    """The change point of the true chances at the scores of `moments`."""
    return change_point(true_moments(moments, world),
                        candidates([m.score for m in moments], step))


def landing_odds(moments: list[Moment], world: Path, *, draws: int = 100, seed: int = 0,
                 within: float = 0.05) -> float:
    """The share of `draws` worlds, outcomes drawn again from the true chances at the same
    scores, in which the change point lands within `within` of the oracle."""
    true = true_moments(moments, world)
    grid = candidates([m.score for m in moments])
    oracle = change_point(true, grid)
    if oracle is None:
        return 0.0
    rng = random.Random(seed)
    hits = 0
    for _ in range(draws):
        drawn = [Moment(m.contact, m.score, 1.0 if rng.random() < m.converted else 0.0)
                 for m in true]
        found = change_point(drawn, grid)
        hits += found is not None and abs(found - oracle) <= within * abs(oracle)
    return hits / draws
