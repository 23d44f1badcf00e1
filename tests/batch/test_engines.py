"""Choosing an engine by name: explicit registry, lazy imports, helpful refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mql.batch.engines import connect
from mql.errors import ConfigError


def test_an_unknown_engine_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"unknown engine 'oracle'; choose one of \["):
        connect("oracle")


def test_a_missing_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("pyspark", "pyspark.sql"):  # as if pyspark were not installed
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "mql.batch.spark", raising=False)
    with pytest.raises(ConfigError, match=r"pip install 'mql\[spark\]'"):
        connect("spark")


def test_the_registry_imports_no_engine_itself() -> None:
    import mql.batch.engines as engines

    source = Path(engines.__file__).read_text()  # engines are imported by connect() only
    assert "import duckdb" not in source
    assert "import pyspark" not in source
