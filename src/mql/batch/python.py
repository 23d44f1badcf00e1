"""The Python engine: the streaming core (`mql.scoring.score`) behind the batch protocol.

It is the oracle the SQL engines are tested against, and scores events given as records
only (reading files is `mql.ingest`'s job, which the batch layer does not import).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq

from mql.batch.asof import AsOf
from mql.batch.conditions import EngineUnsupported
from mql.batch.engines import Inputs, OutputFormat, Progress, Summary
from mql.model.spec import TOTAL, Model
from mql.scoring.qualify import Decision
from mql.scoring.scorer import score


def decisions_table(model: Model, decisions: Sequence[Decision]) -> pa.Table:
    """Decisions in the batch result layout (see `mql.batch.engines.Engine`)."""
    columns: dict[str, list[Any]] = {"contact": [], "as_of": []}
    columns.update({name: [] for name in (*model.scores, TOTAL)})
    columns.update({"grade": [], "mql": [], "reasons": [], "excluded_by": []})
    for d in decisions:
        columns["contact"].append(d.contact)
        columns["as_of"].append(d.as_of.replace(tzinfo=None))
        for name in (*model.scores, TOTAL):
            columns[name].append(d.scores[name])
        columns["grade"].append(d.grade)
        columns["mql"].append(d.mql)
        columns["reasons"].append("; ".join(r.short for r in d.reasons))
        columns["excluded_by"].append("; ".join(d.excluded_by))
    types = {"contact": pa.string(), "as_of": pa.timestamp("us"), "grade": pa.string(),
             "mql": pa.bool_(), "reasons": pa.string(), "excluded_by": pa.string()}
    return pa.table({k: pa.array(v, types.get(k, pa.float64())) for k, v in columns.items()})


class PythonEngine:
    """Scores every time of the series with `mql.scoring.score` (O(times x events))."""

    name = "python"

    def rescore(self, model: Model, inputs: Inputs, as_of: AsOf) -> pa.Table:
        if isinstance(inputs.events, Path):
            raise EngineUnsupported("the python engine scores records; read the file with "
                                    "mql.ingest.files first")
        decisions = [d for t in as_of.times() for d in score(
            model, inputs.contacts, inputs.accounts, inputs.events, at=t)]
        return decisions_table(model, decisions)

    def export(self, model: Model, inputs: Inputs, as_of: AsOf, out: Path,
               fmt: OutputFormat = "parquet", progress: Progress | None = None) -> Summary:
        table = self.rescore(model, inputs, as_of)
        if fmt == "parquet":
            pq.write_table(table, out)
        else:
            pyarrow.csv.write_csv(table, out)
        rows = table.to_pydict()
        events = 0 if isinstance(inputs.events, Path) else len(inputs.events)
        return Summary(self.name, table.num_rows, len(set(rows["contact"])), sum(rows["mql"]),
                       events)

    def sql(self, model: Model, as_of: AsOf) -> str:
        raise EngineUnsupported("the python engine runs no SQL")

    def close(self) -> None:
        pass


def connect(**options: Any) -> PythonEngine:
    """The streaming core as an engine (takes no options)."""
    return PythonEngine(**options)
