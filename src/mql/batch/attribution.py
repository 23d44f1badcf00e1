"""Markov transition counts aggregated in DuckDB: the attribution journeys as Parquet (one
row per touch, one row per journey), and the counts of every observed transition between
(start), the channels, (conversion) and (null), summed in SQL. The matrix algebra stays in
NumPy/SciPy (`mql.attribution.markov`); `counts_matrix` puts the SQL's counts in the same
sparse matrix `transition_counts` builds in Python, state for state (order 1, the journeys'
touches as they are).

>>> import tempfile, pathlib
>>> from mql.attribution.journeys import Journey, Touch
>>> js = [Journey("a", (Touch("email"), Touch("events")), conversions=1),
...       Journey("b", (Touch("email"),), nulls=2)]
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_journeys(js, folder)
>>> sorted(p for p in transition_counts(folder).items() if p[1])  # doctest: +NORMALIZE_WHITESPACE
[(('(start)', 'email'), 3.0), (('email', '(null)'), 2.0), (('email', 'events'), 1.0),
 (('events', '(conversion)'), 1.0)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import cast

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import sparse

from mql.attribution.journeys import Journey
from mql.attribution.markov import PathArrays, RemovalEffects, effects_of_counts

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"

_INT, _FLOAT = cast(pa.DataType, pa.int64()), cast(pa.DataType, pa.float64())
TOUCHES = pa.schema([("journey", _INT), ("position", _INT), ("channel", pa.string())])
JOURNEYS = pa.schema([("journey", _INT), ("conversions", _FLOAT), ("nulls", _FLOAT)])

COUNTS_SQL = f"""
WITH steps AS (
  SELECT t.journey, t.position, t.channel,
         lag(t.channel) OVER (PARTITION BY t.journey ORDER BY t.position) AS before,
         lead(t.channel) OVER (PARTITION BY t.journey ORDER BY t.position) AS after,
         j.conversions, j.nulls
  FROM read_parquet($touches) t JOIN read_parquet($journeys) j USING (journey)),
pairs AS (
  SELECT coalesce(before, '{START}') AS from_state, channel AS to_state,
         conversions + nulls AS n FROM steps
  UNION ALL
  SELECT channel, '{CONVERSION}', conversions FROM steps WHERE after IS NULL
  UNION ALL
  SELECT channel, '{NULL}', nulls FROM steps WHERE after IS NULL)
SELECT from_state, to_state, sum(n) AS n FROM pairs GROUP BY 1, 2
"""


def write_journeys(journeys: Sequence[Journey], folder: Path) -> None:
    """`touches.parquet` and `journeys.parquet` in `folder`: the journeys with a touch."""
    write_paths(PathArrays.of(journeys), folder)


def write_paths(paths: PathArrays, folder: Path) -> None:
    """The paths as `touches.parquet` (journey, position, channel) and `journeys.parquet`
    (journey, conversions, nulls) in `folder`."""
    valid = paths.codes >= 0
    rows, positions = np.nonzero(valid)
    names = np.array(paths.channels, dtype=object)
    pq.write_table(pa.table({"journey": rows.astype(np.int64),
                             "position": positions.astype(np.int64),
                             "channel": names[paths.codes[valid]].tolist()},
                            schema=TOUCHES), folder / "touches.parquet")
    pq.write_table(pa.table({"journey": np.arange(len(paths.lengths), dtype=np.int64),
                             "conversions": paths.conversions, "nulls": paths.nulls},
                            schema=JOURNEYS), folder / "journeys.parquet")


def transition_counts(folder: Path) -> dict[tuple[str, str], float]:
    """(from, to) -> the journeys that made that step, summed in DuckDB."""
    con = duckdb.connect()
    try:
        rows = con.execute(COUNTS_SQL, {"touches": str(folder / "touches.parquet"),
                                        "journeys": str(folder / "journeys.parquet")}
                           ).fetchall()
    finally:
        con.close()
    return {(str(a), str(b)): float(n) for a, b, n in rows}


def counts_matrix(counts: Mapping[tuple[str, str], float]
                  ) -> tuple[sparse.csr_matrix, tuple[str, ...]]:
    """The counts as the sparse matrix of `mql.attribution.markov.transition_counts`
    (order 1): states 0 = start, 1 = conversion, 2 = null, 3... = the channels by name."""
    channels = tuple(sorted({s for pair in counts for s in pair}
                            - {START, CONVERSION, NULL}))
    index = {START: 0, CONVERSION: 1, NULL: 2} | {c: 3 + i for i, c in enumerate(channels)}
    size = 3 + len(channels)
    rows = np.array([index[a] for a, _ in counts], dtype=np.int64)
    cols = np.array([index[b] for _, b in counts], dtype=np.int64)
    data = np.array(list(counts.values()), dtype=np.float64)
    return sparse.csr_matrix((data, (rows, cols)), shape=(size, size)), channels


def removal_effects(folder: Path) -> RemovalEffects:
    """Markov order 1 removal effects of the journeys in `folder`: the transitions counted
    in DuckDB, the chain solved by `mql.attribution.markov`."""
    matrix, channels = counts_matrix(transition_counts(folder))
    masks = np.left_shift(1, np.arange(len(channels), dtype=np.int64))
    return effects_of_counts(matrix, masks, channels)
