"""Settings of mql, read from `MQL_*` environment variables (and arguments).

Built once by a face (`Settings()` or `Settings(database_url=...)`) and passed down; no
module-level instance exists. The database defaults to the workspace database in the
current folder.

>>> s = Settings(database_url="sqlite:///x.db", identity_max_anonymous_ids=5)
>>> s.database_url, s.identity_rules().max_per_kind["anonymous_id"]
('sqlite:///x.db', 5)
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mql.identity.merge import DEFAULT_BLOCKED, DEFAULT_PRIORITY, IdentityRules

WORKSPACE_DB = ".mql/mql.db"
EXAMPLE_SECRET = "change-me"  # the example value; the API refuses it outside --dev


def workspace_url(folder: Path) -> str:
    """The SQLite URL of the workspace database under `folder`.

    >>> workspace_url(Path("/srv/leads"))
    'sqlite:////srv/leads/.mql/mql.db'
    """
    return f"sqlite:///{(folder / WORKSPACE_DB).as_posix()}"


class Settings(BaseSettings):
    """Every setting of mql; `MQL_DATABASE_URL` etc. override the defaults."""

    model_config = SettingsConfigDict(env_prefix="MQL_", extra="forbid", frozen=True)

    database_url: str = Field(
        default_factory=lambda: workspace_url(Path.cwd()),
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    batch_size: int = Field(1000, ge=1, le=100_000,
                            description="rows per ingest transaction (and checkpoint)")
    identity_blocked_values: tuple[str, ...] = DEFAULT_BLOCKED
    identity_max_emails: int = Field(5, ge=1)
    identity_max_anonymous_ids: int = Field(20, ge=1)
    identity_max_external_ids: int = Field(3, ge=1)
    identity_priority: tuple[str, ...] = DEFAULT_PRIORITY
    identity_collapse_subdomains: bool = True
    secret_key: str = Field(EXAMPLE_SECRET, min_length=1,
                            description="server secret: keys are stored as HMACs under it")
    dev: bool = Field(False, description="development mode: the example secret is allowed")
    api_rate_per_second: float = Field(200.0, gt=0, description="requests per second per key")
    api_rate_burst: int = Field(400, ge=1, description="requests a key may send at once")
    api_key_cache_seconds: float = Field(5.0, ge=0, description="how long a checked key is "
                                         "trusted before the store is asked again")
    api_apply_delay_seconds: float = Field(
        0.2, ge=0, description="how long collected messages gather in the inbox before they "
        "are applied together (larger groups cost less per message; this is the least lag)")

    api_max_inbox_lag_seconds: float | None = Field(
        30.0, gt=0, description="backpressure: while the oldest collected message has waited "
        "longer than this to be applied, collection answers 503 with Retry-After (Segment "
        "and RudderStack clients retry those) instead of acknowledging more; None: never")

    def identity_rules(self) -> IdentityRules:
        """The identity guardrails these settings describe."""
        return IdentityRules(
            blocked=frozenset(v.strip().lower() for v in self.identity_blocked_values),
            max_per_kind={"email": self.identity_max_emails,
                          "anonymous_id": self.identity_max_anonymous_ids,
                          "external": self.identity_max_external_ids},
            priority=tuple(self.identity_priority),
            collapse_subdomains=self.identity_collapse_subdomains,
        )
