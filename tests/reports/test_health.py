"""The health band's verdicts at its edges (13%-27% healthy, under 10% too loose, over 35%
too strict, as the issue states them), and their order as the rate rises."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mql.analytics.health import judge_mql_to_sql, judge_trigger
from mql.model.reports import Band, HealthBands

BANDS = HealthBands()
ORDER = ["too_loose", "below", "healthy", "above", "too_strict"]


@pytest.mark.parametrize(("rate", "position"), [
    (0.0, "too_loose"), (0.099, "too_loose"), (0.10, "below"), (0.129, "below"),
    (0.13, "healthy"), (0.27, "healthy"), (0.271, "above"), (0.35, "above"),
    (0.351, "too_strict"), (1.0, "too_strict"),
])
def test_mql_to_sql_verdict_at_the_edges_of_the_band(rate: float, position: str) -> None:
    assert judge_mql_to_sql(rate, 100, BANDS).position == position


def test_high_intent_and_content_triggers_have_their_own_bands() -> None:
    assert judge_trigger("high_intent", 0.5, 100, BANDS).position == "healthy"
    assert judge_trigger("high_intent", 0.2, 100, BANDS).position == "below"
    assert judge_trigger("content", 0.2, 100, BANDS).position == "above"
    assert judge_trigger("content", 0.05, 100, BANDS).words == (
        "content MQLs convert at 5%, within 5%-15%")


def test_a_small_sample_says_so_and_no_sample_says_the_cohorts_are_open() -> None:
    assert judge_mql_to_sql(0.2, 12, BANDS).words.endswith(
        "(only 12 mature MQLs: read with care)")
    assert judge_mql_to_sql(None, 0, BANDS).words == (
        "no mature MQLs yet: the cohorts are still open")


def test_bands_that_contradict_each_other_are_refused() -> None:
    with pytest.raises(ValueError, match="too_loose <= mql_to_sql low"):
        HealthBands(mql_to_sql=Band(0.05, 0.2))


@given(st.floats(0, 1), st.floats(0, 1))
def test_a_higher_rate_never_gets_a_looser_verdict(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert ORDER.index(judge_mql_to_sql(low, 100, BANDS).position) <= ORDER.index(
        judge_mql_to_sql(high, 100, BANDS).position)
