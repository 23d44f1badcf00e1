"""The rule models at their edges, each share worked out by hand from docs/attribution.md
("The models, in a marketer's words" and "Rules of the positions")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from mql.attribution.journeys import Journey, Touch
from mql.attribution.rules import shares
from mql.model.attribution import AttributionSettings

T0 = datetime(2026, 3, 1, tzinfo=UTC)
S = AttributionSettings()


def days(channels: str, **times: datetime) -> Journey:
    """One touch a day from T0, a conversion of 1."""
    touches = tuple(Touch(c, T0 + timedelta(days=i)) for i, c in enumerate(channels.split()))
    return Journey("j", touches, conversions=1, **times)


def weighted(*weights: float) -> Journey:
    return Journey("acct", tuple(Touch(f"c{i}", weight=w) for i, w in enumerate(weights)),
                   conversions=1)


def test_last_non_direct_credits_a_last_touch_that_is_not_direct() -> None:
    # email then paid search: the last touch is not direct, it takes everything
    assert shares("last_non_direct", days("email paid_search"), S) == [0.0, 1.0]
    # direct, email, direct: the email in the middle is the last non-direct touch
    assert shares("last_non_direct", days("direct email direct"), S) == [0.0, 1.0, 0.0]


def test_role_weights_that_are_all_not_one_still_weigh() -> None:
    # linear 1/2 each, times 2 and 3: 2/5 and 3/5
    assert shares("linear", weighted(2.0, 3.0), S) == pytest.approx([0.4, 0.6], abs=1e-12)


def test_role_weights_under_one_weigh_too() -> None:
    # linear 1/2 each, times 0.5 and 0.25: 0.25 and 0.125 of 0.375, so 2/3 and 1/3
    assert shares("linear", weighted(0.5, 0.25), S) == pytest.approx([2 / 3, 1 / 3],
                                                                        abs=1e-12)


def test_weights_of_zero_leave_the_shares_unweighted() -> None:
    # every touch weighs 0: the credit must still add up to the conversion, so the
    # model's own shares stand (first touch: all of it to the first)
    assert shares("first", weighted(0.0, 1.0), S) == [1.0, 0.0]
    assert shares("linear", weighted(0.0, 0.0), S) == [0.5, 0.5]


def test_a_lead_before_the_first_touch_anchors_on_the_first_touch() -> None:
    # touches on days 0..4, the lead created the day before the first touch (a form
    # filled before any tracked touch), the opportunity on day 3: W puts 30% on the
    # first touch as first and 30% again as the lead's touch, 30% on day 3, and the
    # 10% left over the other three touches
    j = days("a b c d e", lead_at=T0 - timedelta(days=1), opportunity_at=T0 + timedelta(days=3))
    third = 0.1 / 3
    assert shares("w", j, S) == pytest.approx([0.6, third, third, 0.3, third], abs=1e-12)


def test_time_decay_without_a_conversion_time_ends_at_the_last_touch() -> None:
    # no conversion time (a journeys file without one): the last touch is the end, so
    # touches 7 and 0 days before it weigh 1/2 and 1, shares 1/3 and 2/3
    j = Journey("j", (Touch("a", T0), Touch("b", T0 + timedelta(days=7))), conversions=1)
    assert shares("time_decay", j, S) == pytest.approx([1 / 3, 2 / 3], abs=1e-12)


def test_an_unknown_rule_model_names_the_models() -> None:
    expected = ("unknown rule model 'bogus'; choose one of first, last, last_non_direct, "
                "linear, u, w, z, time_decay, j, inverse_j")
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        shares("bogus", days("a"), S)
