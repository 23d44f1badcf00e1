"""The attribution models on small journeys computed by hand, and their invariants."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.attribution.compare import MODELS, attribute, model_name
from mql.attribution.journeys import Journey, Touch, from_paths, parse_path, to_paths
from mql.attribution.markov import PathArrays, allocate, removal_effects
from mql.attribution.rules import shares
from mql.attribution.shapley import shapley
from mql.model.attribution import AttributionSettings, MarkovSettings, ShapleySettings

T0 = datetime(2026, 3, 1, tzinfo=UTC)
S = AttributionSettings()


def journey(channels: str, conversions: float = 1, nulls: float = 0, value: float = 0,
            **times: datetime) -> Journey:
    touches = tuple(Touch(c, T0 + timedelta(days=i)) for i, c in enumerate(channels.split()))
    return Journey("j", touches, conversions=conversions, nulls=nulls, value=value, **times)


def near(values: list[float], expected: list[float]) -> bool:
    return bool(np.allclose(values, expected, rtol=0, atol=1e-12))


# -- rule models, by hand ------------------------------------------------------------------

@pytest.mark.parametrize(("model", "channels", "expected"), [
    ("first", "a b c", [1, 0, 0]),
    ("last", "a b c", [0, 0, 1]),
    ("linear", "a b c d", [0.25] * 4),
    ("u", "a", [1]),
    ("u", "a b", [0.5, 0.5]),
    ("u", "a b c", [0.4, 0.2, 0.4]),
    ("u", "a b c d e", [0.4, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.4]),
    ("j", "a b c", [0.2, 0.2, 0.6]),
    ("j", "a b", [0.25, 0.75]),
    ("inverse_j", "a b", [0.75, 0.25]),
    ("inverse_j", "a b c d", [0.6, 0.1, 0.1, 0.2]),
    ("w", "a b", [0.5, 0.5]),
    ("w", "a b c", [1 / 3, 1 / 3, 1 / 3]),  # every touch an anchor: the 10% in proportion
    # no times: lead is the middle touch, opportunity and close both the last
    ("z", "a b c d", [0.225, 0.225, 0.1, 0.45]),
])
def test_rule_shares_by_hand(model: str, channels: str, expected: list[float]) -> None:
    assert near(shares(model, journey(channels), S), expected)


def test_w_and_z_anchor_on_lead_and_opportunity_times() -> None:
    # touches on days 0..4; the lead was created on day 1, the opportunity on day 3
    j = journey("a b c d e", lead_at=T0 + timedelta(days=1, hours=2),
                opportunity_at=T0 + timedelta(days=3))
    assert near(shares("w", j, S), [0.3, 0.3, 0.05, 0.3, 0.05])
    # Z: first, lead (day 1), opportunity (day 3), close (last touch): 22.5% each
    assert near(shares("z", j, S), [0.225, 0.225, 0.1, 0.225, 0.225])


def test_time_decay_halves_per_half_life() -> None:
    # touches 14 and 7 days before the conversion, half-life 7: weights 1/4 and 1/2
    j = Journey("j", (Touch("a", T0), Touch("b", T0 + timedelta(days=7))), conversions=1,
                converted_at=T0 + timedelta(days=14))
    assert near(shares("time_decay", j, S), [1 / 3, 2 / 3])
    with pytest.raises(ValueError, match="time decay needs the time"):
        shares("time_decay", Journey("p", (Touch("a"),), conversions=1), S)


def test_last_non_direct_skips_direct() -> None:
    assert near(shares("last_non_direct", journey("email direct direct"), S), [1, 0, 0])
    assert near(shares("last_non_direct", journey("direct direct"), S), [0, 1])


def test_role_weights_scale_shares() -> None:
    j = Journey("acct", (Touch("a", weight=2.0), Touch("b", weight=1.0)), conversions=1)
    assert near(shares("linear", j, S), [2 / 3, 1 / 3])


def test_lookback_drops_old_touches() -> None:
    j = Journey("j", (Touch("old", T0), Touch("new", T0 + timedelta(days=100))),
                conversions=1, converted_at=T0 + timedelta(days=120))
    a = attribute([j], "first", lookback=timedelta(days=90))
    assert a.conversions == {"new": 1.0}


def test_weights_configurable_and_errors_located() -> None:
    from pathlib import Path

    from mql.errors import ModelError
    from mql.model.parse import parse_model

    text = Path("examples/models/b2b-saas.yaml").read_text()
    model = parse_model(text + "\nattribution:\n  u: {first: 0.5, last: 0.3}\n"
                        "  markov: {order: 2, allocation: journey}\n", source="m.yaml")
    assert (model.attribution.u.first, model.attribution.u.last) == (0.5, 0.3)
    assert model.attribution.markov == MarkovSettings(2, "journey", "keep")
    assert near(shares("u", journey("a b c"), model.attribution), [0.5, 0.2, 0.3])
    lines = text.count("\n")
    with pytest.raises(ModelError) as bad:
        parse_model(text + "\nattribution:\n  u: {first: 0.7, last: 0.5}\n", source="m.yaml")
    assert f"m.yaml:{lines + 3}:" in str(bad.value)
    assert "attribution.u" in str(bad.value)
    with pytest.raises(ModelError, match=r"attribution\.markov\.allocation"):
        parse_model(text + "\nattribution:\n  markov: {allocation: half}\n", source="m.yaml")


# -- Markov, by hand -----------------------------------------------------------------------

CLASSIC = [journey("c1 c2 c3"), journey("c1"), journey("c2 c3", conversions=0, nulls=1)]


def test_markov_classic_three_journeys() -> None:
    r = removal_effects(PathArrays.of(CLASSIC))
    # P = 2/3 (1/2 + 1/2 * 1/2) + 1/3 * 1/2 = 2/3; without c1: 1/6; without c2 or c3: 1/3
    assert r.conversion_probability == pytest.approx(2 / 3, abs=1e-15)
    assert near(list(r.effects), [0.75, 0.5, 0.5])
    conv, _ = allocate(PathArrays.of(CLASSIC), r.effects, "total")
    # 2 conversions in the ratio 0.75 : 0.5 : 0.5
    assert near(list(conv), [2 * 0.75 / 1.75, 2 * 0.5 / 1.75, 2 * 0.5 / 1.75])
    conv, _ = allocate(PathArrays.of(CLASSIC), r.effects, "journey")
    # c1 > c2 > c3 split 0.75 : 0.5 : 0.5, c1 alone takes its own conversion
    assert near(list(conv), [0.75 / 1.75 + 1, 0.5 / 1.75, 0.5 / 1.75])


def test_markov_order_two_remembers_where_it_came_from() -> None:
    paths = PathArrays.of([journey("a b"), journey("c b", conversions=0, nulls=1)])
    first = removal_effects(paths, 1)
    second = removal_effects(paths, 2)
    # order 1: b converts half the time whoever came before: removing a halves P
    assert near(list(first.effects), [0.5, 1.0, 0.5])
    # order 2: (a, b) always converts, (c, b) never: c contributes nothing
    assert near(list(second.effects), [1.0, 1.0, 0.0])


def test_markov_self_transitions_drop() -> None:
    js = [journey("a a b"), journey("a b b", conversions=0, nulls=1)]
    kept = PathArrays.of(js)
    assert kept.without_repeats().codes.tolist() == [[0, 1], [0, 1]]
    a = attribute(js, "markov", AttributionSettings(
        markov=MarkovSettings(2, "total", "drop")))
    assert a.details["removal_effect"] == {"a": 1.0, "b": 1.0}


def _oracle(journeys: list[Journey], order: int) -> tuple[Fraction, dict[str, Fraction]]:
    """Removal effects in exact rational arithmetic: counts in dicts, then Gauss-Jordan
    on (I - Q) x = r for every removed channel (independent of the NumPy code)."""
    counts: dict[tuple[str, ...], dict[tuple[str, ...], Fraction]] = {}
    for j in journeys:
        states = [("<start>",)] + [j.channels[max(0, i - order + 1):i + 1]
                                   for i in range(len(j.channels))]
        weight = Fraction(j.conversions + j.nulls)
        for a, b in itertools.pairwise(states):
            counts.setdefault(a, {}).setdefault(b, Fraction(0))
            counts[a][b] += weight
        for end, n in ((("<conv>",), j.conversions), (("<null>",), j.nulls)):
            if n:
                counts.setdefault(states[-1], {}).setdefault(end, Fraction(0))
                counts[states[-1]][end] += Fraction(n)

    def p(removed: str | None) -> Fraction:
        transient = [s for s in counts if removed is None or removed not in s]
        index = {s: i for i, s in enumerate(transient)}
        n = len(transient)
        m = [[Fraction(int(i == k)) for k in range(n)] + [Fraction(0)] for i in range(n)]
        for s in transient:
            total = sum(counts[s].values())
            for t, c in counts[s].items():
                if t == ("<conv>",):
                    m[index[s]][n] += c / total
                elif t in index:
                    m[index[s]][index[t]] -= c / total
        for col in range(n):
            pivot = next(r for r in range(col, n) if m[r][col] != 0)
            m[col], m[pivot] = m[pivot], m[col]
            m[col] = [x / m[col][col] for x in m[col]]
            for r in range(n):
                if r != col and m[r][col] != 0:
                    f = m[r][col]
                    m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
        return m[index[("<start>",)]][n] if ("<start>",) in index else Fraction(0)

    base = p(None)
    channels = sorted({c for j in journeys for c in j.channels})
    return base, {c: 1 - p(c) / base for c in channels}


journeys_strategy = st.lists(
    st.tuples(st.lists(st.sampled_from("abcd"), min_size=1, max_size=5),
              st.integers(0, 3), st.integers(0, 3), st.integers(0, 500)),
    min_size=1, max_size=8,
).map(lambda rows: [Journey(f"j{i}", tuple(Touch(c, T0 + timedelta(days=k))
                                                  for k, c in enumerate(cs)), conversions=conv,
                            nulls=null if conv or null else 1, value=value if conv else 0)
                    for i, (cs, conv, null, value) in enumerate(rows)])


@settings(max_examples=40, deadline=None)
@given(journeys_strategy, st.integers(1, 3))
def test_markov_agrees_with_exact_rational_oracle(js: list[Journey], order: int) -> None:
    if not any(j.conversions for j in js):
        return
    base, effects = _oracle(js, order)
    r = removal_effects(PathArrays.of(js), order)
    assert r.conversion_probability == pytest.approx(float(base), abs=1e-12)
    for c, e in zip(r.channels, r.effects, strict=True):
        assert e == pytest.approx(float(effects[c]), abs=1e-9)


# -- Shapley, by hand ----------------------------------------------------------------------

SETS = [journey("a", 1, 1), journey("b", 1, 3), journey("a b", 2, 0), journey("c", 0, 2)]


def test_shapley_rate_three_channels_by_hand() -> None:
    # v(a)=1/2 v(b)=1/4 v(c)=0 v(ab)=1/2 v(ac)=1/4 v(bc)=1/6 v(abc)=2/5;
    # phi = (59, 29, -16)/180, scaled so the 4 conversions are shared: x 10
    r = shapley(SETS, value="rate")
    assert r.exact
    assert near(list(r.conversions), [59 / 18, 29 / 18, -16 / 18])


def test_shapley_conversions_splits_each_journey_evenly() -> None:
    r = shapley(SETS, value="conversions")
    assert near(list(r.conversions), [1 + 1, 1 + 1, 0])


def test_shapley_brute_force_permutations() -> None:


    def v(coalition: set[str]) -> float:
        inside = [j for j in SETS if set(j.channels) <= coalition]
        seen = sum(j.conversions + j.nulls for j in inside)
        return sum(j.conversions for j in inside) / seen if seen else 0.0

    phi = dict.fromkeys("abc", 0.0)
    orders = list(itertools.permutations("abc"))
    for order in orders:
        joined: set[str] = set()
        for c in order:
            phi[c] += (v(joined | {c}) - v(joined)) / len(orders)
            joined.add(c)
    r = shapley(SETS, value="rate")
    scale = 4 / sum(phi.values())
    assert near(list(r.conversions), [phi[c] * scale for c in "abc"])


def test_shapley_sampled_estimate_within_interval() -> None:
    rng = random.Random(3)
    js = [Journey(f"j{i}", tuple(Touch(c) for c in rng.sample("abcdef", rng.randint(1, 4))),
                  conversions=rng.randint(0, 2), nulls=rng.randint(1, 3)) for i in range(60)]
    exact = shapley(js, value="rate")
    sampled = shapley(js, value="rate", exact_up_to=2, samples=3000, seed=11)
    assert not sampled.exact and sampled.samples == 3000
    assert sum(sampled.conversions) == pytest.approx(sum(j.conversions for j in js), abs=1e-9)
    for e, s, half in zip(exact.conversions, sampled.conversions, sampled.conversions_ci,
                          strict=True):
        assert half > 0
        assert abs(e - s) < 4 * half


def test_shapley_ordered_players_are_channel_positions() -> None:
    # a first then b, and b alone: ordered players (a,0) (b,1) (b,0)
    js = [journey("a b", 2), journey("b", 1)]
    r = shapley(js, ordered=True)
    assert near(list(r.conversions), [1.0, 2.0])


# -- every model: invariants ---------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(journeys_strategy, st.sampled_from(MODELS))
def test_credit_sums_to_conversions_and_value(js: list[Journey], model: str) -> None:
    a = attribute(js, model, AttributionSettings(shapley=ShapleySettings(value="conversions")))
    conv = sum(j.conversions for j in js)
    value = sum(j.value for j in js)
    if model == "markov" and not any(e > 0 for e in a.details["removal_effect"].values()):
        return  # no conversion reachable: nothing to share
    assert sum(a.conversions.values()) == pytest.approx(conv, abs=1e-9)
    assert sum(a.value.values()) == pytest.approx(value, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(journeys_strategy, st.sampled_from(MODELS), st.randoms())
def test_input_order_does_not_matter(js: list[Journey], model: str, rnd: random.Random
                                     ) -> None:
    shuffled = list(js)
    rnd.shuffle(shuffled)
    a, b = attribute(js, model), attribute(shuffled, model)
    assert a.conversions == pytest.approx(b.conversions, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(journeys_strategy, st.sampled_from(MODELS))
def test_renaming_channels_moves_their_credit(js: list[Journey], model: str) -> None:
    swap = {"a": "b", "b": "a"}
    renamed = [Journey(j.key, tuple(Touch(swap.get(t.channel, t.channel), t.at)
                                    for t in j.touches),
                       conversions=j.conversions, nulls=j.nulls, value=j.value) for j in js]
    a, b = attribute(js, model), attribute(renamed, model)
    for c, x in a.conversions.items():
        assert b.conversions[swap.get(c, c)] == pytest.approx(x, abs=1e-9)


def test_heuristics_equal_channel_attribution_on_paths() -> None:
    # ChannelAttribution's heuristic_models on the same paths: first, last and linear
    # touch are each path's conversions on its first, last channel, or split evenly
    rows = [("a > b > c", 3, 2, 30.0), ("b > a", 1, 0, 5.0), ("c", 0, 4, 0.0)]
    js = from_paths(rows)
    assert attribute(js, "first").conversions == {"a": 3.0, "b": 1.0, "c": 0.0}
    assert attribute(js, "last").conversions == {"a": 1.0, "b": 0.0, "c": 3.0}
    lin = attribute(js, "linear")
    assert lin.conversions == pytest.approx({"a": 1.5, "b": 1.5, "c": 1.0})
    assert lin.value == pytest.approx({"a": 12.5, "b": 12.5, "c": 10.0})
    assert to_paths(js) == sorted(rows)


def test_model_names_and_paths_errors() -> None:
    assert model_name("time-decay") == "time_decay"
    with pytest.raises(ValueError, match="choose one of first"):
        model_name("lastt")
    with pytest.raises(ValueError, match="empty step"):
        parse_path("a > > b")


def test_the_yaml_of_docs_attribution_is_a_valid_section() -> None:
    import re
    from pathlib import Path

    from mql.model.parse import parse_model

    model = Path("examples/models/b2b-saas.yaml").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", Path("docs/attribution.md").read_text(), re.S)
    assert blocks
    for block in blocks:
        parsed = parse_model(model + "\n" + block, source="docs/attribution.md")
        assert parsed.attribution.role_weight("champion") == 2.0
        assert parsed.attribution.role_weight(None) == 1.0
        assert parsed.attribution == parse_model(model, source="m").attribution.__class__(
            roles=(("decision_maker", 1.5), ("champion", 2.0)))


def test_a_model_with_an_attribution_section_dumps_and_reads_back() -> None:
    from pathlib import Path

    from mql.model.dump import dump_model
    from mql.model.parse import parse_model

    text = Path("examples/models/b2b-saas.yaml").read_text() + (
        "\nattribution:\n  lookback_days: 60\n  w: {lead: 0.4}\n  roles: {champion: 2}\n")
    model = parse_model(text, source="m.yaml")
    assert model.attribution.w.anchors == (0.3, 0.4, 0.3)
    again = parse_model(dump_model(model), source="dumped.yaml")
    assert again.attribution == model.attribution


def test_ordered_shapley_from_the_model_settings() -> None:
    # a > b converts, b and b > a do not: unordered, {a, b} is one coalition and the two
    # channels split the conversion; ordered, "a first" and "b first" are other players
    js = [journey("a b", 1, 0), journey("b", 0, 1), journey("b a", 0, 1)]
    plain = attribute(js, "shapley", AttributionSettings(shapley=ShapleySettings("rate")))
    ordered = attribute(js, "shapley", AttributionSettings(shapley=ShapleySettings(
        "rate", ordered=True)))
    assert plain.conversions == pytest.approx({"a": 0.5, "b": 0.5})
    players = {"a0": ("a", {0}), "b1": ("b", {0}), "b0": ("b", {1, 2}), "a1": ("a", {2})}
    outcome = [(1, 0), (0, 1), (0, 1)]
    needs = [{"a0", "b1"}, {"b0"}, {"b0", "a1"}]

    def v(coalition: set[str]) -> float:
        inside = [k for k, need in enumerate(needs) if need <= coalition]
        seen = sum(sum(outcome[k]) for k in inside)
        return sum(outcome[k][0] for k in inside) / seen if seen else 0.0

    phi = dict.fromkeys(players, 0.0)
    orders = list(itertools.permutations(players))
    for order in orders:
        joined: set[str] = set()
        for p in order:
            phi[p] += (v(joined | {p}) - v(joined)) / len(orders)
            joined.add(p)
    scale = 1 / sum(phi.values())
    expected = {"a": (phi["a0"] + phi["a1"]) * scale, "b": (phi["b0"] + phi["b1"]) * scale}
    assert ordered.conversions == pytest.approx(expected, abs=1e-12)
    assert ordered.conversions["a"] > 0.5  # opening the converting journey counts
    assert any("ordered" in n for n in ordered.notes)
