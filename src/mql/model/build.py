"""Checks what the schema cannot (names, fields, event types, condition grammar,
references between sections) and builds the frozen `Model`, collecting every problem."""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from mql.errors import Problem
from mql.model import document as d
from mql.model.attribution import AttributionSettings, attribution_from_doc
from mql.model.conditions import (
    CONTACT,
    LIST_OPS,
    NAMED_LIST_OPS,
    NUMERIC_OPS,
    OPS,
    PRESENCE_OPS,
    TEXT_OPS,
    Activity,
    After,
    All,
    AnyOf,
    Compare,
    Condition,
    Measure,
    Not,
)
from mql.model.handoff import BusinessHours
from mql.model.lists import NamedList
from mql.model.reports import ReportSettings, reports_from_doc
from mql.model.spec import (
    ALWAYS,
    DEFAULT_TOTAL,
    TOTAL,
    Criterion,
    Decay,
    ExitRule,
    FastTrack,
    FitRule,
    Grades,
    IntentRule,
    Minimums,
    Model,
    MqlDefinition,
    Outcomes,
    PointsBy,
    PointsPer,
    Score,
)
from mql.model.vocabulary import ACCOUNT_FIELDS, CONTACT_FIELDS, EVENT_TYPES
from mql.model.windows import CALENDAR_WINDOWS, WEEKDAYS, CalendarWindow
from mql.model.yaml_marks import Located, Path

Scope = Literal["fit", "event", "criteria", "nurture"]
CALENDAR_KEYS = ("within", "within_business_days", "calendar")
_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# windows beyond counting events: aggregates and sequences
_EXTRA_KEYS = ("distinct", "sum", "max", "avg", "at_least", "after")


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.75)
    return f' (did you mean "{close[0]}"?)' if close else ""


