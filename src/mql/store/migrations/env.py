"""Alembic environment of mql: runs on the connection `store.migrate` hands over."""

from __future__ import annotations

from alembic import context

from mql.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
