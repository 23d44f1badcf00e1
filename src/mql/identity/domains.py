"""Web domains: the registrable part of a host name, from the bundled public suffix list.

tldextract is used with its bundled snapshot only (`suffix_list_urls=()`, no cache): no
network access, ever. Hosts under a suffix that is not on the list (such as the reserved
``.example``) keep their last two labels.

>>> registered_domain("emea.acme.co.uk")
'acme.co.uk'
>>> registered_domain("WWW.Acme.example.")
'acme.example'
>>> company_label("acme.com.au")
'acme'
"""

from __future__ import annotations

from functools import lru_cache

import tldextract

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def clean_host(host: str) -> str:
    """`host` lower case, without surrounding blanks, a trailing dot, `www.` or a scheme.

    >>> clean_host(" https://www.Acme.com/pricing ")
    'acme.com'
    """
    text = host.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].split(":", 1)[0].rstrip(".")
    return text.removeprefix("www.")


@lru_cache(maxsize=65_536)
def _split(host: str) -> tuple[str, str, str]:
    parts = _EXTRACT(host)
    if not parts.suffix:
        labels = host.split(".")
        if len(labels) < 2:
            return "", host, ""
        return ".".join(labels[:-2]), labels[-2], labels[-1]
    return parts.subdomain, parts.domain, parts.suffix


def registered_domain(host: str) -> str:
    """The domain a company registers for `host` (`emea.acme.com` -> `acme.com`)."""
    _, name, suffix = _split(clean_host(host))
    return f"{name}.{suffix}" if suffix else name


def company_label(host: str) -> str:
    """The company part of `host`, without subdomains and public suffix (`acme`)."""
    return _split(clean_host(host))[1]


def suffix_of(host: str) -> str:
    """The public suffix of `host` (`co.uk`), or '' for a bare name.

    >>> suffix_of("acme.co.uk")
    'co.uk'
    """
    return _split(clean_host(host))[2]
