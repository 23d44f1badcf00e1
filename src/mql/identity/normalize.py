"""Email addresses as identity keys: one key for every way a person writes their address.

`clean_email` is what mql shows and stores (trimmed, lower case). `email_key` is what
identity resolution compares: the clean address without its plus-tag (sub-addressing,
supported by Gmail, Outlook, Google Workspace, Microsoft 365 and most business mail
servers), without dots in the local part on providers that ignore them (Gmail only), on
the provider's canonical domain (googlemail.com -> gmail.com), and — when
`collapse_subdomains` — on the registrable domain (`jane@emea.acme.com` is `jane@acme.com`;
never for free-mail providers, whose subdomains are other services).

>>> email_key("  Jane.Doe+Webinar@ACME.com ")
'jane.doe@acme.com'
>>> email_key("j.a.n.e+news@googlemail.com")
'jane@gmail.com'
>>> email_key("jane.doe@emea.acme.co.uk")
'jane.doe@acme.co.uk'
>>> email_key("jane.doe@emea.acme.co.uk", collapse_subdomains=False)
'jane.doe@emea.acme.co.uk'
"""

from __future__ import annotations

from functools import lru_cache

from mql.identity.domains import registered_domain

DOTS_IGNORED = frozenset({"gmail.com"})
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
SUBADDRESS_SEPARATOR = "+"


def clean_email(text: str) -> str:
    """`text` as mql stores an address: trimmed and lower case; ValueError if it is none.

    >>> clean_email(" Jane@Acme.example ")
    'jane@acme.example'
    >>> clean_email("jane@acme")
    Traceback (most recent call last):
    ...
    ValueError: 'jane@acme' is not an email address (the domain has no dot)
    """
    email = text.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local:
        raise ValueError(f"{text!r} is not an email address (no name before an @)")
    if any(c.isspace() for c in email):
        raise ValueError(f"{text!r} is not an email address (it contains a blank)")
    if "." not in domain or domain.startswith(".") or domain.endswith("."):
        raise ValueError(f"{text!r} is not an email address (the domain has no dot)")
    return email


@lru_cache(maxsize=131_072)
def email_key(text: str, *, collapse_subdomains: bool = True) -> str:
    """The identity key of the address `text` (see the module docstring)."""
    email = clean_email(text)
    local, _, domain = email.rpartition("@")
    domain = DOMAIN_ALIASES.get(domain, domain)
    local = local.split(SUBADDRESS_SEPARATOR, 1)[0] or local
    if domain in DOTS_IGNORED:
        local = local.replace(".", "") or local
    if collapse_subdomains:
        from mql.identity.match import is_free_mail  # one import cycle avoided

        if not is_free_mail(domain):
            domain = registered_domain(domain) or domain
    return f"{local}@{domain}"


def normalize_identifier(kind: str, value: str) -> str:
    """Anonymous and external ids compared as written, minus surrounding blanks; case is
    kept for them (cookie ids are case sensitive), emails are lower case.

    >>> normalize_identifier("anonymous_id", "  Ab12 ")
    'Ab12'
    """
    text = value.strip()
    return text.lower() if kind == "email" else text
