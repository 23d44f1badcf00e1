"""The Markov transition counts summed in DuckDB from the journeys' Parquet files equal
the Python path's (`mql.attribution.markov.transition_counts`) exactly, count for count,
and give the same removal effects."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mql.attribution.assemble import assemble
from mql.attribution.journeys import Journey, Touch
from mql.attribution.markov import PathArrays, removal_effects, transition_counts
from mql.batch.attribution import counts_matrix, write_journeys
from mql.batch.attribution import removal_effects as duckdb_effects
from mql.batch.attribution import transition_counts as duckdb_counts
from mql.model.attribution import AttributionSettings
from mql.model.reports import ReportSettings
from mql.service.attribution_recovery import ledger
from mql.synthetic import World, WorldParameters


def _both(journeys: list[Journey], folder: Path) -> tuple[np.ndarray, np.ndarray]:
    python, _, _ = transition_counts(PathArrays.of(journeys), 1)
    write_journeys(journeys, folder)
    matrix, channels = counts_matrix(duckdb_counts(folder))
    assert channels == PathArrays.of(journeys).channels
    return python.toarray(), matrix.toarray()


def test_a_hand_counted_example(tmp_path: Path) -> None:
    js = [Journey("1", (Touch("a"), Touch("a"), Touch("b")), conversions=2),
          Journey("2", (Touch("b"),), nulls=3), Journey("3", ())]
    python, sql = _both(js, tmp_path)
    # states: start, conversion, null, a, b
    expected = np.zeros((5, 5))
    expected[0, 3], expected[0, 4] = 2, 3  # start -> a (journey 1), start -> b (journey 2)
    expected[3, 3], expected[3, 4] = 2, 2  # a -> a, a -> b
    expected[4, 1], expected[4, 2] = 2, 3  # b -> conversion, b -> null
    assert (sql == expected).all() and (python == expected).all()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from("abcd"), max_size=6),
                          st.integers(0, 3), st.integers(0, 3)), max_size=30))
def test_any_journeys(rows: list[tuple[list[str], int, int]]) -> None:
    js = [Journey(str(n), tuple(Touch(c) for c in cs), conversions=float(conv),
                  nulls=float(null)) for n, (cs, conv, null) in enumerate(rows)]
    if not any(j.touches for j in js):
        return
    with tempfile.TemporaryDirectory() as folder:
        python, sql = _both(js, Path(folder))
    assert (python == sql).all()


def test_the_synthetic_worlds_journeys_at_both_levels(tmp_path: Path) -> None:
    world = World(WorldParameters(accounts=300, months=12, channel_effects=True),
                  random.Random(2))
    touches, opportunities, _ = ledger(world)
    for level in ("contact", "account"):
        built = assemble(touches, opportunities, {}, {}, AttributionSettings(),
                         ReportSettings(), level=level)
        folder = tmp_path / level
        folder.mkdir()
        python, sql = _both(built.created, folder)
        assert python.sum() > 1000
        assert (python == sql).all()
        ours = removal_effects(PathArrays.of(built.created), 1)
        theirs = duckdb_effects(folder)
        assert theirs.channels == ours.channels
        assert np.allclose(theirs.effects, ours.effects, rtol=0, atol=1e-12)
        assert theirs.conversion_probability == ours.conversion_probability
