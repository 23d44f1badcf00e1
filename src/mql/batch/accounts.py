"""Account scores with a batch engine (DuckDB or Spark): the same numbers as the streaming
`mql.accounts.score.AccountBook`, to 1e-9.

The decayed parts come from the engine's own compiled query (`Engine.rescore`), run on two
views of the model that differ from it only in the rules of the intent score the
`accounts:` section reads:

- **people**: the score with its contact-level rules only, one row per contact (each
  person's intent from their own events, as `person_points`);
- **accounts**: the score with its account-level rules only and the account fit as the
  fit score, over one stand-in contact per account (``mql_account:<domain>``: no events of
  its own), so each account's own events and fit are computed once.

Each contact's committee role is read from its record by the role table
(`mql.accounts.roles.infer_role`, as fit reads records). The roll-up (rank per role,
``weight * repeat**(rank-1) * points``, the account's own events, the cap) is one SQL
query over those results, run by DuckDB.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

import duckdb
import pyarrow as pa

from mql.accounts.roles import infer_role
from mql.batch.asof import AsOf
from mql.batch.engines import Engine, Inputs
from mql.model.accounts import DEFAULT_ACCOUNTS, AccountScoring
from mql.model.spec import IntentRule, Model, Score
from mql.records import Account, Contact

STAND_IN = "mql_account:"  # the key prefix of an account's stand-in contact


def _view(model: Model, spec: AccountScoring, level: str) -> Model:
    """The model with the intent score `spec` reads reduced to its `level` rules (and, for
    accounts, the account fit as its fit score)."""
    score = model.scores[spec.intent_score]
    kept = tuple(r for r in score.rules if isinstance(r, IntentRule) and r.level == level)
    scores = dict(model.scores)
    scores[score.name] = dataclasses.replace(score, rules=kept)
    if level == "account":
        fit = spec.fit or Score("fit", "fit", ())
        scores["fit"] = dataclasses.replace(fit, name="fit")
    view = dataclasses.replace(model, scores=scores)
    object.__setattr__(view, "digest", f"{model.digest}:accounts:{level}" if model.digest
                       else "")
    return view


def account_scores(engine: Engine, model: Model, contacts: Iterable[Contact],
                   accounts: Iterable[Account], events: Inputs | None = None, *,
                   at: datetime) -> pa.Table:
    """One row per account (every account with a record or a contact): domain, fit,
    intent, total; intent and total as `mql.accounts.score.score_account` computes them.
    `events` gives the events (an `Inputs` whose records are ignored)."""
    spec = model.accounts or DEFAULT_ACCOUNTS
    contacts = [c for c in contacts if c.account]
    accounts = list(accounts)
    by_domain = {a.domain: a for a in accounts}
    domains = sorted(set(by_domain) | {c.account for c in contacts if c.account})
    source = events.events if events is not None else ()
    as_of = AsOf.at(at)
    name = spec.intent_score
    people = engine.rescore(_view(model, spec, "contact"), Inputs(contacts, accounts, source),
                            as_of).select(["contact", name])
    stand_ins = [Contact(f"{STAND_IN}{d}", d, {}) for d in domains]
    own = engine.rescore(_view(model, spec, "account"), Inputs(stand_ins, accounts, source),
                         as_of).select(["contact", "fit", name])
    roles = pa.table({
        "contact": [c.email for c in contacts],
        "account": [c.account for c in contacts],
        "weight": [spec.weight(infer_role(c, by_domain.get(c.account or ""), spec.roles).role)
                   for c in contacts],
        "role": [infer_role(c, by_domain.get(c.account or ""), spec.roles).role or ""
                 for c in contacts],
    })
    con = duckdb.connect()
    try:
        con.register("people", people)
        con.register("own", own)
        con.register("roles", roles)
        cap = "" if spec.intent_max is None else f"LEAST({float(spec.intent_max)!r}, "
        close = "" if spec.intent_max is None else ")"
        query = f"""
        WITH p AS (
          SELECT r.account, r.role, r.weight, GREATEST(0.0, p.{name}) AS points
          FROM roles r JOIN people p ON p.contact = r.contact),
        ranked AS (
          SELECT account, weight, points,
                 row_number() OVER (PARTITION BY account, role ORDER BY points DESC) AS rk
          FROM p),
        rolled AS (
          SELECT account, SUM(weight * POWER({float(spec.repeat)!r}, rk - 1) * points) AS v
          FROM ranked GROUP BY account),
        acct AS (
          SELECT substr(contact, {len(STAND_IN) + 1}) AS account, fit,
                 GREATEST(0.0, {name}) AS points FROM own),
        scored AS (
          SELECT a.account AS domain, a.fit,
                 {cap}COALESCE(r.v, 0.0) + {float(spec.account_events)!r} * a.points{close}
                   AS intent
          FROM acct a LEFT JOIN rolled r ON r.account = a.account)
        SELECT domain, fit, intent, fit + intent AS total FROM scored ORDER BY domain"""
        table: pa.Table = con.sql(query).to_arrow_table()
    finally:
        con.close()
    return table
