"""The hand model's points as a prior for small data.

Each lead is scored by the hand model's fit-kind scores; a rule's points are shared
among the fields it reads. Put on the learned scale (10 points double the odds) with
the slope of a logistic fit of the outcome on the hand model's total, a group's prior is
the mean of its members' hand points minus the mean over everyone: what the hand model
says this value is worth against the average lead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from mql.learning.dataset import LeadRow
from mql.learning.scorecard import SCALE, Prior
from mql.model.spec import FitRule, Model
from mql.records import Account, Contact
from mql.scoring.fit import FitScorer


def _records(row: LeadRow) -> tuple[Contact, Account]:
    contact = {k.partition(".")[2]: v for k, v in row.attributes.items()
               if k.startswith("contact.")}
    account = {k.partition(".")[2]: v for k, v in row.attributes.items()
               if k.startswith("account.")}
    email = row.key if "@" in row.key else "lead@learning.invalid"
    # the lead's own domain, what a hand rule on account.domain reads (a target list)
    domain = str(row.attributes.get("account.domain") or "learning.invalid")
    return Contact(email, domain, contact), Account(domain, account)


def field_points(model: Model, rows: Sequence[LeadRow]) -> list[dict[str, float]]:
    """Per row, the hand model's fit points attributed to each field."""
    scorers = [FitScorer(s) for s in model.scores.values() if s.kind == "fit"]
    fields_of: dict[str, tuple[str, ...]] = {}
    for score in model.scores.values():
        if score.kind != "fit":
            continue
        for rule in score.rules:
            assert isinstance(rule, FitRule)
            names = list(rule.when.fields())
            if rule.points_by is not None:
                names.append(rule.points_by.field)
            if rule.points_per is not None:
                names.append(rule.points_per.field)
            fields_of[rule.name] = tuple(dict.fromkeys(names))
    result = []
    for row in rows:
        contact, account = _records(row)
        shares: dict[str, float] = defaultdict(float)
        for scorer in scorers:
            for line in scorer(contact, account).lines:
                read = fields_of.get(line.rule, ())
                if line.matched and read:
                    for name in read:
                        shares[name] += line.points / len(read)
        result.append(dict(shares))
    return result


def hand_prior(model: Model, rows: Sequence[LeadRow]) -> Prior:
    """The prior of each group (see the module) for `scorecard.learn`."""
    points = field_points(model, rows)
    totals = np.array([[sum(p.values())] for p in points])
    labels = np.array([int(r.label) for r in rows])
    slope = 0.0
    if totals.std() > 0 and 0 < labels.sum() < len(labels):
        slope = max(0.0, float(LogisticRegression(max_iter=1000).fit(totals, labels).coef_[0][0]))
    index = {id(r): i for i, r in enumerate(rows)}
    means: dict[str, float] = {}

    def prior(name: str, members: Sequence[LeadRow]) -> float:
        if name not in means:
            means[name] = float(np.mean([p.get(name, 0.0) for p in points])) if points else 0.0
        if not members:
            return 0.0
        mean = float(np.mean([points[index[id(r)]].get(name, 0.0) for r in members]))
        return SCALE * slope * (mean - means[name])

    return prior
