"""The compiled SQL: one tree, rendered for each dialect, readable back by SQLGlot."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlglot

from mql.batch.asof import AsOf
from mql.batch.compile import to_sql
from mql.batch.conditions import Scope
from mql.batch.conditions import to_sql as condition_sql
from mql.batch.sql import DIALECTS, col
from mql.model.conditions import All, AnyOf, Compare, Not
from mql.model.spec import Model

TIMES = [AsOf.at(datetime(2026, 3, 2, tzinfo=UTC)),
         AsOf.daily(date(2026, 1, 1), date(2026, 1, 31))]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("as_of", TIMES, ids=["one-time", "daily"])
def test_the_example_model_compiles_to_sql_each_dialect_reads_back(
        example_model: Model, dialect: str, as_of: AsOf) -> None:
    text = to_sql(example_model, as_of, dialect)  # type: ignore[arg-type]
    (statement,) = sqlglot.parse(text, read=dialect)
    assert statement is not None
    assert text.count("POWER(") >= 1


def test_only_the_dialect_leaves_differ_between_duckdb_and_spark(example_model: Model) -> None:
    duck = to_sql(example_model, TIMES[0], "duckdb")
    spark = to_sql(example_model, TIMES[0], "spark")
    assert "EPOCH_US" in duck and "UNIX_MICROS" in spark
    assert "JSON_VALID" in duck and "JSON_EXTRACT_STRING" in duck
    # Spark parses the properties once, into a struct of the model's keys, and reads both
    # the check and the values from it
    assert spark.count("FROM_JSON(") == 1 and "GET_JSON_OBJECT" not in spark
    assert "REGEXP_MATCHES" in duck and "RLIKE" in spark


def test_every_compiled_condition_is_true_or_false_never_null() -> None:
    scope = Scope({"contact.title": col("title"), "account.employees": col("employees")})
    cond = Not(AnyOf((All((Compare("contact.title", "contains", "VP"),
                           Compare("account.employees", "gte", 50))),
                      Compare("contact.title", "missing"))))
    text = condition_sql(cond, scope).sql("duckdb")
    assert text.startswith("NOT (")
    assert text.count("COALESCE(") == 2  # each leaf is made false when unknown
