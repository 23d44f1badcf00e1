"""Settings of mql, read from `MQL_*` environment variables (and arguments).

Built once by a face (`Settings()` or `Settings(database_url=...)`) and passed down; no
module-level instance exists. The database defaults to the workspace database in the
current folder.

>>> s = Settings(database_url="sqlite:///x.db", identity_max_anonymous_ids=5)
>>> s.database_url, s.identity_rules().max_per_kind["anonymous_id"]
('sqlite:///x.db', 5)
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from mql import limits
from mql.errors import ConfigError
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
    max_field_bytes: int = Field(limits.MAX_FIELD_BYTES, ge=1, description="the largest "
                                 "value (CSV cell, JSON or Parquet value) a file may hold, in "
                                 "bytes; a larger one quarantines its row")
    event_max_future_hours: float = Field(
        limits.FUTURE_SKEW.total_seconds() / 3600, ge=0, description="how far after its "
        "ingest time an event may be dated; a later one is quarantined")
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
    api_write_key_rate_per_second: float = Field(
        2000.0, gt=0, description="requests per second per write key (analytics.js sends one "
        "request per event; Segment's guidance is 1,000 events a second per source)")
    api_write_key_rate_burst: int = Field(4000, ge=1, description="requests a write key may "
                                          "send at once")
    collect_batch_limit_bytes: int = Field(
        4 * 1024 * 1024, ge=32 * 1024, le=64 * 1024 * 1024,
        description="largest collection body, uncompressed (RudderStack sends up to 4 MB); "
        "one message stays limited to 32 KB")
    cors_origins: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="browser origins allowed to send events, by write "
        "key name or key id: {\"website\": [\"https://www.acme.com\"]}; \"*\" allows any")
    api_key_cache_seconds: float = Field(5.0, ge=0, description="how long a checked key is "
                                         "trusted before the store is asked again")
    api_apply_delay_seconds: float = Field(
        0.2, ge=0, description="how long collected messages gather in the inbox before they "
        "are applied together (larger groups cost less per message; this is the least lag)")

    webhook_deadline_seconds: float = Field(
        10.0, gt=0, le=600, description="the whole of one delivery attempt (connect, send, "
        "the answer's headers and body): a receiver slower than this is retried later")
    webhook_concurrency: int = Field(8, ge=1, le=256, description="subscriptions the worker "
                                     "delivers to at once (each in order)")
    webhook_claim: int = Field(10, ge=1, le=1000, description="deliveries of one "
                               "subscription claimed at a time")
    webhook_max_attempts: int = Field(12, ge=1, le=100, description="attempts before a "
                                      "delivery is dead-lettered")
    webhook_rotation_grace_hours: float = Field(
        24.0, ge=0, le=8760, description="after `webhooks rotate-secret`, how long deliveries are "
        "also signed with the old secret")

    audit_every: Literal["off", "month", "week"] = Field(
        "off", description="the worker's scheduled drift audit (`mql audit`): once per month "
        "or week, a model.drift webhook when drift passes a bound; off: never")
    audit_months: int = Field(6, ge=2, le=60, description="months the scheduled audit "
                              "looks back over")
    audit_psi: float = Field(0.25, gt=0, description="the PSI over which the scheduled "
                             "audit calls a score or a rule's firing rate drifted")
    audit_min_outcomes: int = Field(20, ge=1, description="closed deals' contacts the "
                                    "audit needs on each side to judge a rule's lift")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _one_origin(cls, value: Any) -> Any:
        """An origin given alone stands for a list of one."""
        if isinstance(value, dict):
            return {k: (v,) if isinstance(v, str) else v for k, v in value.items()}
        return value

    @property
    def future_skew(self) -> timedelta:
        """How far into the future (from its ingest time) an event may be dated."""
        return timedelta(hours=self.event_max_future_hours)

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


def load_settings(**values: Any) -> Settings:
    """`Settings(**values)` over the environment; `ConfigError` naming the setting and its
    MQL_ variable when one is invalid (no traceback for a typo in the environment).

    >>> load_settings(api_rate_per_second="fast")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    mql.errors.ConfigError: MQL_API_RATE_PER_SECOND: Input should be a valid number, ...
    >>> load_settings(cors_origins={"website": "https://acme.example"}).cors_origins
    {'website': ('https://acme.example',)}
    """
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"MQL_{str(e['loc'][0]).upper() if e['loc'] else '?'}: {e['msg']}"
            for e in exc.errors())
        raise ConfigError(problems) from None
    except SettingsError as exc:
        raise ConfigError(f"{exc} (MQL_ variables holding a list or mapping are JSON, e.g. "
                          "MQL_CORS_ORIGINS='{\"website\": [\"https://www.acme.com\"]}')"
                          ) from None
