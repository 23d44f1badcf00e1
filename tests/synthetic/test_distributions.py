"""The stated distributions hold, within tolerances, on a medium world (1,200 accounts,
12 months, one fixed seed)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from statistics import mean

from mql.synthetic import AccountSlice, World
from mql.synthetic.consent import jurisdiction
from mql.synthetic.firmographics import EU_EEA
from mql.synthetic.people import PERSONAL_DOMAINS

Medium = tuple[World, list[AccountSlice]]


def test_committees_average_about_6_8_at_enterprise_and_1_to_3_at_small(
    medium_world: Medium,
) -> None:
    _, pieces = medium_world
    sizes: dict[str, list[int]] = {}
    for p in pieces:
        sizes.setdefault(p.truth.segment, []).append(p.truth.committee_size)
    assert 6.3 <= mean(sizes["enterprise"]) <= 7.3
    assert set(sizes["small"]) <= {1, 2, 3}
    assert 1.5 <= mean(sizes["small"]) <= 2.1
    assert mean(sizes["small"]) < mean(sizes["mid"]) < mean(sizes["enterprise"])


def test_employees_are_heavy_tailed(medium_world: Medium) -> None:
    _, pieces = medium_world
    employees = sorted(int(p.account.attributes["employees"]) for p in pieces)
    median = employees[len(employees) // 2]
    assert 80 <= median <= 180
    assert employees[-1] > 50 * median, "a few giants"
    assert 0.05 <= sum(e >= 1000 for e in employees) / len(employees) <= 0.14


def test_country_mix(medium_world: Medium) -> None:
    _, pieces = medium_world
    countries = Counter(p.account.attributes["country"] for p in pieces)
    share = {k: v / len(pieces) for k, v in countries.items()}
    assert 0.36 <= share["US"] <= 0.48
    assert 0.04 <= share["CA"] <= 0.10
    assert 0.07 <= share["GB"] <= 0.13
    assert 0.19 <= sum(share.get(c, 0) for c in EU_EEA) <= 0.29
    assert 0.10 <= sum(share.get(c, 0) for c in ("AU", "JP", "IN", "SG", "NZ")) <= 0.18


def test_a_share_of_contacts_use_personal_email(medium_world: Medium) -> None:
    _, pieces = medium_world
    contacts = [c for p in pieces for c in p.contacts]
    personal = sum(c.email_domain in PERSONAL_DOMAINS for c in contacts)
    subdomain = sum(c.email_domain.endswith("." + c.account) for c in contacts if c.account)
    assert 0.07 <= personal / len(contacts) <= 0.16
    assert subdomain > 0, "some addresses use a regional subdomain"


def test_consent_follows_the_jurisdiction(medium_world: Medium) -> None:
    _, pieces = medium_world
    country = {c.email: c.attributes["country"] for p in pieces for c in p.contacts}
    first = {}
    for p in pieces:
        for record in p.consent:
            first.setdefault(record.email, record)
            assert (record.jurisdiction, record.regime) == jurisdiction(country[record.email])
    by_regime: dict[str, Counter[str]] = {}
    for record in first.values():
        by_regime.setdefault(record.regime, Counter())[record.status] += 1
    assert by_regime["opt_out"]["denied"] == 0, "opt-out regimes never start denied"
    opt_in = by_regime["opt_in"]
    assert 0.4 <= opt_in["granted"] / sum(opt_in.values()) <= 0.75
    withdrawn = sum(r.status == "withdrawn" for p in pieces for r in p.consent)
    assert withdrawn > 0, "some contacts unsubscribe"


def test_most_accounts_never_buy(medium_world: Medium) -> None:
    _, pieces = medium_world
    with_opportunity = sum(bool(p.opportunities) for p in pieces) / len(pieces)
    won = sum(p.truth.won for p in pieces) / len(pieces)
    assert 0.02 <= with_opportunity <= 0.10
    assert 0.003 <= won <= 0.04
    assert sum(p.truth.in_market_weeks == 0 for p in pieces) / len(pieces) > 0.5


def _weekly_touches(piece: AccountSlice, since: object, until: object) -> float:
    n = sum(1 for e in piece.clean_events if since <= e.at < until  # type: ignore[operator]
            and e.type not in ("email_send", "intent_surge"))
    return n / max(1.0, (until - since) / timedelta(weeks=1))  # type: ignore[operator]


def test_engagement_intensifies_before_an_opportunity_and_fades_after_a_loss(
    medium_world: Medium,
) -> None:
    world, pieces = medium_world
    start, end = world.params.start, world.params.end
    before, baseline, after_loss, before_loss = [], [], [], []
    for p in pieces:
        if not p.opportunities and p.truth.in_market_weeks == 0 and p.account.attributes[
            "status"
        ] == "prospect":
            baseline.append(_weekly_touches(p, start, end))
        for opp in p.opportunities:
            if opp.created_at - timedelta(weeks=6) >= start:
                before.append(_weekly_touches(p, opp.created_at - timedelta(weeks=6),
                                              opp.created_at))
            if opp.status == "lost" and opp.closed_at + timedelta(weeks=16) <= end:
                closed = opp.closed_at
                before_loss.append(_weekly_touches(p, closed - timedelta(weeks=4), closed))
                after_loss.append(_weekly_touches(p, closed + timedelta(weeks=10),
                                                  closed + timedelta(weeks=16)))
    assert mean(before) > 8 * mean(baseline)
    assert len(after_loss) >= 5
    assert mean(after_loss) < 0.3 * mean(before_loss)


def test_titles_are_messy_but_labels_are_clean(medium_world: Medium) -> None:
    _, pieces = medium_world
    titles = Counter()
    for p in pieces:
        for c in p.contacts:
            titles[c.attributes["title"]] += 1
    assert len(titles) > 300
    assert any(t != t.strip() or t.islower() or t.isupper() for t in titles)
    assert any("Dir." in t or "VP," in t or "Head of" in t for t in titles)


def test_sales_dispositions_use_every_reason(medium_world: Medium) -> None:
    _, pieces = medium_world
    reasons = Counter(d.reason for p in pieces for d in p.dispositions)
    for reason in ("wrong_fit", "no_budget", "bad_timing", "no_response", "competitor",
                   "student"):
        assert reasons[reason] > 0, reason
    sql = sum(d.sql for p in pieces for d in p.dispositions)
    assert 0.05 <= sql / sum(reasons.values()) <= 0.3
