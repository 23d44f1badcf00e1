"""The fixed words of mql: standard contact and account fields, event types and properties.

A model file may only refer to these (plus the extra fields and event types it declares
itself), so a typo such as ``demo_requestt`` is caught when the model is loaded. The
synthetic world, the file readers and the batch engine use the same names.

>>> "demo_request" in EVENT_TYPES
True
>>> "employees" in ACCOUNT_FIELDS
True
"""

from __future__ import annotations

import re

CONTACT_FIELDS: frozenset[str] = frozenset(
    {
        "email",  # normalized, lower case
        "email_domain",  # derived from email: the part after "@"
        "first_name",
        "last_name",
        "title",  # free text job title, as typed by the person
        "seniority",  # SENIORITIES
        "department",  # DEPARTMENTS
        "committee_role",  # COMMITTEE_ROLES
        "country",  # ISO 3166-1 alpha-2, upper case
        "region",  # REGIONS
        "source",  # how the contact was captured: web, event, list_import, sales, partner ...
        "lifecycle_stage",
        "owner",
        "created_at",
    }
)

ACCOUNT_FIELDS: frozenset[str] = frozenset(
    {
        "domain",  # the key of an account: its web domain, lower case
        "name",
        "industry",  # INDUSTRIES
        "employees",  # integer
        "revenue",  # annual revenue in USD
        "country",
        "region",
        "technologies",  # ";"-separated list, e.g. "salesforce;aws;okta"
        "abm_tier",  # ABM_TIERS
        "owner",
        "status",  # ACCOUNT_STATUSES
    }
)

EVENT_TYPES: frozenset[str] = frozenset(
    {
        "page_view",
        "form_submit",
        "content_download",
        "webinar_registered",
        "webinar_attended",
        "email_send",
        "email_open",
        "email_click",
        "email_unsubscribe",
        "demo_request",
        "trial_signup",
        "product_milestone",
        "event_scan",  # badge scan at a trade show or booth
        "intent_surge",  # third-party intent data; account level (no contact)
        "ad_click",
        # product usage (issue 16: the `product` score and PQLs)
        "signed_up",
        "workspace_created",
        "teammate_invited",
        "usage_milestone",
        "integration_connected",
        "limit_reached",
    }
)

# Other spellings of the standard types, as Segment's spec (past tense: "Demo Requested")
# and CRMs write them, after `event_type` has made them snake case.
EVENT_ALIASES: dict[str, str] = {
    "demo_requested": "demo_request", "requested_demo": "demo_request",
    "trial_started": "trial_signup", "trial_signed_up": "trial_signup",
    "page_viewed": "page_view", "pageview": "page_view",
    "form_submitted": "form_submit", "content_downloaded": "content_download",
    "webinar_registration": "webinar_registered", "registered_for_webinar": "webinar_registered",
    "email_sent": "email_send", "email_opened": "email_open", "email_clicked": "email_click",
    "email_link_clicked": "email_click", "email_unsubscribed": "email_unsubscribe",
    "unsubscribed": "email_unsubscribe", "ad_clicked": "ad_click",
}
_NOT_A_WORD = re.compile(r"[^a-z0-9]+")


def event_type(name: str) -> str:
    """An event name as an mql event type, the same on every path (files, the API, the
    batch engines): lower case words joined by underscores, then the standard name of a
    known other spelling (`EVENT_ALIASES`).

    >>> event_type("Demo Requested"), event_type("webinar-attended"), event_type(" Page View ")
    ('demo_request', 'webinar_attended', 'page_view')
    """
    snake = _NOT_A_WORD.sub("_", name.strip().lower()).strip("_")
    return EVENT_ALIASES.get(snake, snake)


# Properties an event may carry. Conditions of intent rules may name any property;
# these are the ones mql itself produces and documents.
EVENT_PROPERTIES: frozenset[str] = frozenset(
    {
        "url",
        "referrer",
        "page_title",
        "asset",  # name of a downloaded asset
        "asset_type",  # whitepaper, ebook, comparison, case_study, datasheet, report
        "form",
        "webinar",
        "campaign",
        "channel",  # paid_search, paid_social, organic, email, events, partner, direct
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "utm_term",
        "milestone",  # product milestone name (PQL)
        "product",  # product line of interest
        "topic",  # intent-data topic
        "strength",  # intent-data surge strength, 0-100
    }
)

SENIORITIES = ("c_level", "vp", "director", "manager", "individual_contributor", "student")
DEPARTMENTS = (
    "it",
    "security",
    "engineering",
    "marketing",
    "sales",
    "finance",
    "operations",
    "hr",
    "legal",
    "procurement",
    "executive",
    "other",
)
COMMITTEE_ROLES = (
    "decision_maker",
    "economic_buyer",
    "champion",
    "technical_evaluator",
    "user",
    "procurement",
    "security",
)
INDUSTRIES = (
    "software",
    "fintech",
    "healthcare",
    "financial_services",
    "manufacturing",
    "retail",
    "education",
    "government",
    "media",
    "telecom",
    "professional_services",
    "nonprofit",
)
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
ABM_TIERS = ("1:1", "1:few", "1:many")
ACCOUNT_STATUSES = ("prospect", "customer", "partner", "competitor")
