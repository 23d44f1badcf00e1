"""Schema migrations (Alembic, run from code: no alembic.ini needed).

`upgrade(engine)` brings a database to the newest schema (creating it when empty);
`check(engine)` raises `SchemaOutdated` when a database is behind this mql.

>>> from mql.store.db import connect
>>> engine = connect("sqlite://")
>>> upgrade(engine) == head()
True
>>> check(engine)
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from mql.errors import SchemaOutdated
from mql.store.db import translate_errors

_HERE = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    return config


@functools.cache
def head() -> str:
    """The newest revision this mql knows (read from the migration scripts once)."""
    rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert rev is not None
    return rev


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    # what alembic's MigrationContext reads, without its set-up and table reflection: this
    # is checked on every collection request
    with translate_errors("reading the schema revision"), engine.connect() as conn:
        try:
            found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
            return next(iter(found), None)
        except sa.exc.DBAPIError:
            conn.rollback()
            if sa.inspect(conn).has_table("alembic_version"):
                raise
            return None


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Upgrade the database to `revision` (default: the newest); returns where it is now."""
    config = _config()
    with translate_errors(f"migrating to {revision}"), engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return current(engine)


def check(engine: Engine) -> None:
    """Nothing if the schema is current; `SchemaOutdated` saying what to run otherwise."""
    at = current(engine)
    if at != head():
        where = "an empty database" if at is None else f"schema revision {at}"
        raise SchemaOutdated(f"{where}, this mql needs {head()}: run `mql migrate` "
                             "(or `mql init` for a new workspace)")