def as_yaml(value: Any) -> str:
    """A value as the user wrote it in YAML: "text", true, null, 3.5, [a, b].

    >>> as_yaml("ten"), as_yaml(True), as_yaml(None), as_yaml([1, "a"])
    ('"ten"', 'true', 'null', '[1, "a"]')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(as_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {as_yaml(v)}" for k, v in value.items()) + "}"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Builder:
    """Turns a shape-checked `ModelDoc` into a `Model`; `problems` lists what is wrong."""

    def __init__(self, located: Located, source: str) -> None:
        self.located = located
        self.source = source
        self.problems: list[Problem] = []
        self.event_types: frozenset[str] = EVENT_TYPES
        self.contact_fields: frozenset[str] = CONTACT_FIELDS
        self.account_fields: frozenset[str] = ACCOUNT_FIELDS
        self.score_names: tuple[str, ...] = ()
        self.intent_rules: frozenset[str] = frozenset()  # names, for accounts.mqa
        self.lists: dict[str, NamedList] = {}  # set by parse_model from mql.model.lists
        self.teams: dict[str, d.TeamDoc] | None = None  # routing teams, for calendar windows

    def problem(self, path: Path, message: str, *, key: bool = False) -> None:
        mark = self.located.mark(path, key=key)
        dotted = ""
        for part in path:
            dotted += f"[{part}]" if isinstance(part, int) else ("." if dotted else "") + part
        self.problems.append(Problem(self.source, mark.line, mark.column, dotted, message))

    # -- the document -------------------------------------------------------------------

    def build(self, doc: d.ModelDoc) -> Model:
        self.teams = dict(doc.routing.teams) if doc.routing is not None else {}
        self.event_types = EVENT_TYPES | frozenset(doc.event_types)
        self.contact_fields = CONTACT_FIELDS | frozenset(doc.fields.contact)
        self.account_fields = ACCOUNT_FIELDS | frozenset(doc.fields.account)
        for name in doc.scores:
            if name in ("fit", "intent", TOTAL):
                self.problem(("scores", name), f'"{name}" is reserved; choose another name',
                             key=True)
        self.score_names = ("fit", "intent", *doc.scores, TOTAL)
        default_decay = self.decay(doc.decay, ("decay",))
        scores = {
            "fit": self.fit_score("fit", doc.fit, ("fit",)),
            "intent": self.intent_score("intent", doc.intent, ("intent",), default_decay),
        }
        for name, section in doc.scores.items():
            path = ("scores", name)
            if isinstance(section, d.FitScoreDoc):
                scores[name] = self.fit_score(name, section, path)
            else:
                scores[name] = self.intent_score(name, section, path, default_decay)
        from mql.model import build_handoff as h
        from mql.model.accounts import build_accounts
        from mql.model.consent import build_consent
        from mql.model.nurture import build_nurture

        self.intent_rules = frozenset(r.name for s in scores.values() if s.kind == "intent"
                                      for r in s.rules)

        return Model(
            lifecycle=h.lifecycle(self, doc.lifecycle),
            routing=h.routing(self, doc.routing),
            sla=h.sla(self, doc.sla),
            outcomes=self.outcomes(doc.outcomes),
            reports=self.reports(doc.reports),
            attribution=self.attribution(doc.attribution),
            name=doc.name,
            version=doc.version,
            description=doc.description,
            scores=scores,
            mql=self.mql(doc.mql, scores),
            grades=self.grades(doc.grades, scores),
            exit_below=self.minimums(doc.exit.below, ("exit", "below"))
            if doc.exit and (doc.exit.below or not doc.exit.when) else (),
            exit_when=self.exit_rules(doc.exit),
            contact_fields=frozenset(doc.fields.contact),
            account_fields=frozenset(doc.fields.account),
            event_types=frozenset(doc.event_types),
            lists=tuple(self.lists[n] for n in sorted(self.lists)),
            total=self.total_weights(doc.total, scores),
            accounts=build_accounts(self, doc.accounts, {n: s.kind for n, s in scores.items()}),
            consent=build_consent(self, doc.consent),
            nurture=build_nurture(self, doc.nurture),
        )

    def reports(self, doc: d.ReportsDoc) -> ReportSettings:
        try:
            return reports_from_doc(doc)
        except ValueError as exc:
            self.problem(("reports",), str(exc))
            return ReportSettings()

    def attribution(self, doc: d.AttributionDoc) -> AttributionSettings:
        try:
            return attribution_from_doc(doc)
        except ValueError as exc:
            part, _, message = str(exc).partition(": ")
            self.problem(("attribution", part), message)
            return AttributionSettings()

    def check_raw(self, data: dict[str, Any]) -> None:
        """The checks `build` makes, run on data whose shape is wrong somewhere, so that
        unknown events, fields and broken conditions are reported in the same run as the
        shape problems. Parts that are not even the right shape are skipped."""

        def names(raw: Any) -> list[str]:
            return [n for n in raw if isinstance(n, str)] if isinstance(raw, list) else []

        def mapping(raw: Any) -> dict[str, Any]:
            return raw if isinstance(raw, dict) else {}

        fields = mapping(data.get("fields"))
        self.event_types = EVENT_TYPES | frozenset(names(data.get("event_types")))
        self.contact_fields = CONTACT_FIELDS | frozenset(names(fields.get("contact")))
        self.account_fields = ACCOUNT_FIELDS | frozenset(names(fields.get("account")))
        extra = [str(k) for k in mapping(data.get("scores"))]
        self.score_names = ("fit", "intent", *extra, TOTAL)
        sections: list[tuple[Path, Any, Scope]] = [(("fit",), data.get("fit"), "fit"),
                                                   (("intent",), data.get("intent"), "event")]
        for name, section in mapping(data.get("scores")).items():
            kind = mapping(section).get("kind")
            sections.append((("scores", name), section, "fit" if kind == "fit" else "event"))
        self.decay(data.get("decay"), ("decay",))
        for path, section, scope in sections:
            rules = mapping(section).get("rules")
            if "decay" in mapping(section):
                self.decay(mapping(section)["decay"], (*path, "decay"))
            self.unique([mapping(r).get("name") for r in (rules if isinstance(rules, list)
                                                          else [])], (*path, "rules"), "rule")
            for i, rule in enumerate(rules if isinstance(rules, list) else []):
                self._check_raw_rule(mapping(rule), (*path, "rules", i), scope)
                if scope == "event":
                    self.check_raw_window(mapping(rule), (*path, "rules", i))
        mql = mapping(data.get("mql"))
        thresholds = mql.get("thresholds")
        if isinstance(thresholds, dict):
            self._check_raw_minimums(thresholds, ("mql", "thresholds"))
        for i, item in enumerate(thresholds if isinstance(thresholds, list) else []):
            if isinstance(item, dict):
                self._check_raw_minimums(item, ("mql", "thresholds", i))
        for key, what in (("criteria", "criterion"), ("fast_track", "fast-track rule"),
                          ("exclude", "exclusion")):
            items = mql.get(key)
            self.unique([mapping(c).get("name") for c in (items if isinstance(items, list)
                                                          else [])], ("mql", key), what)
        total = data.get("total")
        if isinstance(total, dict) and all(_is_number(v) for v in total.values()):
            self.total_weights(total, {n: None for n in self.score_names if n != TOTAL})
        below = mapping(mapping(data.get("exit")).get("below"))
        if below:
            self._check_raw_minimums(below, ("exit", "below"))
        exits = mapping(data.get("exit")).get("when")
        for i, item in enumerate(exits if isinstance(exits, list) else []):
            self._check_raw_rule(mapping(item), ("exit", "when", i), "criteria")
        grades = mapping(data.get("grades"))
        for key, labels in (("fit", "ABCDEF"), ("intent", "123456")):
            bands = grades.get(key)
            if isinstance(bands, dict) and all(_is_number(v) for v in bands.values()):
                self.bands(bands, ("grades", key), labels)
        for key in ("disqualify",):
            items = mapping(data.get("lifecycle")).get(key)
            for i, item in enumerate(items if isinstance(items, list) else []):
                self._check_raw_rule(mapping(item), ("lifecycle", key, i), "criteria")
        parts: tuple[tuple[str, Scope], ...] = (
            ("criteria", "criteria"), ("exclude", "criteria"), ("fast_track", "event"))
        for key, part_scope in parts:
            items = mql.get(key)
            for i, item in enumerate(items if isinstance(items, list) else []):
                self._check_raw_rule(mapping(item), ("mql", key, i), part_scope)

    def _check_raw_minimums(self, raw: dict[str, Any], path: Path) -> None:
        if all(_is_number(v) for v in raw.values()):
            self.minimums(raw, path)

    def _check_raw_rule(self, rule: dict[str, Any], path: Path, scope: Scope) -> None:
        event = rule.get("event")
        if isinstance(event, str) or (isinstance(event, list) and all(
                isinstance(e, str) for e in event)):
            self.events([event] if isinstance(event, str) else event, (*path, "event"))
        if "when" in rule and rule["when"] is not None:
            self.condition(rule["when"], (*path, "when"), scope)
        if scope == "fit":
            self.fit_rule_points(rule, path)
        if scope == "event" and "rules" in path:
            if rule.get("decay") is not None:
                self.decay(rule["decay"], (*path, "decay"))
            if rule.get("min_count") is not None:
                self.windowed_v2([k for k in V2_KEYS if rule.get(k) is not None], path)
            self.intent_points(rule, path)

    def decay(self, raw: Any, path: Path, default: Decay | None = None) -> Decay:
        if raw is None:
            return default if default is not None else Decay.none()
        if raw == "none" or raw is False:
            return Decay.none()
        if not isinstance(raw, dict) or len(raw) != 1:
            self.problem(path, "expected none, {half_life_days: N} or {loss_per_quarter: F}")
            return Decay.none()
        (key, value), = raw.items()
        if key not in ("half_life_days", "loss_per_quarter"):
            keys = ["half_life_days", "loss_per_quarter"]
            self.problem((*path, key), "unknown key (expected half_life_days or "
                         f"loss_per_quarter){_suggest(str(key), keys)}", key=True)
        elif not _is_number(value):
            self.problem((*path, key), f"expected a number, got {as_yaml(value)}")
        elif key == "half_life_days" and value > 0:
            return Decay(float(value))
        elif key == "loss_per_quarter" and 0 < value < 1:
            return Decay.from_loss_per_quarter(float(value))
        else:
            limits = "greater than 0" if key == "half_life_days" else "between 0 and 1 (exclusive)"
            self.problem((*path, key), f"must be {limits}, got {value}")
        return Decay.none()

    def unique(self, names: Sequence[str | None], path: Path, what: str) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name is None:
                continue
            if name in seen:
                self.problem((*path, i, "name"), f'another {what} is already named "{name}"')
            seen.add(name)

    def fit_score(self, name: str, doc: d.FitDoc, path: Path) -> Score:
        self.unique([r.name for r in doc.rules], (*path, "rules"), "rule")
        rules = tuple(self.fit_rule(r, (*path, "rules", i)) for i, r in enumerate(doc.rules))
        return Score(name, "fit", rules, doc.max, Decay.none(), doc.description,
                     self.floor(doc.floor, doc.max, path))

    def intent_score(self, name: str, doc: d.IntentDoc, path: Path, default: Decay) -> Score:
        self.unique([r.name for r in doc.rules], (*path, "rules"), "rule")
        rules = tuple(self.intent_rule(r, (*path, "rules", i)) for i, r in enumerate(doc.rules))
        decay = self.decay(doc.decay, (*path, "decay"), default)
        return Score(name, "intent", rules, doc.max, decay, doc.description,
                     self.floor(doc.floor, doc.max, path))

    def intent_rule(self, r: d.IntentRuleDoc, path: Path) -> IntentRule:
        extras = self.rule_extras(r, path)
        if extras is not None:
            return extras
        if (r.min_count is None) != (r.within_days is None):
            given, absent = ("min_count", "within_days") if r.within_days is None else (
                "within_days", "min_count")
            self.problem((*path, given), f"a windowed rule needs both min_count and "
                         f"within_days; add {absent}")
        if r.min_count is not None and r.cap is not None:
            self.problem((*path, "cap"), "a windowed rule (min_count) scores its points once; "
                         "cap has no effect here, remove it")
        return IntentRule(
            name=r.name,
            events=self.events(r.event, (*path, "event")),
            points=0.0 if r.points is None else r.points,
            where=None if r.when is None else self.condition(r.when, (*path, "when"), "event"),
            cap=r.cap,
            min_count=r.min_count,
            within_days=r.within_days,
            level=r.level,
            description=r.description,
            **self.intent_rule_v2(r, path),
        )

    def events(self, names: list[str], path: Path) -> tuple[str, ...]:
        if not names:
            self.problem(path, "name at least one event type")
        for i, name in enumerate(names):
            if name not in self.event_types:
                where = path if len(names) == 1 and not isinstance(
                    self.located_value(path), list) else (*path, i)
                self.problem(where, f'unknown event "{name}"{_suggest(name, self.event_types)}; '
                             "declare custom types under event_types")
        return tuple(names)

    def located_value(self, path: Path) -> Any:
        node: Any = self.located.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node

    # -- mql, grades, exit ---------------------------------------------------------------

    def mql(self, doc: d.MqlDoc, scores: dict[str, Score]) -> MqlDefinition:
        thresholds = tuple(
            self.minimums(t, ("mql", "thresholds", i) if isinstance(
                self.located_value(("mql", "thresholds")), list) else ("mql", "thresholds"))
            for i, t in enumerate(doc.thresholds)
        )
        self.unique([c.name for c in doc.criteria], ("mql", "criteria"), "criterion")
        criteria = tuple(
            Criterion(c.name, self.condition(c.when, ("mql", "criteria", i, "when"), "criteria"),
                      c.description)
            for i, c in enumerate(doc.criteria)
        )
        self.unique([f.name for f in doc.fast_track], ("mql", "fast_track"), "fast-track rule")
        fast_track = tuple(
            FastTrack(
                f.name,
                self.events(f.event, ("mql", "fast_track", i, "event")),
                None if f.when is None
                else self.condition(f.when, ("mql", "fast_track", i, "when"), "event"),
                f.within_days,
                f.description,
            )
            for i, f in enumerate(doc.fast_track)
        )
        if not (thresholds or criteria or fast_track):
            self.problem(("mql",), "the MQL definition is empty; give thresholds, criteria "
                         "or fast_track")
        self.unique([c.name for c in doc.exclude], ("mql", "exclude"), "exclusion")
        exclude = tuple(
            Criterion(c.name, self.condition(c.when, ("mql", "exclude", i, "when"), "criteria"),
                      c.description)
            for i, c in enumerate(doc.exclude)
        )
        return MqlDefinition(thresholds, criteria, fast_track, exclude)

    def minimums(self, raw: dict[str, float], path: Path) -> Minimums:
        if not raw:
            self.problem(path, "name at least one score and its threshold")
        for name in raw:
            if name not in self.score_names:
                self.problem((*path, name), f'unknown score "{name}"'
                             f"{_suggest(name, self.score_names)}; scores are "
                             f"{', '.join(self.score_names)}", key=True)
        return tuple((name, float(value)) for name, value in raw.items())

    def outcomes(self, doc: d.OutcomesDoc) -> Outcomes:
        if doc.influenced_within_days < doc.sourced_within_days:
            self.problem(("outcomes", "influenced_within_days"), "must be at least "
                         f"sourced_within_days ({doc.sourced_within_days:g})")
        return Outcomes(doc.sourced_within_days, doc.influenced_within_days)

    def grades(self, doc: d.GradesDoc | None, scores: dict[str, Score]) -> Grades | None:
        if doc is None:
            return None
        for key, name in (("fit_score", doc.fit_score), ("intent_score", doc.intent_score)):
            if name not in scores:
                self.problem(("grades", key), f'unknown score "{name}"'
                             f"{_suggest(name, scores)}")
        fit = self.bands(doc.fit, ("grades", "fit"), "ABCDEF")
        intent = self.bands(doc.intent, ("grades", "intent"), "123456")
        floor_fit = "ABCDEF"[min(len(fit), 5)]
        floor_intent = "123456"[min(len(intent), 5)]
        return Grades(doc.fit_score, fit, doc.intent_score, intent, floor_fit, floor_intent)

    def bands(
        self, raw: dict[str, float], path: Path, labels: str
    ) -> tuple[tuple[str, float], ...]:
        bands = tuple((str(k), float(v)) for k, v in raw.items())
        expected = labels[: len(bands)]
        if not bands:
            self.problem(path, f"name at least one band ({labels[0]})")
        elif len(bands) >= len(labels):
            self.problem(path, f"at most {len(labels) - 1} bands; the band below the last "
                         "is everything under its minimum")
        elif "".join(b for b, _ in bands) != expected:
            self.problem(path, f"name the bands {', '.join(expected)} in that order, each with "
                         f"its minimum score (the band below {expected[-1:] or labels[0]} is "
                         f"{labels[len(bands)] if len(bands) < len(labels) else 'the rest'})")
        elif any(a[1] < b[1] for a, b in itertools.pairwise(bands)):
            self.problem(path, "band minimums must not increase from the best band down")
        return bands

    # -- conditions ----------------------------------------------------------------------

    def condition(self, raw: Any, path: Path, scope: Scope) -> Condition:
        shapes = "{field, op, value}, {all: [...]}, {any: [...]} or {not: ...}"
        if scope == "criteria":
            shapes = "{field, op, value}, {activity, min_count, within_days}, " + shapes[19:]
        if not isinstance(raw, dict):
            self.problem(path, f"expected a condition: {shapes}")
            return All(())
        for combinator, cls in (("all", All), ("any", AnyOf)):
            if combinator in raw:
                self.only(raw, {combinator}, path)
                items = raw[combinator]
                if not isinstance(items, list) or not items:
                    self.problem((*path, combinator), "expected a non-empty list of conditions")
                    return All(())
                return cls(tuple(self.condition(c, (*path, combinator, i), scope)
                                 for i, c in enumerate(items)))
        if "not" in raw:
            self.only(raw, {"not"}, path)
            return Not(self.condition(raw["not"], (*path, "not"), scope))
        if "activity" in raw:
            if scope != "criteria":
                self.problem((*path, "activity"), "activity conditions belong in mql.criteria",
                             key=True)
                return All(())
            return self.activity(raw, path)
        if "field" in raw:
            return self.compare(raw, path, scope)
        self.problem(path, f"expected a condition: {shapes}")
        return All(())

    def only(self, raw: dict[str, Any], allowed: set[str], path: Path) -> None:
        for key in raw:
            if key not in allowed:
                self.problem((*path, key), f"unknown key (expected {', '.join(sorted(allowed))})"
                             f"{_suggest(str(key), allowed)}", key=True)

    def activity(self, raw: dict[str, Any], path: Path) -> Activity:
        self.only(raw, {"activity", "where", "min_count", "within_days", *_EXTRA_KEYS,
                         *CALENDAR_KEYS}, path)
        events = raw["activity"] if isinstance(raw["activity"], list) else [raw["activity"]]
        names = self.events([str(e) for e in events], (*path, "activity"))
        min_count = raw.get("min_count", 1)
        if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
            self.problem((*path, "min_count"),
                         f"expected a whole number >= 1, got {as_yaml(min_count)}")
            min_count = 1
        within = raw.get("within_days")
        calendar = self.calendar_window(raw, path)
        if calendar is not None:
            within = 0.0  # the calendar window decides; within_days is not read
        elif within is None and ("within" in raw or "within_business_days" in raw):
            within = 30.0  # an invalid calendar window, reported by calendar_window
        elif within is None:
            self.problem(path, "within_days is required (how recent the activity must be)")
            within = 30.0
        elif not _is_number(within) or within <= 0:
            self.problem((*path, "within_days"), f"expected a number > 0, got {as_yaml(within)}")
            within = 30.0
        where = raw.get("where")
        measure, min_count = self.measure(raw, path, min_count, "contact", "min_count" in raw)
        self.sequence_alone(raw, path, measure, min_count)
        after = None if raw.get("after") is None else self.after(
            raw["after"], (*path, "after"), "activity", "where")
        if calendar is not None and (measure is not None or after is not None):
            self.problem(path, "a calendar window (within, within_business_days) counts "
                         "events only; measure distinct values, sums and sequences "
                         "over within_days")
        return Activity(
            names, min_count, float(within),
            None if where is None else self.condition(where, (*path, "where"), "event"),
            measure, after, calendar,
        )

    def compare(self, raw: dict[str, Any], path: Path, scope: Scope) -> Compare:
        self.only(raw, {"field", "op", "value", "case_sensitive"}, path)
        field, op = raw.get("field"), raw.get("op")
        if not isinstance(field, str):
            self.problem((*path, "field"), f"expected a field name, got {as_yaml(field)}")
            field = "?"
        else:
            self.check_field(field, (*path, "field"), scope)
        if op not in OPS:
            self.problem((*path, "op") if "op" in raw else path,
                         f"unknown operator {as_yaml(op)}{_suggest(str(op), OPS)}; operators are "
                         f"{', '.join(OPS)}" if op is not None else "op is required")
            return Compare(field, "exists")
        case = raw.get("case_sensitive", False)
        if not isinstance(case, bool):
            self.problem((*path, "case_sensitive"),
                         f"expected true or false, got {as_yaml(case)}")
            case = False
        value = self.operand(str(op), raw, path, case)
        return Compare(field, str(op), value, case)

    def operand(self, op: str, raw: dict[str, Any], path: Path, case: bool) -> Any:
        where = (*path, "value")
        if op in NAMED_LIST_OPS:
            return self.named_list(op, raw, path)
        if op in PRESENCE_OPS:
            if "value" in raw:
                self.problem(where, f"{op} takes no value", key=True)
            return None
        if "value" not in raw:
            self.problem(path, f"value is required for {op}")
            return None
        value = raw["value"]
        if op == "between":
            if not (isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))):
                self.problem(where, f"between expects [low, high] numbers, got {as_yaml(value)}")
                return (0, 0)
            if value[0] > value[1]:
                self.problem(where, f"between expects low <= high, got {as_yaml(value)}")
            return (value[0], value[1])
        if op in LIST_OPS:
            if not isinstance(value, list) or not value:
                self.problem(where, f"{op} expects a non-empty list, got {as_yaml(value)}")
                return ()
            if any(isinstance(v, dict | list) for v in value):
                self.problem(where, f"{op} expects a list of plain values")
            return tuple(value)
        if op in NUMERIC_OPS and not _is_number(value):
            self.problem(where, f"{op} expects a number, got {as_yaml(value)}")
            return 0
        if op in TEXT_OPS and not isinstance(value, str):
            self.problem(where, f"{op} expects text, got {as_yaml(value)}")
            return ""
        if op == "matches":
            try:
                re.compile(value, 0 if case else re.IGNORECASE)
            except re.error as exc:
                self.problem(where, f"not a valid regular expression: {exc}")
                return ""
        if isinstance(value, dict | list) or value is None:
            self.problem(where, f"{op} expects one plain value, got {as_yaml(value)}")
            return ""
        return value

    def check_field(self, field: str, path: Path, scope: Scope) -> None:
        prefix, _, name = field.partition(".")
        if scope == "event":
            if prefix in ("contact", "account", "score") and name:
                home = "mql.criteria" if prefix == "score" else "fit rules or mql.criteria"
                self.problem(path, f"conditions on events test event properties (url, asset, "
                             f"utm_source ...); {field} belongs in {home}")
            elif not _PROPERTY.match(field):
                self.problem(path, f"{as_yaml(field)} is not a property name")
            return
        tables: dict[str, Iterable[str]] = {
            "contact": self.contact_fields,
            "account": self.account_fields,
        }
        if scope in ("criteria", "nurture"):
            tables["score"] = self.score_names
        if scope == "nurture":  # issue 21: what a nurture track's `when` reads of the lead
            from mql.model.nurture import LEAD_FIELDS

            tables["lead"] = LEAD_FIELDS
        if prefix not in tables or not name:
            choices = " or ".join(f"{t}.<name>" for t in tables)
            self.problem(path, f'unknown field "{field}"; fields here are {choices}')
        elif name not in tables[prefix]:
            hint = _suggest(name, tables[prefix])
            extra = ("" if prefix in ("score", "lead")
                     else f"; declare custom ones under fields.{prefix}")
            self.problem(path, f'unknown {prefix} field "{name}"{hint}{extra}')


    # -- aggregates and sequences in windows (model language v2) -------------------------

    def rule_extras(self, r: d.IntentRuleDoc, path: Path) -> IntentRule | None:
        """An intent rule with a measure (distinct, sum, max) or a sequence (after): always
        windowed (`within_days` required, `cap` refused); None for any other rule."""
        raw = {k: getattr(r, k) for k in _EXTRA_KEYS if getattr(r, k) is not None}
        if not raw:
            return None
        self.window_needs(raw, r.within_days, r.cap, path)
        self.windowed_v2([k for k in V2_KEYS if getattr(r, k) is not None], path)
        if self.intent_points(self.located_value(path), path) is not None:
            self.problem((*path, "points_per"), "a windowed rule scores its points once while "
                         "the window holds; points_per has no effect here, remove it", key=True)
        if r.min_count is not None:
            raw["min_count"] = r.min_count
        measure, min_count = self.measure(raw, path, r.min_count or 1, r.level,
                                          r.min_count is not None)
        self.sequence_alone(raw, path, measure, min_count)
        after = None if r.after is None else self.after(r.after, (*path, "after"), "event", "when")
        return IntentRule(
            name=r.name, events=self.events(r.event, (*path, "event")),
            points=0.0 if r.points is None else r.points,
            where=None if r.when is None else self.condition(r.when, (*path, "when"), "event"),
            cap=None, min_count=min_count, within_days=r.within_days or 30.0, level=r.level,
            description=r.description, measure=measure, after=after)

    def measure(self, raw: dict[str, Any], path: Path, min_count: int, level: str,
                 counted: bool) -> tuple[Measure | None, int]:
        """The `distinct`, `sum` or `max` of a window (at most one), and the count it needs
        (`min_count` for distinct values; sum and max take `at_least` instead)."""
        given = [k for k in ("distinct", "sum", "max", "avg") if raw.get(k) is not None]
        at_least = raw.get("at_least")
        if len(given) > 1:
            self.problem((*path, given[1]), f"a window measures one thing; choose {given[0]} or "
                         f"{given[1]}", key=True)
        if not given:
            if at_least is not None:
                self.problem((*path, "at_least"), "at_least is the line of a sum, max or "
                             "avg: add sum, max or avg: <property> (count events with "
                             "min_count)", key=True)
            return None, min_count
        kind = given[0]
        field = raw[kind]
        if not isinstance(field, str) or not _PROPERTY.match(field):
            self.problem((*path, kind), f"{kind} names an event property (such as seconds or "
                         f"url), got {as_yaml(field)}")
            field = "?"
        elif kind == "distinct" and field == CONTACT and level != "account":
            self.problem((*path, kind), "distinct contacts count an account's events: use it in "
                         "an intent rule with level: account")
        elif field == CONTACT and kind != "distinct":
            self.problem((*path, kind), f"{kind} needs a numeric event property; contact is "
                         "the event's contact")
        if kind == "distinct":
            if at_least is not None:
                self.problem((*path, "at_least"), "distinct counts values: say how many with "
                             "min_count", key=True)
            return Measure("distinct", field), min_count
        if counted:
            self.problem((*path, "min_count"), f"a {kind} is compared with at_least, not "
                         "min_count; remove min_count", key=True)
        if at_least is None:
            self.problem((*path, kind), f"at_least is required with {kind} (the line the {kind} "
                         "must reach, > 0)")
            at_least = 1.0
        elif not _is_number(at_least) or at_least <= 0:
            self.problem((*path, "at_least"), f"expected a number > 0, got {as_yaml(at_least)}")
            at_least = 1.0
        return Measure("sum" if kind == "sum" else "max" if kind == "max" else "avg", field,
                       float(at_least)), 1

    def window_needs(self, raw: dict[str, Any], within: Any, cap: Any, path: Path) -> None:
        """A measured or sequence rule is windowed: it needs `within_days`, takes no cap."""
        if within is None:
            self.problem(path, f"within_days is required with {', '.join(raw)} (the window, "
                         "in days)")
        if cap is not None:
            self.problem((*path, "cap"), "a windowed rule scores its points once; cap has no "
                         "effect here, remove it")

    def check_raw_window(self, rule: dict[str, Any], path: Path) -> None:
        """`rule_extras`'s checks on a raw intent rule, where its window keys have the
        right shapes (a wrong shape is the schema's problem, reported once)."""
        raw = {k: rule[k] for k in _EXTRA_KEYS if rule.get(k) is not None}
        count = rule.get("min_count")
        if not raw or any(not isinstance(raw.get(k, ""), str) for k in ("distinct", "sum",
                                                                        "max", "avg")):
            return
        if not _is_number(raw.get("at_least", 1)) or raw.get("at_least", 1) <= 0 or (
                count is not None and (not isinstance(count, int) or count < 1)):
            return
        self.window_needs(raw, rule.get("within_days"), rule.get("cap"), path)
        measure, min_count = self.measure({**raw, "min_count": count}, path, count or 1,
                                          str(rule.get("level", "contact")), count is not None)
        self.sequence_alone(raw, path, measure, min_count)
        if "after" in raw:
            self.after(raw["after"], (*path, "after"), "event", "when")

    def sequence_alone(self, raw: dict[str, Any], path: Path, measure: Measure | None,
                       min_count: int) -> None:
        """A sequence holds while its latest completed event is in the window: it takes
        no measure, and its count of earlier events is `after.min_count`."""
        if raw.get("after") is None:
            return
        if measure is not None:
            self.problem((*path, measure.kind), f"a sequence (after) cannot also take a "
                         f"{measure.kind}; use two rules", key=True)
        elif min_count != 1:
            self.problem((*path, "min_count"), "a sequence counts once; say how many earlier "
                         "events it needs with after.min_count", key=True)

    def after(self, raw: Any, path: Path, event_key: str, where_key: str) -> After:
        """The earlier events of a sequence: `{event_key: E, where_key: c, min_count: N,
        within_days: G}` (`activity`/`where` in conditions, `event`/`when` in intent rules)."""
        if not isinstance(raw, dict) or event_key not in raw:
            self.problem(path, f"expected the earlier events: {{{event_key}: E, {where_key}: "
                         "..., min_count: N, within_days: D}")
            return After(())
        self.only(raw, {event_key, where_key, "min_count", "within_days"}, path)
        kinds = raw[event_key] if isinstance(raw[event_key], list) else [raw[event_key]]
        names = self.events([str(e) for e in kinds], (*path, event_key))
        count = raw.get("min_count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            self.problem((*path, "min_count"),
                         f"expected a whole number >= 1, got {as_yaml(count)}")
            count = 1
        gap = raw.get("within_days")
        if gap is not None and (not _is_number(gap) or gap <= 0):
            self.problem((*path, "within_days"), f"expected a number > 0, got {as_yaml(gap)}")
            gap = None
        where = raw.get(where_key)
        return After(names, None if where is None else self.condition(where, (*path, where_key),
                                                                      "event"),
                     count, None if gap is None else float(gap))

    # -- external lists (mql.model.lists) -----------------------------------------------

    def named_list(self, op: str, raw: dict[str, Any], path: Path) -> NamedList:
        """The list an `in_list` / `not_in_list` condition names."""
        name = raw.get("value")
        if "value" not in raw:
            self.problem(path, f"value is required for {op}: the name of a list under lists:")
        elif not isinstance(name, str) or name not in self.lists:
            known = ", ".join(sorted(self.lists)) or "none; declare them under lists:"
            self.problem((*path, "value"), f"unknown list {as_yaml(name)}"
                         f"{_suggest(str(name), self.lists)}; lists are {known}")
        else:
            return self.lists[name]
        return NamedList(str(name), frozenset())

    # -- exits on conditions ------------------------------------------------------------

    def exit_rules(self, doc: d.ExitDoc | None) -> tuple[ExitRule, ...]:
        """`exit.when`: conditions (criteria-style) that move an MQL out at once."""
        if doc is None:
            return ()
        self.unique([r.name for r in doc.when], ("exit", "when"), "exit rule")
        out = []
        for i, r in enumerate(doc.when):
            path = ("exit", "when", i)
            if not r.reason.strip():
                self.problem((*path, "reason"), "say why, in the words a seller reads "
                             "(unsubscribed from our emails)")
            out.append(ExitRule(r.name, self.condition(r.when, (*path, "when"), "criteria"),
                                r.reason.strip(), r.to, r.description))
        return tuple(out)

    # -- calendar windows (mql.model.windows) -------------------------------------------

    def calendar_window(self, raw: dict[str, Any], path: Path) -> CalendarWindow | None:
        """The calendar window of an activity leaf (`within: this_quarter`,
        `within_business_days: 5`, optionally `calendar: TEAM`), None for `within_days`."""
        given = [k for k in ("within_days", "within", "within_business_days") if k in raw]
        if len(given) > 1:
            self.problem((*path, given[1]), f"give one of {', '.join(given)}", key=True)
            return None
        if not given or given[0] == "within_days":
            if "calendar" in raw:
                self.problem((*path, "calendar"), "calendar goes with within or "
                             "within_business_days", key=True)
            return None
        hours, team = WEEKDAYS, raw.get("calendar")
        if team is not None:
            teams = self.teams
            if not isinstance(team, str) or (teams is not None and team not in teams):
                known = ", ".join(sorted(teams or {})) or "none (declare routing.teams)"
                self.problem((*path, "calendar"), f"unknown team {as_yaml(team)}"
                             f"{_suggest(str(team), teams or {})}; teams are {known}")
                team = None
            elif teams is not None:
                from mql.model import build_handoff as h

                hours = h._hours(self, teams[team], ("routing", "teams", team))
        key = given[0]
        value = raw[key]
        if key == "within":
            if value not in CALENDAR_WINDOWS:
                hint = f" (for a number of days: within_days: {value})" if _is_number(
                    value) else ""
                self.problem((*path, key), f"expected {', '.join(CALENDAR_WINDOWS)}, got "
                             f"{as_yaml(value)}{hint}")
                return None
            if team is None:
                hours = BusinessHours("UTC", hours.days, hours.start, hours.end,
                                      hours.holidays)
            return CalendarWindow(CALENDAR_WINDOWS[value], 0, hours,  # type: ignore[arg-type]
                                  team)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 366:
            self.problem((*path, key), f"expected a whole number of days from 1 to 366, got "
                         f"{as_yaml(value)}")
            return None
        return CalendarWindow("business_days", value, hours, team)
    # -- points read from a field (issue 13): value tables, bins, points per unit --------

    def fit_rule(self, r: d.FitRuleDoc, path: Path) -> FitRule:
        raw = self.located_value(path)
        points_by, points_per = self.fit_rule_points(raw if isinstance(raw, dict) else {}, path)
        when = ALWAYS if r.when is None else self.condition(r.when, (*path, "when"), "fit")
        return FitRule(r.name, when, 0.0 if r.points is None else r.points, r.description,
                       points_by, points_per)

    def fit_rule_points(self, rule: dict[str, Any], path: Path
                        ) -> tuple[PointsBy | None, PointsPer | None]:
        """A fit rule gives `points` (with `when`), or `points_by`, or `points_per`."""
        given = [k for k in ("points", "points_by", "points_per") if rule.get(k) is not None]
        if len(given) > 1:
            self.problem((*path, given[1]), f"give one of points, points_by or points_per, "
                         f"not {' and '.join(given)}", key=True)
        if not given:
            self.problem(path, "points is required (or points_by, points_per)")
        if rule.get("when") is None and not (rule.get("points_by") or rule.get("points_per")):
            self.problem(path, "when is required")
        by = per = None
        if isinstance(rule.get("points_by"), dict):
            by = self.points_by(rule["points_by"], (*path, "points_by"), "fit")
        if isinstance(rule.get("points_per"), dict):
            per = self.points_per(rule["points_per"], (*path, "points_per"), "fit")
        return by, per

    def points_by(self, raw: dict[str, Any], path: Path, scope: Scope) -> PointsBy | None:
        field = raw.get("field")
        if not isinstance(field, str):
            return None  # the schema reports it
        self.check_field(field, (*path, "field"), scope)
        table, bins, default = raw.get("table"), raw.get("bins"), raw.get("default")
        if (table is None) == (bins is None):
            self.problem(path, "give either table: {value: points, ...} or bins: "
                         "[[low, high, points], ...]")
            return None
        if default is not None and not _is_number(default):
            return None  # the schema reports it
        if isinstance(table, dict):
            return self._table(field, table, default, path)
        if isinstance(bins, list):
            return self._bins(field, bins, default, path)
        return None

    def _table(self, field: str, table: dict[Any, Any], default: Any, path: Path
               ) -> PointsBy | None:
        entries: list[tuple[Any, float]] = []
        ok = True
        for key, points in table.items():
            where = (*path, "table", key)
            if key == "default":
                if default is not None:
                    self.problem(where, "default is given twice (in the table and beside it)",
                                 key=True)
                    ok = False
                elif not _is_number(points):
                    self.problem(where, f"expected a number, got {as_yaml(points)}")
                    ok = False
                else:
                    default = points
                continue
            if key is None or isinstance(key, dict | list):
                self.problem(where, f"a table key is one plain value, got {as_yaml(key)}",
                             key=True)
                ok = False
            elif not _is_number(points) or not math.isfinite(points):
                self.problem(where, f"expected a number of points, got {as_yaml(points)}")
                ok = False
            else:
                entries.append((key, float(points)))
        if not entries and ok:
            self.problem((*path, "table"), "name at least one value and its points")
        if not ok or not entries:
            return None
        return PointsBy(field, table=tuple(entries),
                        default=0.0 if default is None else float(default))

    def _bins(self, field: str, bins: list[Any], default: Any, path: Path) -> PointsBy | None:
        out: list[tuple[float, float, float]] = []
        shape = "expected [low, high, points] (numbers; low or high may be null for no limit)"
        previous: float | None = None
        if not bins:
            self.problem((*path, "bins"), "name at least one bin [low, high, points]")
            return None
        for i, item in enumerate(bins):
            where = (*path, "bins", i)
            if not (isinstance(item, list) and len(item) == 3
                    and all(v is None or _is_number(v) for v in item[:2])
                    and _is_number(item[2])):
                self.problem(where, f"{shape}, got {as_yaml(item)}")
                return None
            low = -math.inf if item[0] is None else float(item[0])
            high = math.inf if item[1] is None else float(item[1])
            if not math.isfinite(float(item[2])) or (item[0] is None and item[1] is None):
                self.problem(where, f"{shape}, got {as_yaml(item)}")
                return None
            if not low < high:
                self.problem(where, f"a bin needs low < high, got {as_yaml(item)}")
                return None
            if previous is not None and low < previous:
                self.problem(where, f"bins must be in increasing order without overlap: "
                             f"{as_yaml(item)} starts before the previous bin ends")
                return None
            previous = high
            out.append((low, high, float(item[2])))
        return PointsBy(field, bins=tuple(out),
                        default=0.0 if default is None else float(default))

    def points_per(self, raw: dict[str, Any], path: Path, scope: Scope) -> PointsPer | None:
        field, each, points, cap = (raw.get(k) for k in ("field", "each", "points", "cap"))
        if not isinstance(field, str):
            return None  # the schema reports it
        self.check_field(field, (*path, "field"), scope)
        each = 1.0 if each is None else each
        if not (_is_number(each) and each > 0 and _is_number(points)
                and (cap is None or (_is_number(cap) and cap >= 0))):
            return None  # the schema reports it
        return PointsPer(field, float(each), float(points),  # type: ignore[arg-type]
                         None if cap is None else float(cap))

    # -- weighted totals and floors (issue 13) --------------------------------------------

    def total_weights(self, raw: dict[str, float] | None, scores: Mapping[str, Any]
                      ) -> Minimums:
        """`total: {fit: 1.0, intent: 1.0, product: 0.5}`: the weight of each score."""
        if raw is None:
            return DEFAULT_TOTAL
        if not raw:
            self.problem(("total",), "name at least one score and its weight")
        for name in raw:
            if name not in scores:
                names = [n for n in scores if n != TOTAL]
                self.problem(("total", name), f'unknown score "{name}"{_suggest(name, names)}; '
                             f"total weighs the scores {', '.join(names)}", key=True)
        return tuple((name, float(weight)) for name, weight in raw.items())

    def floor(self, floor: float | None, most: float | None, path: Path) -> float | None:
        if floor is not None and most is not None and floor > most:
            self.problem((*path, "floor"), f"floor must not be above max ({most:g}), "
                         f"got {floor:g}")
        return floor

    # -- per-rule decay, lifespans, once per, diminishing repeats (issue 13) ---------------

    def intent_rule_v2(self, r: d.IntentRuleDoc, path: Path) -> dict[str, Any]:
        """The keys of an intent rule that issue 13 added, checked together."""
        if r.min_count is not None:
            self.windowed_v2([k for k in V2_KEYS if getattr(r, k) is not None], path)
        return {
            "decay": None if r.decay is None else self.decay(r.decay, (*path, "decay")),
            "expires_after_days": r.expires_after_days,
            "once_per": r.once_per,
            "each_repeat": r.each_repeat,
            "points_per": self.intent_points(self.located_value(path), path),
        }

    def intent_points(self, rule: Any, path: Path) -> PointsPer | None:
        """An intent rule gives `points`, or `points_per` (points read from a property of
        each event: `{field: minutes, each: 1, points: 2, cap: 20}`)."""
        if not isinstance(rule, dict):
            return None
        per = rule.get("points_per")
        if rule.get("points") is None and per is None:
            self.problem(path, "points is required")
        if per is None:
            return None
        if rule.get("points") is not None:
            self.problem((*path, "points_per"), "give one of points or points_per, not both",
                         key=True)
        for key in _PER_ALONE:
            if rule.get(key) is not None:
                self.problem((*path, key), f"points_per reads each event's own points; {key} "
                             "cannot be combined with it", key=True)
        if not isinstance(per, dict):
            return None
        field = per.get("field")
        if isinstance(field, str) and field.startswith("properties."):
            per = {**per, "field": field.removeprefix("properties.")}  # the spelling
        return self.points_per(per, (*path, "points_per"), "event")

    def windowed_v2(self, keys: list[str], path: Path) -> None:
        for key in keys:
            self.problem((*path, key), f"a windowed rule (min_count) scores its points once "
                         f"while the window holds; {key} has no effect here, remove it",
                         key=True)


V2_KEYS = ("decay", "expires_after_days", "once_per", "each_repeat")
_PER_ALONE = ("min_count", "expires_after_days", "once_per", "each_repeat")
