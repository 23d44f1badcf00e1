"""A learned scorecard written as a model file a person can read and a reviewer can diff:
value tables and bins for attributes, points per touch with a half-life and a cap for
behaviour, a comment per rule (and per value or bin) with its evidence, and the
calibration map from total score to the probability of the outcome."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from mql.learning.calibrate import Moment, candidates, change_point
from mql.learning.dataset import LeadRow
from mql.learning.scorecard import AttributeRule, Evidence, Scorecard, TouchRule
from mql.model.vocabulary import ACCOUNT_FIELDS, CONTACT_FIELDS, event_type

_PAST = {"won": "won", "sql": "became SQL", "opportunity": "got an opportunity"}


def _num(value: float) -> str:
    if math.isinf(value):
        return "null"
    return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _names(rules: Sequence[AttributeRule]) -> dict[str, str]:
    shorts = [r.field.partition(".")[2] or r.field for r in rules]
    names: dict[str, str] = {}
    for rule, short in zip(rules, shorts, strict=True):
        name = short if shorts.count(short) == 1 else rule.field.replace(".", "_")
        names[rule.field] = event_type(name) or "field"
    return names


def _touch_name(rule: TouchRule) -> str:
    if rule.level == "account":
        return event_type(f"account_{rule.event}")
    if rule.url is None:
        return event_type(rule.event)
    return event_type(f"{rule.event}_{rule.url}")


def _attribute(rule: AttributeRule, name: str, card: Scorecard, outcome: str,
               pad: str) -> list[str]:
    b = rule.binning
    lines = [f"{pad}- name: {name}",
             f"{pad}  # learned: information value {b.information_value:.2f}, "
             f"weight {rule.coefficient:.2f}"]
    if rule.per is not None:
        return lines + _per_unit(rule, card, outcome, pad)
    lines += [f"{pad}  points_by:", f"{pad}    field: {rule.field}"]
    default_points = 0
    default_words = "no lead lacked a value" if b.numeric else "no lead had another value"
    rows: list[str] = []
    for group, points in zip(b.groups, rule.points, strict=True):
        words = card.evidence(rule, group).words(outcome)
        if group.default:
            default_points = points
            default_words = words
            continue
        if b.numeric:
            low = "null" if group.low is None else _num(group.low)
            high = "null" if group.high is None else _num(group.high)
            rows.append(f"{pad}      - [{low}, {high}, {points}]  # {words}")
        else:
            rows.append(f"{pad}      {json.dumps(group.values[0])}: {points}  # {words}")
    lines.append(f"{pad}    {'bins' if b.numeric else 'table'}:")
    lines.extend(rows)
    kind = "unknown" if b.numeric else "other values and unknown"
    lines.append(f"{pad}    default: {default_points}  # {kind}: {default_words}")
    return lines


def _per_unit(rule: AttributeRule, card: Scorecard, outcome: str, pad: str) -> list[str]:
    per = rule.per
    assert per is not None
    unit = "point" if abs(per.points) == 1 else "points"
    short = rule.field.partition(".")[2] or rule.field
    lines = [f"{pad}  # points per unit: the bins' points lie on a line, {_num(per.points)} "
             f"{unit} per {_num(per.each)} {short}, at most {_num(per.cap or 0)}; the bins:"]
    for group, points in zip(rule.binning.groups, rule.points, strict=True):
        low = "null" if group.low is None else _num(group.low)
        high = "null" if group.high is None else _num(group.high)
        lines.append(f"{pad}  #   [{low}, {high}): {points}, "
                     f"{card.evidence(rule, group).words(outcome)}")
    lines.append(f"{pad}  points_per: {{field: {rule.field}, each: {_num(per.each)}, "
                 f"points: {_num(per.points)}, cap: {_num(per.cap or 0)}}}")
    return lines


def _touch(rule: TouchRule, outcome: str, pad: str) -> list[str]:
    lines = [f"{pad}- name: {_touch_name(rule)}",
             f"{pad}  # {rule.evidence.words(outcome)} had one before the decision; "
             f"weight {rule.coefficient:.3f}"]
    if rule.chosen:
        lines.append(f"{pad}  # {rule.chosen}")
    lines.append(f"{pad}  event: {rule.event}")
    if rule.level == "account":
        lines.append(f"{pad}  level: account")
    if rule.url is not None:
        lines.append(f"{pad}  when: {{field: url, op: contains, value: {json.dumps(rule.url)}}}")
    lines += [f"{pad}  points: {_num(rule.per_touch)}",
              f"{pad}  cap: {_num(rule.cap)}",
              f"{pad}  decay: {{half_life_days: {_num(rule.half_life_days)}}}"]
    return lines


def calibration_lines(card: Scorecard) -> list[str]:
    """The calibration map as comment lines (score band -> probability)."""
    past = _PAST.get(card.outcome, card.outcome)
    lines = [f"# calibration: total score -> probability the lead {past} (isotonic fit "
             f"over {len(card.calibration.steps)} score bands)"]
    steps = card.calibration.steps
    for i, (low, p) in enumerate(steps):
        high = f"below {_num(steps[i + 1][0])}" if i + 1 < len(steps) else "and above"
        lines.append(f"#   {_num(low)} {high}: {p:.1%}")
    return lines


def model_text(card: Scorecard, *, name: str, version: str, source: str,
               threshold: float | None = None, rows: Sequence[LeadRow] = ()) -> str:
    """The model file of `card` (YAML, comments included)."""
    outcome = _PAST.get(card.outcome, card.outcome)
    base = Evidence(card.leads, card.positives, card.base_rate)
    head = [
        f"# Learned by `mql learn` from {source}.",
        f"# {card.leads} leads, {card.positives} {outcome} (base rate {base.rate:.1%}); "
        "points are log-odds: 10 points double the odds of the outcome.",
        "# Evidence per value: leads, leads with the outcome, lift over the base rate and its "
        "95% interval.",
    ]
    if card.small_data:
        shrunk = (f"the points are shrunk towards the hand model's (learned weight "
                  f"{card.shrink:.2f})" if card.shrink < 1 else
                  "no hand model was given (--model) to shrink the points towards")
        head.append(f"# SMALL DATA: only {card.positives} leads {outcome} (fewer than 100): "
                    f"{shrunk}; the intervals are wide: read them, not the points.")
    for note in card.warnings:
        head.append(f"# note: {note}")
    contact = sorted({r.field.partition(".")[2] for r in card.attributes
                      if r.field.startswith("contact.")} - CONTACT_FIELDS)
    account = sorted({r.field.partition(".")[2] for r in card.attributes
                      if r.field.startswith("account.")} - ACCOUNT_FIELDS)
    lines = [*head, f"name: {name}", f"version: {json.dumps(version)}",
             f"description: Learned from outcomes ({card.outcome}); review it, backtest it "
             "(mql backtest), then activate it."]
    if contact or account:
        lines.append("fields:")
        if contact:
            lines.append(f"  contact: [{', '.join(contact)}]")
        if account:
            lines.append(f"  account: [{', '.join(account)}]")
    names = _names(card.attributes)
    scores = list(dict.fromkeys(["fit", *(r.score for r in card.attributes)]))
    lines += ["fit:", "  rules:" if any(r.score == "fit" for r in card.attributes)
              else "  rules: []"]
    for rule in card.attributes:
        if rule.score == "fit":
            lines += _attribute(rule, names[rule.field], card, outcome, "    ")
    lines += ["intent:", "  rules:" if card.touches else "  rules: []"]
    for touch in card.touches:
        lines += _touch(touch, outcome, "    ")
    extra = [s for s in scores if s != "fit"]
    if extra:
        lines.append("scores:")
        for score in extra:
            lines += [f"  {score}:", "    kind: fit", "    rules:"]
            for rule in card.attributes:
                if rule.score == score:
                    lines += _attribute(rule, names[rule.field], card, outcome, "      ")
        weights = ", ".join(f"{s}: 1" for s in ["fit", "intent", *extra])
        lines.append(f"total: {{{weights}}}")
    line = round(threshold, 1) if threshold is not None else 0.0
    p = card.calibration.probability(line)
    lines += ["mql:",
              "  # the change point of conversion over the learned totals (the method of "
              f"`mql calibrate`; probability {p:.1%} at it); `mql calibrate` recommends one "
              "from outreach history",
              "  thresholds:", f"    - {{total: {_num(line)}}}"]
    lines += calibration_lines(card)
    lines += test_lines(card, rows)
    return "\n".join(lines) + "\n"


_AT = datetime(2026, 1, 1, tzinfo=UTC)  # the time of a test whose lead has no moment
MAX_TEST_EVENTS = 40


def _flow(values: dict[str, object]) -> str:
    return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in values.items()) + "}"


def _plain(value: object) -> object | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        return value
    return None


def test_lines(card: Scorecard, rows: Sequence[LeadRow]) -> list[str]:
    """The model's own tests: the leads with the highest, the middle and the lowest
    total it learned from (with their fields and touches), each expected to score the
    total the learner computed, so `mql test` checks that the file says what was
    learned."""
    events = {t.event for t in card.touches}
    fields = {r.field for r in card.attributes}

    def usable(row: LeadRow) -> bool:
        relevant = [k for k, _ in row.touches
                    if k.partition(" ")[0].removeprefix("account:") in events]
        return "@" in row.key and len(relevant) <= MAX_TEST_EVENTS and bool(
            row.attributes.get("account.domain") or not any(
                f.startswith("account.") for f in fields))

    scored = sorted(((card.total(r), r) for r in rows if usable(r)), key=lambda t: t[0])
    if not scored:
        return []
    picks = {"highest": scored[-1], "middle": scored[len(scored) // 2], "lowest": scored[0]}
    lines = ["tests:"]
    for label, (total, row) in picks.items():
        at = row.at or _AT
        domain = str(row.attributes.get("account.domain") or "learned.example")
        contact: dict[str, object] = {"email": row.key, "account": domain}
        account: dict[str, object] = {"domain": domain}
        for name in sorted(fields):
            value = _plain(row.attributes.get(name))
            if value is None:
                continue
            table, _, short = name.partition(".")
            (contact if table == "contact" else account)[short] = value
        lines += [f"  - name: learned_{label}_total",
                  f"    description: The lead with the {label} total the model was learned "
                  "from; the file gives it the total the learner computed.",
                  f"    at: {at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}",
                  f"    accounts:\n      - {_flow(account)}",
                  f"    contacts:\n      - {_flow(contact)}"]
        touches = [(k, a) for k, a in row.touches
                   if k.partition(" ")[0].removeprefix("account:") in events]
        # an account-wide row's `account:TYPE` touches hold the lead's own events of the
        # type too; the account rule counts those from the contact's own events, so each
        # is written once (as the contact's)
        own = Counter((k.partition(" ")[0], a) for k, a in touches
                      if not k.startswith("account:"))
        kept = []
        for k, a in touches:
            if k.startswith("account:") and own[(k.removeprefix("account:"), a)] > 0:
                own[(k.removeprefix("account:"), a)] -= 1
                continue
            kept.append((k, a))
        touches = kept
        if touches:
            lines.append("    events:")
            for kind, age in touches:
                when = (at - timedelta(days=age)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                event_type, _, section = kind.partition(" ")
                item: dict[str, object] = {"type": event_type.removeprefix("account:"),
                                           "timestamp": when}
                if event_type.startswith("account:"):
                    item["account"] = domain
                else:
                    item["email"] = row.key
                if section:
                    item["properties"] = {"url": f"https://learned.example{section}"}
                lines.append(f"      - {_flow(item)}")
        lines += ["    expect:",
                  f"      - {{contact: {json.dumps(row.key)}, total: {round(total, 2)}, "
                  "tolerance: 0.05}"]
    return lines


def learned_threshold(card: Scorecard, rows: Sequence[LeadRow]) -> float:
    """The threshold `mql calibrate` would recommend on the learned totals: the change
    point of the conversion curve (`calibrate.change_point`, on its round grid of
    candidates) over each lead's learned total and outcome at its decision moment; the
    highest calibration band when conversion never clearly rises. One threshold method
    for `mql learn` and `mql calibrate`."""
    moments = [Moment(row.key, card.total(row), 1.0 if row.label else 0.0) for row in rows]
    found = change_point(moments, candidates(m.score for m in moments))
    return found if found is not None else card.calibration.steps[-1][0]
