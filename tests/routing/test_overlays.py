"""Sector overlays, the routing gate (issue 17): a defence or government lead goes only
to a seller with the attribute its overlay requires; when the routing reaches nobody who
has it, the lead is held for compliance instead of going to a seller."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from hypothesis import given, settings
from hypothesis import strategies as st

from mql.model.conditions import Compare
from mql.model.consent import Overlay
from mql.model.handoff import BusinessHours, Member, Routing, RoutingRule, Team
from mql.records import Account
from mql.routing.overlays import qualifies, requirement
from mql.routing.round_robin import RoundRobin
from mql.routing.rules import route
from mql.scoring.fit import record_getter

AT = datetime(2026, 3, 3, 15, tzinfo=UTC)
HOURS = BusinessHours("UTC", frozenset(range(5)), time(0), time(23, 59))
ITAR = Overlay("itar", Compare("account.sector", "eq", "defence"), ("us_person",))
FEDRAMP = Overlay("fedramp", Compare("account.government", "eq", True), ("fedramp",))
US = frozenset({"us_person"})


def _routing(federal: frozenset[str] = US) -> Routing:
    return Routing(teams={
        "federal": Team("federal", (Member("ana", attributes=frozenset({"fedramp"})),
                                    Member("ben")), HOURS, attributes=federal),
        "emea": Team("emea", (Member("olu"), Member("anna")), HOURS),
        "inbound": Team("inbound", (Member("sdr.pool"),), HOURS)},
        rules=(RoutingRule("public_sector", Compare("account.sector", "in",
                                                    ("defence", "government")), "federal"),
               RoutingRule("europe", Compare("account.region", "eq", "EMEA"), "emea")),
        fallback="inbound")


def _route(routing: Routing, attributes: dict, overlays=(ITAR, FEDRAMP), robins=None,
           loads=None):
    account = Account("acme.example", attributes)
    get = record_getter(None, account)
    return route(routing, account, get, robins or {}, loads or {}, AT,
                 requires=requirement(overlays, get))


def test_a_defence_lead_goes_to_a_us_person_with_the_overlay_in_the_reason() -> None:
    (a, _) = _route(_routing(), {"sector": "defence"})
    assert (a.team, a.owner, a.held) == ("federal", "ana", False)
    assert a.reason == ("matched account.sector in ['defence', 'government']; itar: needs a "
                        "seller with us_person")


def test_fedramp_and_itar_together_need_both_attributes() -> None:
    # the team gives us_person to both; only ana has fedramp: every pick is ana
    robins: dict[str, RoundRobin] = {}
    for _ in range(3):
        (a, robins) = _route(_routing(), {"sector": "defence", "government": True},
                             robins=robins)
        assert a.owner == "ana"


def test_an_owner_without_the_attribute_is_passed_over() -> None:
    (a, _) = _route(_routing(), {"sector": "defence", "owner": "olu"})
    assert a.rule == "public_sector" and a.owner in ("ana", "ben")
    assert "the account owner olu lacks it" in a.reason


def test_nobody_reachable_qualifies_the_lead_is_held_with_the_reason() -> None:
    # a European defence account: emea and the fallback have no US person
    (a, robins) = _route(_routing(), {"sector": "retail", "region": "EMEA",
                                      "government": False},
                         overlays=(Overlay("itar", Compare("account.region", "eq", "EMEA"),
                                           ("us_person",)),))
    assert (a.team, a.owner, a.held) == (None, None, True)
    assert a.reason == ("matched account.region eq 'EMEA'; nobody in emea nor inbound "
                        "qualifies; itar: needs a seller with us_person, which nobody the "
                        "routing reaches has: held for compliance")
    assert robins == {}  # nobody's round-robin credit moved


def test_a_lead_no_overlay_matches_routes_as_before() -> None:
    plain = route(_routing(), Account("x.example", {"region": "EMEA"}),
                  record_getter(None, Account("x.example", {"region": "EMEA"})), {}, {}, AT)
    (a, _) = _route(_routing(), {"region": "EMEA"})
    assert a == plain[0]


def test_qualified_sellers_away_queue_on_their_team_not_on_an_unqualified_fallback() -> None:
    r = _routing()
    away = ((date(2026, 3, 1), date(2026, 3, 9)),)
    r.teams["federal"] = Team("federal", (Member("ana", away=away),
                                          Member("ben", away=away)), HOURS, attributes=US)
    (a, _) = _route(r, {"sector": "defence"})
    assert (a.team, a.owner, a.held) == ("federal", None, False)


_NAMES = ("ana", "ben", "cy", "dee", "eve")


@st.composite
def _worlds(draw):
    attrs = st.frozensets(st.sampled_from(("us_person", "fedramp", "hipaa")), max_size=2)
    teams = {}
    for t in ("t0", "t1", "t2"):
        names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3, unique=True))
        members = tuple(Member(n, capacity=draw(st.none() | st.integers(0, 2)),
                               attributes=draw(attrs)) for n in names)
        teams[t] = Team(t, members, HOURS, attributes=draw(attrs))
    routing = Routing(teams=teams, rules=(
        RoutingRule("defence", Compare("account.sector", "eq", "defence"),
                    draw(st.sampled_from(("t0", "t1", "t2")))),),
        fallback=draw(st.sampled_from(("t0", "t1", "t2"))),
        account_owner_first=draw(st.booleans()),
        account_team=draw(st.none() | st.sampled_from(("t0", "t1", "t2"))))
    account = {"sector": draw(st.sampled_from(("defence", "retail"))),
               "government": draw(st.booleans()),
               "owner": draw(st.none() | st.sampled_from(_NAMES)),
               "status": draw(st.none() | st.sampled_from(("customer", "prospect")))}
    overlays = draw(st.lists(st.sampled_from((
        ITAR, FEDRAMP, Overlay("health", Compare("account.sector", "eq", "retail"),
                               ("hipaa",)))), max_size=3, unique=True))
    return routing, account, tuple(overlays), draw(st.integers(1, 8))


@settings(max_examples=150, deadline=None)
@given(_worlds())
def test_no_assignment_ever_goes_to_a_seller_lacking_the_required_attribute(world) -> None:
    routing, attributes, overlays, leads = world
    account = Account("acme.example", attributes)
    get = record_getter(None, account)
    need = requirement(overlays, get)
    robins: dict[str, RoundRobin] = {}
    loads: dict[str, int] = {}
    for _ in range(leads):
        a, robins = route(routing, account, get, robins, loads, AT, requires=need)
        if a.held:
            assert a.owner is None and a.team is None and need is not None
            continue
        if a.owner is not None:
            loads[a.owner] = loads.get(a.owner, 0) + 1
        if need is None:
            continue
        if a.owner is None:  # queued: on a team whose queue a qualified seller works
            assert a.team is not None and any(
                qualifies(m, routing.teams[a.team], need.attributes)
                for m in routing.teams[a.team].members), a
        else:
            assert any(qualifies(m, t, need.attributes) for t in routing.teams.values()
                       for m in t.members if m.name == a.owner), a
