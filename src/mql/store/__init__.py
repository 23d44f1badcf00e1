"""ADAPTER: the operational store (SQLAlchemy Core, Alembic migrations; SQLite and PostgreSQL)."""
