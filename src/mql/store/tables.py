"""The schema of the operational store (SQLAlchemy 2 Core), for the whole product.

Only `store/` knows these tables. Times are stored in UTC and read back UTC-aware on
every backend (`UTCDateTime`). JSON columns are JSONB on PostgreSQL. Tables that later
capabilities fill (lifecycle, consent, outbox, audit) are designed here once.

>>> sorted(t.name for t in metadata.sorted_tables)[:4]
['account_scores', 'accounts', 'assignments', 'audit_log']
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from mql import limits

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC; naive values read back (SQLite) are marked UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: mql stores UTC-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType: Any = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId: Any = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[Any]:
    return sa.Column("id", BigId, primary_key=True, autoincrement=True)


def _created() -> sa.Column[Any]:
    return sa.Column("created_at", UTCDateTime(), nullable=False)


model_versions = sa.Table(
    "model_versions", metadata, _id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.String(100), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("source", sa.String(500)),
    _created(),
    sa.Column("activated_at", UTCDateTime()),
    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("digest"),
)

accounts = sa.Table(
    "accounts", metadata, _id(),
    sa.Column("domain", sa.String(255), nullable=False),
    sa.Column("name", sa.String(500)),
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("source", sa.String(200)),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("domain"),
)

contacts = sa.Table(
    "contacts", metadata, _id(),
    sa.Column("email", sa.String(320)),  # the primary address as first seen (clean form)
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id")),
    sa.Column("account_domain", sa.String(255)),
    sa.Column("match_method", sa.String(30)),
    sa.Column("match_confidence", sa.Float()),
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("lifecycle_stage", sa.String(40)),
    sa.Column("stage_since", UTCDateTime()),  # 0003
    sa.Column("due_at", UTCDateTime()),  # 0003: the next time-based lifecycle move
    sa.Column("owner", sa.String(320)),
    sa.Column("source", sa.String(200)),
    sa.Column("merged_into", BigId, sa.ForeignKey("contacts.id")),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_contacts_account_id", "account_id"),
    sa.Index("ix_contacts_due_at", "due_at"),
    sa.Index("ix_contacts_lifecycle_stage", "lifecycle_stage"),  # 0016: the sales queue
)

identities = sa.Table(
    "identities", metadata, _id(),
    sa.Column("kind", sa.String(20), nullable=False),  # email | anonymous_id | external
    sa.Column("namespace", sa.String(40), nullable=False, server_default=""),
    sa.Column("value", sa.String(limits.IDENTIFIER), nullable=False),  # the key (email_key)
    sa.Column("raw", sa.String(320)),  # as first written
    sa.Column("contact_id", BigId, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("source", sa.String(200)),
    _created(),
    sa.UniqueConstraint("kind", "namespace", "value", name="uq_identities_key"),
    sa.Index("ix_identities_contact_id", "contact_id"),
)

events = sa.Table(
    "events", metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(limits.MAX_EVENT_ID), nullable=False),
    sa.Column("type", sa.String(limits.MAX_EVENT_TYPE), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("contact_id", BigId, sa.ForeignKey("contacts.id")),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id")),
    sa.Column("email", sa.String(320)),
    sa.Column("anonymous_id", sa.String(limits.MAX_ANONYMOUS_ID)),
    sa.Column("account_domain", sa.String(255)),
    sa.Column("properties", JSONType, nullable=False),
    sa.Column("source", sa.String(200)),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("event_id"),
    sa.Index("ix_events_contact_id_at", "contact_id", "at"),
    sa.Index("ix_events_account_id_at", "account_id", "at"),
    sa.Index("ix_events_anonymous_id", "anonymous_id"),
)

contact_scores = sa.Table(
    "contact_scores", metadata,
    sa.Column("contact_id", BigId, sa.ForeignKey("contacts.id"), primary_key=True),
    sa.Column("model_version_id", BigId, sa.ForeignKey("model_versions.id"), primary_key=True),
    sa.Column("state", JSONType, nullable=False),  # scoring.intent.state_to_dict
    sa.Column("fit", sa.Float()),
    sa.Column("intent", sa.Float()),
    sa.Column("total", sa.Float()),
    sa.Column("grade", sa.String(10)),
    sa.Column("mql", sa.Boolean()),
    sa.Column("reasons", JSONType),
    sa.Column("qualified_until", UTCDateTime()),
    sa.Column("scored_at", UTCDateTime()),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

account_scores = sa.Table(
    "account_scores", metadata,
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("model_version_id", BigId, sa.ForeignKey("model_versions.id"), primary_key=True),
    sa.Column("state", JSONType, nullable=False),
    sa.Column("score", sa.Float()),
    sa.Column("mqa", sa.Boolean()),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

lifecycle_history = sa.Table(
    "lifecycle_history", metadata, _id(),
    sa.Column("contact_id", BigId, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("from_stage", sa.String(40)),
    sa.Column("to_stage", sa.String(40), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("cause", sa.Text()),
    sa.Column("actor", sa.String(200)),
    sa.Column("model_version_id", BigId, sa.ForeignKey("model_versions.id")),
    sa.Column("reason", sa.Text()),  # 0003
    sa.Index("ix_lifecycle_history_contact_id_at", "contact_id", "at"),
)

# 0008: the moments from which only fresh intent counts for a contact (`requalify:
# fresh_intent`): a recycle or rejection. A contact's own events at or before its latest
# point before a time T do not count at T (its account's rules still see them).
intent_resets = sa.Table(
    "intent_resets", metadata, _id(),
    sa.Column("contact_id", BigId, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("cause", sa.String(40), nullable=False),
    sa.Index("ix_intent_resets_contact_id_at", "contact_id", "at"),
)

# 0017 (issue 21): nurture entry and exit facts, exact in time: a contact is on a track
# from its `enrolled` row until the next `unenrolled` row of that contact
nurture_facts = sa.Table(
    "nurture_facts", metadata, _id(),
    sa.Column("contact_id", BigId, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("track", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # enrolled | unenrolled
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("cause", sa.String(40), nullable=False),  # event, due, consent, model_change
    sa.Column("model_version_id", BigId, sa.ForeignKey("model_versions.id")),
    sa.Column("channels", JSONType),  # the permitted channels at the moment
    sa.Index("ix_nurture_facts_contact_id_at", "contact_id", "at"),
    sa.Index("ix_nurture_facts_track_at", "track", "at"),
)

consent = sa.Table(
    "consent", metadata, _id(),
    sa.Column("contact_id", BigId, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("jurisdiction", sa.String(40)),
    sa.Column("regime", sa.String(20)),
    sa.Column("status", sa.String(20), nullable=False),  # granted | denied | withdrawn
    sa.Column("basis", sa.String(100)),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("source", sa.String(200)),
    # 0011 (issue 17): every change is kept; the state as of t is `mql.compliance.consent`
    sa.Column("purpose", sa.String(40), nullable=False, server_default="marketing"),
    sa.Column("evidence", JSONType),  # form id, IP, text version ... (GDPR: demonstrable)
    sa.Column("expires_at", UTCDateTime()),  # the record's own expiry
    sa.Column("origin_id", BigId),  # the contact it was given by (kept across merges)
    sa.Column("recorded_at", UTCDateTime()),
    sa.Column("fingerprint", sa.String(64)),  # contact, channel, purpose, status, basis, at
    sa.Index("ix_consent_contact_id_channel", "contact_id", "channel"),
    sa.Index("ix_consent_fingerprint", "fingerprint", unique=True),
)

# 0011 (issue 17): suppression lists that always win: an email (SHA-256 of the address,
# so an erased person's entry keeps no address), a domain or an account's domain
suppressions = sa.Table(
    "suppressions", metadata, _id(),
    sa.Column("kind", sa.String(20), nullable=False),  # email | domain | account
    sa.Column("value", sa.String(320), nullable=False),
    sa.Column("reason", sa.String(200)),
    sa.Column("source", sa.String(1000)),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("kind", "value", name="uq_suppressions_kind_value"),
)

quarantine = sa.Table(
    "quarantine", metadata, _id(),
    sa.Column("kind", sa.String(20), nullable=False),  # accounts | contacts | events
    sa.Column("source", sa.String(1000), nullable=False),
    sa.Column("row", sa.Integer(), nullable=False),
    sa.Column("raw", sa.Text(), nullable=False),  # the row as JSON text
    sa.Column("field", sa.String(200)),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("mapping", sa.String(1000)),  # 0009: a name or a mapping file's path
    sa.Column("status", sa.String(20), nullable=False, server_default="open"),
    # open | resolved (loaded by a retry or a later corrected row) | dismissed (by a person)
    _created(),
    sa.Column("resolved_at", UTCDateTime()),
    sa.Column("fingerprint", sa.String(64)),  # 0005: kind, source, row and raw, hashed
    sa.Column("subject", sa.String(320)),  # 0005: event id, email or domain the row is about
    sa.Column("note", sa.Text()),  # 0005: why it was dismissed, or which row resolved it
    sa.Column("message_id", sa.String(200)),  # 0006: a held Segment message is held once
    sa.Index("ix_quarantine_status", "status"),
    sa.Index("ix_quarantine_fingerprint", "fingerprint", unique=True),
    sa.Index("ix_quarantine_subject", "subject"),
    sa.Index("ix_quarantine_message_id", "kind", "message_id"),
)

outbox = sa.Table(
    "outbox", metadata, _id(),
    sa.Column("topic", sa.String(100), nullable=False),
    sa.Column("subject", sa.String(320)),
    sa.Column("payload", JSONType, nullable=False),
    _created(),
    sa.Column("available_at", UTCDateTime(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("locked_until", UTCDateTime()),
    sa.Column("delivered_at", UTCDateTime()),
    sa.Column("last_error", sa.Text()),
    sa.Column("status", sa.String(20), nullable=False, server_default="pending"),  # 0003
    # pending | delivered | dead | refused
    sa.Column("delivery_id", sa.String(64)),  # 0003: stable across retries
    sa.Column("webhook_id", BigId),  # 0007: the subscription (also in the payload)
    sa.Column("sequence", sa.BigInteger()),  # 0007: 1, 2, 3 ... per subscription
    # locked_until: while a worker sends the row (a claim, released when it records)
    sa.Index("ix_outbox_pending", "delivered_at", "available_at"),
    sa.Index("ix_outbox_status_available_at", "status", "available_at"),
    sa.Index("ix_outbox_webhook_id", "webhook_id"),
)

# added by migration 0007: every attempt of every delivery (kept by `outbox retry`)
delivery_attempts = sa.Table(
    "delivery_attempts", metadata, _id(),
    sa.Column("outbox_id", BigId, sa.ForeignKey("outbox.id"), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),  # delivered | retry | dead | refused
    sa.Column("http_status", sa.Integer()),
    sa.Column("error", sa.Text()),
    sa.Column("seconds", sa.Float()),
    sa.Index("ix_delivery_attempts_outbox_id", "outbox_id"),
)

merges = sa.Table(
    "merges", metadata, _id(),
    sa.Column("survivor_id", BigId, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("merged_id", BigId, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("before", JSONType, nullable=False),  # what undo needs to restore
    sa.Column("undone_at", UTCDateTime()),
)

audit_log = sa.Table(
    "audit_log", metadata, _id(),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("subject", sa.String(320)),
    sa.Column("detail", JSONType, nullable=False),
    # 0016: an account's MQAs and stage moves, a subject's lines of one action
    sa.Index("ix_audit_log_action_subject_at", "action", "subject", "at"),
)

# added by migration 0002: where an interrupted file ingest resumes
ingest_checkpoints = sa.Table(
    "ingest_checkpoints", metadata,
    sa.Column("source", sa.String(1000), primary_key=True),  # kind:path:size:mtime digest
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("rows_done", sa.Integer(), nullable=False),
    sa.Column("finished", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

# added by migration 0003: hand-off (lifecycle scheduling, assignments, SLAs, webhooks)
assignments = sa.Table(
    "assignments", metadata, _id(),
    sa.Column("contact_id", BigId, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("team", sa.String(100)),
    sa.Column("owner", sa.String(320)),
    sa.Column("rule", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text()),
    sa.Column("assigned_at", UTCDateTime(), nullable=False),
    sa.Column("sla", sa.String(100)),
    sa.Column("sla_due_at", UTCDateTime()),
    sa.Column("first_touch_at", UTCDateTime()),
    sa.Column("breaches", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("status", sa.String(20), nullable=False, server_default="open"),
    # open, breached, escalated (untouched); met, late (first touch before / after the
    # deadline); closed (left MQL untouched)
    sa.Index("ix_assignments_status_sla_due_at", "status", "sla_due_at"),
    sa.Index("ix_assignments_contact_id", "contact_id"),
)

routing_state = sa.Table(
    "routing_state", metadata,
    sa.Column("team", sa.String(100), primary_key=True),
    sa.Column("credit", JSONType, nullable=False),  # round-robin credit per member
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

webhooks = sa.Table(
    "webhooks", metadata, _id(),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("secret", sa.Text(), nullable=False),  # 0007: Fernet-encrypted ("fernet:...")
    sa.Column("topics", JSONType, nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),  # removed
    _created(),
    # 0007: the secret before a rotation, still signed with until `previous_until`
    sa.Column("previous_secret", sa.Text()),
    sa.Column("previous_until", UTCDateTime()),
    sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),  # 0007
    sa.Column("next_sequence", sa.BigInteger(), nullable=False, server_default="0"),  # 0007
    sa.Column("updated_at", UTCDateTime()),  # 0007
)

# added by migration 0004: write keys (send events only) and API tokens (roles), hashed
auth_keys = sa.Table(
    "auth_keys", metadata, _id(),
    sa.Column("key_id", sa.String(32), nullable=False, unique=True),  # public part of the key
    sa.Column("digest", sa.String(64), nullable=False),  # HMAC-SHA256 of the secret part
    sa.Column("kind", sa.String(20), nullable=False),  # write_key | token
    sa.Column("role", sa.String(20), nullable=False),  # writer | admin | marketing | sales | ...
    sa.Column("name", sa.String(200), nullable=False),  # the source or the person
    sa.Column("team", sa.String(100)),
    _created(),
    sa.Column("revoked_at", UTCDateTime()),
)

# added by migration 0010: outcomes. Opportunities (deals) as they stand now, with every
# stage change kept; who took part; which hand-off sourced or influenced each one; what
# marketing spent; and every sales disposition with its reason.
opportunities = sa.Table(
    "opportunities", metadata, _id(),
    sa.Column("external_id", sa.String(200), nullable=False, unique=True),  # the CRM's id
    sa.Column("name", sa.String(500)),
    sa.Column("account_id", BigId, sa.ForeignKey("accounts.id")),
    sa.Column("account_domain", sa.String(255)),
    sa.Column("primary_contact_id", BigId, sa.ForeignKey("contacts.id")),
    sa.Column("primary_email", sa.String(320)),
    sa.Column("product_line", sa.String(200)),
    sa.Column("amount", sa.Float()),
    sa.Column("currency", sa.String(3)),
    sa.Column("opened_at", UTCDateTime(), nullable=False),  # created in the CRM
    sa.Column("closed_at", UTCDateTime()),
    sa.Column("stage", sa.String(200)),
    sa.Column("status", sa.String(20), nullable=False),  # open | won | lost
    sa.Column("lost_reason", sa.String(200)),
    sa.Column("lead_source", sa.String(200)),  # marketing, outbound, partner ... as the CRM says
    sa.Column("attributes", JSONType, nullable=False),
    sa.Column("as_of", UTCDateTime(), nullable=False),  # time of the newest state applied
    sa.Column("source", sa.String(1000)),  # the file or API client it came from
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index("ix_opportunities_account_id", "account_id"),
)

opportunity_history = sa.Table(
    "opportunity_history", metadata, _id(),
    sa.Column("opportunity_id", BigId, sa.ForeignKey("opportunities.id"), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),  # when the stage changed in the CRM
    sa.Column("stage", sa.String(200)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("amount", sa.Float()),
    sa.Column("closed_at", UTCDateTime()),
    sa.Column("source", sa.String(1000)),
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("opportunity_id", "at", "stage",
                        name="uq_opportunity_history_opportunity_id_at_stage"),
)

opportunity_contacts = sa.Table(
    "opportunity_contacts", metadata, _id(),
    sa.Column("opportunity_id", BigId, sa.ForeignKey("opportunities.id"), nullable=False),
    sa.Column("contact_id", BigId, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("role", sa.String(100)),  # the CRM's contact role (decision maker, champion ...)
    sa.Column("is_primary", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("source", sa.String(1000)),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("opportunity_id", "contact_id",
                        name="uq_opportunity_contacts_opportunity_id_contact_id"),
)

opportunity_links = sa.Table(
    "opportunity_links", metadata, _id(),
    sa.Column("opportunity_id", BigId, sa.ForeignKey("opportunities.id"), nullable=False),
    sa.Column("contact_id", BigId, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # sourced | influenced
    # the qualification it credits: the MQL (or MQA) move in lifecycle_history
    sa.Column("history_id", BigId, sa.ForeignKey("lifecycle_history.id")),
    sa.Column("qualified_at", UTCDateTime()),
    sa.Column("rule", sa.Text(), nullable=False),  # the link rule in words, as applied
    sa.Column("linked_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("opportunity_id", "contact_id",
                        name="uq_opportunity_links_opportunity_id_contact_id"),
)

marketing_costs = sa.Table(
    "marketing_costs", metadata, _id(),
    sa.Column("month", sa.String(7), nullable=False),  # YYYY-MM
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("campaign", sa.String(200), nullable=False, server_default=""),  # "" = whole channel
    sa.Column("amount", sa.Float(), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("touches", sa.Integer()),  # paid touches bought (clicks, scans), when known
    sa.Column("source", sa.String(1000)),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("month", "channel", "campaign",
                        name="uq_marketing_costs_month_channel_campaign"),
)

dispositions = sa.Table(
    "dispositions", metadata, _id(),
    sa.Column("contact_id", BigId, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    # accepted | rejected | recycled | sql | converted | no_response ... (the model's list)
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("reason", sa.String(100)),  # from the model's reason list
    sa.Column("note", sa.Text()),
    sa.Column("actor", sa.String(320)),
    sa.Column("opportunity_id", BigId, sa.ForeignKey("opportunities.id")),
    sa.Column("source", sa.String(1000)),  # cli, api, or the file it came from
    sa.Column("recorded_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("contact_id", "at", "status",
                        name="uq_dispositions_contact_id_at_status"),
    sa.Index("ix_dispositions_at", "at"),
)
