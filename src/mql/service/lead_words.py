"""A stored lead in words a seller reads: its stage (and why it differs from what the
scores say), owner, team, SLA, and why it qualified. The CLI (`mql contact`) prints these
lines; the API and web pages can show the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from mql.identity.merge import IdentityRules
from mql.scoring.qualify import ago
from mql.service.api_reads import Lead, read_lead
from mql.service.keys import Scope
from mql.service.lifecycle import TransitionView, history

# stages a lead can sit in while its scores would qualify it: the lifecycle, not the
# score, decides (a recycled lead waits for fresh intent, an exit rule returned it...)
_NOT_QUALIFIED_STAGES = ("nurture", "recycled", "disqualified", "captured", None)


@dataclass(frozen=True, slots=True)
class LeadCard:
    """A stored lead at one time: the lead (with its explanation) and its lines in words."""

    lead: Lead
    lines: tuple[tuple[str, str], ...]


def _when(at: datetime, now: datetime) -> str:
    stamp = f"{at:%Y-%m-%d %H:%M} UTC"
    if at > now:
        return f"{stamp} (in {ago(now, at).removesuffix(' ago')})"
    return f"{stamp} ({ago(at, now)})"


def sla_words(assignment: dict[str, object] | None, now: datetime) -> str:
    """The SLA state of an assignment: "first touch due ... (in 3 hours)", "breached ...",
    "met", or "no SLA"."""
    if assignment is None:
        return "no open assignment"
    sla, due, status = assignment.get("sla"), assignment.get("sla_due_at"), assignment["status"]
    if sla is None or not isinstance(due, datetime):
        return f"no SLA ({status})"
    if status == "open":
        late = " — overdue" if due <= now else ""
        return f"{sla}: first touch due {_when(due, now)}{late}"
    if status in ("breached", "escalated"):
        return f"{sla}: {status}, first touch was due {_when(due, now)}"
    touched = assignment.get("first_touch_at")
    at = f" at {touched:%Y-%m-%d %H:%M} UTC" if isinstance(touched, datetime) else ""
    return f"{sla}: {status}, first touch{at} (due {due:%Y-%m-%d %H:%M} UTC)"


def verdict_words(lead: Lead, moves: list[TransitionView]) -> str:
    """"yes: <because>", "no", or, when the stage is one the lifecycle put the lead in
    (recycled, nurture ...), why: "no — the lead is recycled since ...: <the cause of that
    move>", or "not now — the scores qualify (...), but the lead is nurture since ..."."""
    decision = lead.explanation.decision
    if decision.mql and lead.stage not in _NOT_QUALIFIED_STAGES:
        return f"yes: {decision.because()}"
    last = moves[-1] if moves else None
    if (lead.stage in (None, "captured") or last is None) and not decision.mql:
        return "no" if not decision.excluded_by else decision.because()
    since = f" since {lead.stage_since:%Y-%m-%d %H:%M} UTC" if lead.stage_since else ""
    why = ""
    if last is not None:
        why = f": {last.source or '-'} -> {last.target} by {last.actor}, {last.cause}"
        why += f" ({last.reason})" if last.reason else ""
    stage = f"the lead is {lead.stage or 'not staged'}{since}{why}"
    if not decision.mql:
        head = "no" if not decision.excluded_by else f"no ({decision.because()})"
        return (f"{head} — {stage}; only what the lifecycle rules (recycle, exit, requalify) "
                "count from then on can make it an MQL again")
    return (f"not now — the scores qualify ({decision.because()}), but {stage}; the "
            "lifecycle rules (recycle, exit, requalify) decide when it becomes an MQL again")


def lead_card(engine: Engine, email: str, *, at: datetime, rules: IdentityRules,
              scope: Scope | None = None) -> LeadCard:
    """The lead with `email` (any of its addresses) at `at`, in words; `Forbidden` when
    `scope` does not reach it (`read_lead`)."""
    lead = read_lead(engine, email, at=at, rules=rules, scope=scope)
    moves = history(engine, lead.email, identity=rules)
    assignment = lead.assignment
    lines = [
        ("stage", f"{lead.stage or '-'}"
                  + (f" since {_when(lead.stage_since, at)}" if lead.stage_since else "")),
        ("owner", lead.owner or "-"),
        ("team", str(assignment.get("team") or "-") if assignment else "-"),
        ("SLA", sla_words(assignment, at)),
        ("MQL", verdict_words(lead, moves)),
    ]
    c = lead.compliance
    if c is not None and c.may_contact is not None:
        lines.append(("may contact", may_contact_words(c.may_contact)
                      + (f" ({c.jurisdiction})" if c.jurisdiction else "")))
    if c is not None and c.hold_reason is not None:
        lines.append(("held" if c.held else "would be held", c.hold_reason))
    return LeadCard(lead, tuple(lines))


def may_contact_words(may: dict[str, bool]) -> str:
    """The channels a lead may and may not be reached on, in words.

    >>> may_contact_words({"email": True, "phone": False, "sms": True})
    'email, sms; not phone'
    """
    yes = [c for c, ok in may.items() if ok]
    no = [c for c, ok in may.items() if not ok]
    return "; ".join(p for p in (", ".join(yes) or "no channel",
                                 f"not {', '.join(no)}" if no else "") if p)
