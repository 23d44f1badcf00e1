"""Sales rejection reasons as fit-rule suggestions (`mql audit`, docs/learning.md): the
leads sales rejected for each frequent reason and the contacts of won deals, read from the
store, handed to `mql.learning.suggest`; the candidate model written as a file for
`mql diff` and a backtest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from mql.errors import ConfigError
from mql.learning.suggest import Suggestion, with_rule
from mql.learning.suggest import suggest as suggest_rule
from mql.model.dump import dump_model
from mql.model.spec import Model
from mql.scoring.fit import record_getter
from mql.service import state as states
from mql.service.scoring import load_model_file
from mql.store import accounts as account_store
from mql.store import contacts as contact_store
from mql.store import ledger
from mql.store.db import translate_errors
from mql.store.migrate import check

REJECTIONS = ("rejected", "disqualified")  # the dispositions that say a lead was wrong


@dataclass(frozen=True, slots=True)
class Suggestions:
    """The audited model and one `Suggestion` per frequent rejection reason: `items` those
    a fit rule answers, `skipped` those none does (most common first)."""

    model: Model
    items: tuple[Suggestion, ...]
    skipped: tuple[Suggestion, ...]

    def candidate(self) -> Model:
        """The model with the first suggestion's rule added."""
        if not self.items or self.items[0].rule is None:
            raise ConfigError("no rejection reason has a fit-rule suggestion: nothing to write")
        return with_rule(self.model, self.items[0].rule)


def suggest(engine: Engine, *, model_path: Path | None = None, min_rejections: int = 5
            ) -> Suggestions:
    """For each reason sales gave at least `min_rejections` times when rejecting or
    disqualifying a lead (each lead once per reason), the fit rule that would have excluded
    most of those leads and the fewest contacts of won deals (`mql.learning.suggest`)."""
    check(engine)
    with translate_errors("reading dispositions for the audit"), engine.connect() as conn:
        live = states.live_model(conn)
        model = load_model_file(model_path) if model_path is not None else live.model
        d = ledger.disposition_columns(conn)
        by_reason: dict[str, set[int]] = {}
        for cid, status, reason in zip(d["contact_id"], d["status"], d["reason"], strict=True):
            if status in REJECTIONS and reason:
                by_reason.setdefault(str(reason), set()).add(int(cid))
        frequent = sorted(((r, ids) for r, ids in by_reason.items()
                           if len(ids) >= min_rejections), key=lambda x: (-len(x[1]), x[0]))
        won = _won_contacts(conn) if frequent else set()
        wanted = won | {c for _, ids in frequent for c in ids}
        stored = contact_store.load_contacts(conn, wanted)
        accounts = account_store.load_accounts(
            conn, {c.account_id for c in stored.values() if c.account_id is not None})
    fields = sorted({f for r in model.fit.rules for f in r.fields()}  # type: ignore[union-attr]
                    | {f"contact.{k}" for c in stored.values() for k in c.record.attributes}
                    | {f"account.{k}" for a in accounts.values() for k in a.attributes})

    def person(cid: int) -> dict[str, Any]:
        c = stored[cid]
        get = record_getter(c.record, accounts.get(c.account_id)
                            if c.account_id is not None else None)
        return {f: get(f) for f in fields}

    won_people = [person(c) for c in sorted(won) if c in stored]
    out = [suggest_rule(model, reason, [person(c) for c in sorted(ids) if c in stored],
                        won_people, fields) for reason, ids in frequent]
    return Suggestions(model, tuple(s for s in out if s.rule is not None),
                       tuple(s for s in out if s.rule is None))


def _won_contacts(conn: Connection) -> set[int]:
    opps = ledger.opportunity_columns(conn)
    won = {int(i) for i, s in zip(opps["id"], opps["status"], strict=True) if s == "won"}
    out = {int(p) for i, p in zip(opps["id"], opps["primary_contact_id"], strict=True)
           if int(i) in won and p is not None}
    roles = ledger.opportunity_contact_columns(conn)
    out |= {int(c) for o, c in zip(roles["opportunity_id"], roles["contact_id"], strict=True)
            if int(o) in won}
    return out


def write_candidate(suggestions: Suggestions, path: Path) -> None:
    """The candidate model (the first suggestion applied) written to `path` as a model
    file, for `mql diff` and a backtest."""
    text = dump_model(suggestions.candidate())
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
