"""ADAPTER: the batch engine: one model compiled to set-based queries (DuckDB, Spark)."""
