"""The shared Spark session and markers of the batch suite, for the parity tests too."""

from tests.batch.conftest import pytest_collection_modifyitems, pytest_configure, spark_session

__all__ = ["pytest_collection_modifyitems", "pytest_configure", "spark_session"]
