"""Learning readable points: weight of evidence and bins worked out by hand, leakage
control, the small-data path, and a learned file that reproduces its own evidence."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from mql.errors import ConfigError
from mql.learning.binning import bin_categorical, bin_numeric, woe
from mql.learning.calibrate import nice_step
from mql.learning.dataset import LeadRow, check_fields
from mql.learning.scorecard import SCALE, SMALL_DATA, calibrate, learn, out_of_fold
from mql.learning.write import model_text
from mql.service import learning, scoring

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "examples" / "sample" / "lead-export-outcomes.csv"
MAPPING = ROOT / "examples" / "mappings" / "lead-export.yaml"
HAND = ROOT / "examples" / "models" / "lead-export.yaml"


def _rows(spec: list[tuple[dict[str, object], int, int]]) -> list[LeadRow]:
    """`count` leads with these attributes, the first `positives` of them with the outcome."""
    rows = []
    for attributes, count, positives in spec:
        for i in range(count):
            rows.append(LeadRow(f"p{len(rows)}@x.example", attributes, (), i < positives))
    return rows


# The weight of evidence of a value compares its share of the positives with its share of
# the negatives, half a lead added to every cell: here vp holds 30 of 40 positives and 20
# of 160 negatives.
def test_weight_of_evidence_of_a_value_table_by_hand() -> None:
    values = ["vp"] * 50 + ["manager"] * 150
    labels = [1] * 30 + [0] * 20 + [1] * 10 + [0] * 140
    binning = bin_categorical(values, labels, min_count=20)
    manager, vp = binning.groups
    assert (vp.values, vp.count, vp.positives) == (("vp",), 50, 30)
    assert vp.woe == pytest.approx(math.log((30.5 / 41) / (20.5 / 161)))     # 1.7653
    assert manager.woe == pytest.approx(math.log((10.5 / 41) / (140.5 / 161)))  # -1.2262
    assert woe(30, 20, 40, 160, 2) == vp.woe
    assert binning.group_of("VP") is vp  # values compare case-insensitively
    assert binning.group_of("intern").count == 0  # unseen and no default group: no points


# A rare value has no evidence of its own: it joins the default group with the missing ones.
def test_rare_and_missing_values_share_the_default_group() -> None:
    binning = bin_categorical(["a"] * 25 + ["b"] * 3 + [None] * 2, [1] * 5 + [0] * 25,
                              min_count=20)
    assert [(g.values, g.count, g.default) for g in binning.groups] == [
        (("a",), 25, False), ((), 5, True)]
    assert binning.group_of("b") is binning.groups[1]
    assert binning.group_of(None) is binning.groups[1]


# Bins of a number: quantile pre-bins merged until the rate only rises, each bin holding
# a quarter of the leads here. 1-3: 0 of 3; 4-5: 1 of 2; 6-8: 3 of 3; a blank is its own
# (default) group.
def test_monotone_bins_by_hand() -> None:
    binning = bin_numeric([1, 2, 3, 4, 5, 6, 7, 8, None], [0, 0, 0, 1, 0, 1, 1, 1, 1],
                          min_share=0.25)
    assert [(g.low, g.high, g.count, g.positives, g.default) for g in binning.groups] == [
        (None, 4.0, 3, 0, False), (4.0, 6.0, 2, 1, False), (6.0, None, 3, 3, False),
        (None, None, 1, 1, True)]
    assert binning.group_of(5.5).count == 2
    assert binning.group_of("n/a").default


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.booleans()), min_size=20, max_size=120))
def test_bins_are_monotone_and_large_enough(pairs: list[tuple[int, bool]]) -> None:
    values = [v for v, _ in pairs]
    labels = [int(y) for _, y in pairs]
    binning = bin_numeric(values, labels, min_share=0.1)
    groups = [g for g in binning.groups if not g.default]
    assert sum(g.count for g in groups) == len(values)
    rates = [g.rate for g in groups]
    assert rates == sorted(rates) or rates == sorted(rates, reverse=True)
    if len(groups) > 1:
        assert all(g.count >= 0.1 * len(values) for g in groups)
    for value in values:  # every value falls in exactly one bin
        assert sum((g.low is None or value >= g.low) and (g.high is None or value < g.high)
                   for g in groups) == 1


# A field filled only for the leads that converted was filled after the hand-off: refused.
# A field named like a sales field is left out unless asked for, and then warned about.
def test_leakage_fields_are_refused_or_warned() -> None:
    rows = _rows([({"contact.seniority": "vp", "contact.closed_reason": "signed"}, 40, 38),
                  ({"contact.seniority": "manager"}, 60, 2),
                  ({"contact.seniority": "vp", "account.status": "prospect"}, 10, 1),
                  ({"contact.seniority": "manager", "account.status": "customer"}, 10, 0)])
    checked = check_fields(rows)
    assert checked.used == ("contact.seniority",)
    skipped = dict(checked.skipped)
    assert "leakage" in skipped["contact.closed_reason"]
    assert "sales-entered" in skipped["account.status"]
    asked = check_fields(rows, requested=["account.status", "contact.closed_reason"])
    assert asked.used == ("account.status",)
    assert any("account.status: looks sales-entered" in w for w in asked.warnings)
    assert any("contact.closed_reason: refused" in w for w in asked.warnings)


def test_learning_needs_both_outcomes() -> None:
    with pytest.raises(ConfigError, match="needs leads with and without"):
        learn(_rows([({"contact.seniority": "vp"}, 30, 0)]), ["contact.seniority"])


# The calibration map: score bands with their outcome rate, made monotone.
def test_calibration_is_a_monotone_step_function() -> None:
    cal = calibrate([0, 0, 10, 10, 20, 20, 30, 30], [0, 1, 1, 1, 0, 0, 1, 1], bands=4)
    # bands 0: 1/2, 10: 2/2, 20: 0/2, 30: 2/2 -> pooled: 0.5, (10, 20): 0.5, 30: 1.0
    assert cal.steps == ((0.0, 0.5), (30.0, 1.0))
    assert cal.probability(-5) == 0.5 and cal.probability(29.9) == 0.5
    assert cal.probability(31) == 1.0


# Fewer than 100 leads with the outcome: the file says so, the points move towards the
# hand model's, and without a hand model they are what the data says.
def test_small_data_is_said_and_shrunk_towards_the_hand_model() -> None:
    rows = _rows([({"contact.seniority": "vp"}, 100, 30), ({"contact.seniority": "manager"},
                                                           300, 20)])
    plain = learn(rows, ["contact.seniority"], outcome="sql")
    assert plain.small_data and plain.positives == 50 < SMALL_DATA
    assert plain.shrink == 1.0
    def prior(_field: str, _members: object) -> float:
        return 0.0
    shrunk = learn(rows, ["contact.seniority"], outcome="sql", prior=prior)
    assert shrunk.shrink == pytest.approx(50 / 150)
    vp_plain = plain.attributes[0].points[1]
    vp_shrunk = shrunk.attributes[0].points[1]
    assert 0 < vp_shrunk < vp_plain
    text = model_text(shrunk, name="learned", version="1", source="a test")
    assert "SMALL DATA: only 50 leads became SQL" in text
    assert "learned weight 0.33" in text
    assert "100 leads, 30 became SQL (30.0%), lift 2.40 [" in text  # vp: 30/100 over 50/400


def _evidence(text: str) -> list[tuple[str, int, int]]:
    return [(m[0], int(m[1]), int(m[2])) for m in re.findall(
        r"^\s+(\S.*?): -?\d+\s+# (\d+) leads, (\d+) became SQL", text, re.M)]


# The learned file is a model: it validates, and scoring the export with it gives every
# lead the total the learner computed; each value's evidence counts the leads the
# scorer puts in that value.
def test_learned_file_validates_and_reproduces_its_evidence(tmp_path: Path) -> None:
    hand = scoring.load_model_file(HAND)
    run = learning.learn_from_file(EXPORT, outcome="sql", outcome_column="SQL",
                                   mapping=str(MAPPING), hand=hand, version="t")
    path = tmp_path / "candidate.yaml"
    path.write_text(run.text)
    model = scoring.load_model_file(path)
    assert set(model.scores) == {"fit", "intent", "engagement"}
    assert any("contact.Won" in w and "sales-entered" in w for w in run.card.warnings)
    from datetime import UTC, datetime
    scored = scoring.score_files(model, scoring.Inputs(EXPORT, None, None, mapping=str(MAPPING)),
                                 at=datetime(2026, 1, 1, tzinfo=UTC))
    totals = {d.contact: d.total for d in scored.decisions}
    assert len(totals) == len(run.rows) == 1030
    for row in run.rows:
        assert totals[row.key] == pytest.approx(run.card.total(row))
    # the seniority table's evidence, counted again from the rows
    seniority = next(r for r in run.card.attributes if r.field == "contact.seniority")
    for group in seniority.binning.groups:
        if group.default:
            continue
        members = [r for r in run.rows if str(r.attributes.get("contact.seniority")).lower()
                   == group.values[0].lower()]
        assert (len(members), sum(r.label for r in members)) == (group.count, group.positives)
        assert f'"{group.values[0]}": ' in run.text
    assert ("c_level", 132, 23) in {(v.strip('"'), n, p) for v, n, p in _evidence(run.text)}


# Which way a number's bins go is read from the ranks of its values: one giant company
# without the outcome must not turn "bigger converts more" upside down.
def test_one_huge_value_does_not_flip_the_direction() -> None:
    values = [10] * 40 + [100] * 40 + [1000] * 40 + [400_000]
    labels = [0] * 36 + [1] * 4 + [0] * 28 + [1] * 12 + [0] * 20 + [1] * 20 + [0]
    binning = bin_numeric(values, labels, min_share=0.05)
    rates = [round(g.rate, 2) for g in binning.groups]
    assert rates == [0.1, 0.3, 0.49]  # 4/40, 12/40, 20/41: rising, the giant in the last


# The file's MQL line is found as `mql calibrate` finds one: the change point of conversion
# over the learned totals. VPs convert at 60%, managers at 6.7% (base rate 20%): the line
# is the first candidate above the managers' total, so every VP qualifies and no manager
# does (the former rule, the first band at twice the base rate, sat at the VPs' total).
def test_learned_threshold_is_calibrates_change_point() -> None:
    rows = _rows([({"contact.seniority": "vp"}, 50, 30),
                  ({"contact.seniority": "manager"}, 150, 10)])
    run = learning.learn_rows(rows, outcome="won", source="t", version="1")
    vp, manager = (run.card.total(rows[0]), run.card.total(rows[-1]))
    assert manager < vp
    found = re.search(r"thresholds:\n\s+- \{total: (-?[\d.]+)\}", run.text)
    assert found is not None
    line = float(found.group(1))
    step = nice_step(manager, vp)
    assert line == pytest.approx(math.floor(manager / step) * step + step)
    assert manager < line <= vp
# The calibration map is read from out-of-fold totals. By hand: one fold held out, the
# lead's total moves by exactly the difference the fold's weights make to its log-odds,
# in points; with one fold there is nothing to hold out and the totals stay.
def test_out_of_fold_totals_are_the_totals_a_model_without_the_fold_gives() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] + rng.normal(size=200) > 0).astype(int)
    full = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    totals = SCALE * (x @ full.coef_[0])
    groups = [f"a{i % 40}" for i in range(200)]
    held = out_of_fold(x, y, 1.0, full, totals, groups, folds=2)
    split = StratifiedGroupKFold(n_splits=2, shuffle=True, random_state=0)
    inside, outside = next(split.split(x, y, groups=groups))
    fold = LogisticRegression(C=1.0, max_iter=2000).fit(x[inside], y[inside])
    expected = SCALE * (x[outside] @ fold.coef_[0] + fold.intercept_[0] - full.intercept_[0])
    assert np.allclose(held[outside], expected)
    assert out_of_fold(x, y, 1.0, full, totals, groups, folds=1) is totals


# Account page views: an account rule counts every page view at the company, the
# lead's own and colleagues' and anonymous visitors' alike. Rows that carry exactly that
# (`account_wide`) may learn it; rows that carry only the anonymous ones may not, since
# the rule would then count more than was measured.
def test_account_page_views_are_learned_only_from_account_wide_rows() -> None:
    rows = []
    for i in range(400):
        busy = i % 2 == 0
        views = (("account:page_view", 3.0), ("account:page_view", 9.0)) if busy else ()
        rows.append(LeadRow(f"p{i}@x.example", {"contact.seniority": "vp"},
                            (*views, ("form_submit", 1.0), ("page_view", 2.0)),
                            (i % 10 < 4) if busy else (i % 10 < 1)))
    wide = learn(rows, [], outcome="sql", account_wide=True)
    narrow = learn(rows, [], outcome="sql")
    assert "account:page_view" in {t.kind for t in wide.touches}
    assert "account:page_view" not in {t.kind for t in narrow.touches}
    rule = next(t for t in wide.touches if t.kind == "account:page_view")
    assert rule.level == "account" and rule.event == "page_view" and rule.per_touch > 0


def _touch_rows(recent_age: float, old_age: float) -> list[LeadRow]:
    # 100 leads touched `recent_age` days before the decision (60 convert), 100 touched
    # `old_age` days before it (10 convert), 200 never touched (20 convert)
    rows = []
    for n in range(400):
        age = recent_age if n < 100 else old_age if n < 200 else None
        label = n < 60 or 100 <= n < 110 or 200 <= n < 220
        rows.append(LeadRow(f"p{n}@c{n}.example", {"account.domain": f"c{n}.example"},
                            (("webinar_attended", age),) if age is not None else (), label))
    return rows


def test_the_half_life_is_chosen_by_out_of_fold_log_loss() -> None:
    # a touch that only matters when recent: the shortest half-life separates the recent
    # from the old best, held out as well as fitted
    card = learn(_touch_rows(2.0, 100.0), [], outcome="sql")
    [rule] = card.touches
    assert rule.half_life_days == 7.0
    assert rule.chosen.startswith("half-life 7 days and cap at the ")
    assert "chosen by 5-fold out-of-fold log loss" in rule.chosen
    assert "the lowest of 20 pairs" in rule.chosen
    text = model_text(card, name="t", version="1", source="test", threshold=0.0)
    assert f"# {rule.chosen}" in text
    # a touch whose age does not matter (both groups 100 and 102 days back, and the
    # converting ones touched longer ago): the longest half-life keeps the most of it
    card = learn(_touch_rows(102.0, 100.0), [], outcome="sql")
    assert card.touches[0].half_life_days == 120.0
