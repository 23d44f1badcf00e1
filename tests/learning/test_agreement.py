"""How learned points agree with a world's drivers (mql.learning.agreement), by hand: the
rank correlation of true strengths with the learned information values (a proxy's when
the field itself was not learned, 0 when neither was), and the share of touches whose
learned sign is right."""

from __future__ import annotations

from mql.learning.agreement import agreement
from mql.learning.binning import Binning, Group, woe
from mql.learning.scorecard import AttributeRule, Calibration, Evidence, Scorecard, TouchRule
from mql.synthetic.truth import Driver


def _rule(field: str, positives: int) -> AttributeRule:
    # 100 leads in two groups of 50: the first holds `positives` of the 50 positives
    groups = (Group(50, positives, woe(positives, 50 - positives, 50, 50, 2), values=("a",)),
              Group(50, 50 - positives, woe(50 - positives, positives, 50, 50, 2),
                    default=True))
    return AttributeRule(field, Binning(field, False, groups), (1, 0), 1.0)


def _touch(kind: str, points: float) -> TouchRule:
    return TouchRule(kind, 14.0, points, 10.0, Evidence(10, 5, 0.5), 0.1)


CARD = Scorecard("won", (_rule("account.employees", 40), _rule("account.country", 30),
                         _rule("contact.seniority", 26)),
                 (_touch("demo_request", 5.0), _touch("page_view /careers", -2.0),
                  _touch("webinar_attended", 0.0)),
                 Calibration(((0.0, 0.5),)), 100, 50, small_data=True, shrink=1.0)


def test_ranks_of_the_drivers_against_what_was_learned() -> None:
    # the size is learned most (40 of 50 in one group), the region through the country
    # (30), the seniority least (26), the industry not at all (0): strengths in the same
    # order, a rank correlation of 1
    drivers = [Driver("account.employees", "attribute", 2.0, "fit"),
               Driver("account.region", "attribute", 1.5, "fit", "account.country"),
               Driver("contact.seniority", "attribute", 1.0, "fit"),
               Driver("account.industry", "attribute", 0.5, "fit", "account.sector;account.naics"),
               Driver("demo_request", "touch", 1.2, "buying"),
               Driver("page_view /careers", "touch", -0.8, "never buys"),
               Driver("webinar_attended", "touch", 0.4, "buying"),
               Driver("trial", "touch", -0.3, "never buys")]
    found = agreement(CARD, drivers)
    assert found.attributes == 1.0
    # demo (+5, buying) right, careers (-2, never buys) right, webinars (0, buying) wrong,
    # trial (no rule, not buying) right: 3 of 4
    assert found.touches == 0.75
    ivs = {r.field: r.binning.information_value for r in CARD.attributes}
    assert found.learned == (
        ("account.employees", 2.0, ivs["account.employees"]),
        ("account.region", 1.5, ivs["account.country"]),
        ("contact.seniority", 1.0, ivs["contact.seniority"]),
        ("account.industry", 0.5, 0.0),
        ("demo_request", 1.2, 5.0), ("page_view /careers", -0.8, -2.0),
        ("webinar_attended", 0.4, 0.0), ("trial", -0.3, 0.0))
    assert ivs["account.employees"] > ivs["account.country"] > ivs["contact.seniority"] > 0
    # the strengths the other way round: -1
    reversed_ = [Driver(d.name, d.kind, -d.strength, d.how, d.proxies) for d in drivers[:4]]
    assert agreement(CARD, reversed_).attributes == -1.0


def test_two_drivers_or_no_touches_say_nothing() -> None:
    two = [Driver("account.employees", "attribute", 2.0, "fit"),
           Driver("contact.seniority", "attribute", 1.0, "fit")]
    assert (agreement(CARD, two).attributes, agreement(CARD, two).touches) == (0.0, 0.0)


def test_three_drivers_through_their_second_proxy() -> None:
    drivers = [Driver("account.size", "attribute", 2.0, "fit",
                      "account.revenue;account.employees"),
               Driver("account.region", "attribute", 1.5, "fit", "account.country"),
               Driver("contact.seniority", "attribute", 1.0, "fit")]
    found = agreement(CARD, drivers)
    assert found.attributes == 1.0
    assert found.learned[0][2] == CARD.attributes[0].binning.information_value


def test_the_sign_of_each_touch() -> None:
    card = Scorecard("won", (), (_touch("page_view /pricing", 0.5), _touch("page_view /jobs", 0.5),
                                 _touch("trial", 0.0)),
                     Calibration(((0.0, 0.5),)), 100, 50, small_data=True, shrink=1.0)
    drivers = [Driver("page_view /pricing", "touch", 0.9, "buying"),  # +0.5: right
               Driver("page_view /jobs", "touch", -0.5, "never buys"),  # +0.5: wrong
               Driver("trial", "touch", 0.0, "neither"),  # no strength, 0 points: right
               Driver("form_submit", "touch", 0.5, "buying")]  # no rule: wrong
    assert agreement(card, drivers).touches == 0.5
