"""Lead-to-account matching: which account a contact belongs to, how, and how sure.

In order: the email domain equals an account domain (`domain`, 1.0); the email host is a
subdomain of an account domain or both share a registrable domain (`subdomain`, 0.95);
the company label matches an account under another country suffix, when exactly one
account carries it (`country_domain`, 0.85: acme.de -> acme.com); otherwise, with a company
name, the best fuzzy name match at or above `min_name_score` (`name`, score/100, via
rapidfuzz). Free-mail addresses (gmail.com, outlook.com ...) never match by domain.

>>> index = AccountIndex([("acme.com", "Acme Inc."), ("globex.co.uk", "Globex Ltd")])
>>> index.match("jane@emea.acme.com")
AccountMatch(account='acme.com', method='subdomain', confidence=0.95)
>>> index.match("joe@globex.de")
AccountMatch(account='globex.co.uk', method='country_domain', confidence=0.85)
>>> index.match("joe@gmail.com", company="ACME, Inc") .method
'name'
>>> index.match("joe@gmail.com") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from mql.identity.domains import clean_host, company_label, registered_domain

FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "ymail.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me",
    "protonmail.com", "pm.me", "gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de",
    "mail.ru", "yandex.ru", "yandex.com", "qq.com", "163.com", "126.com", "naver.com",
    "zoho.com", "fastmail.com", "hey.com", "tutanota.com", "orange.fr", "free.fr",
    "laposte.net", "libero.it", "btinternet.com", "comcast.net", "verizon.net", "att.net",
    "seznam.cz", "wp.pl", "o2.pl", "rediffmail.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
    "hotmail.co.uk", "hotmail.fr", "outlook.de", "live.co.uk", "mail.com", "inbox.com",
})
FREE_MAIL_LABELS = frozenset({"gmail", "googlemail", "hotmail", "yahoo", "outlook", "live",
                              "gmx", "yandex", "aol", "icloud", "protonmail"})
_LEGAL = re.compile(r"\b(inc|llc|ltd|limited|gmbh|ag|sa|sas|sarl|bv|nv|plc|corp|corporation|"
                    r"co|company|kk|k\.k|pty|srl|spa|oy|ab|as|aps)\b\.?")

Method = str  # "domain" | "subdomain" | "country_domain" | "name"


def is_free_mail(domain: str) -> bool:
    """True for addresses of free-mail providers, which say nothing about the employer.

    >>> is_free_mail("yahoo.co.jp"), is_free_mail("acme.com")
    (True, False)
    """
    host = clean_host(domain)
    return host in FREE_MAIL_DOMAINS or company_label(host) in FREE_MAIL_LABELS


def company_name_key(name: str) -> str:
    """A company name for fuzzy comparison: lower case, no punctuation or legal suffix.

    >>> company_name_key("Acme, Inc.")
    'acme'
    """
    text = utils.default_process(name)
    return " ".join(_LEGAL.sub(" ", text).split())


@dataclass(frozen=True, slots=True)
class AccountMatch:
    """The account a contact belongs to, the method that found it and its confidence."""

    account: str
    method: Method
    confidence: float


class AccountIndex:
    """Account domains and names, indexed for matching contacts to them."""

    def __init__(self, accounts: Iterable[tuple[str, str | None]] = (), *,
                 min_name_score: float = 90.0) -> None:
        self.min_name_score = min_name_score
        self.domains: set[str] = set()
        self._registered: dict[str, list[str]] = {}
        self._labels: dict[str, list[str]] = {}
        self._names: dict[str, str] = {}
        for domain, name in accounts:
            self.add(domain, name)

    def add(self, domain: str, name: str | None = None) -> None:
        """Index one account (its domain, and its name for fuzzy matching)."""
        host = clean_host(domain)
        if host in self.domains:
            if name:
                self._names[host] = company_name_key(name)
            return
        self.domains.add(host)
        self._registered.setdefault(registered_domain(host), []).append(host)
        self._labels.setdefault(company_label(host), []).append(host)
        if name:
            key = company_name_key(name)
            if key:
                self._names[host] = key

    def match(self, email: str, company: str | None = None) -> AccountMatch | None:
        """The account of the contact with `email` (and `company` name), or None."""
        domain = email.rpartition("@")[2]
        found = self.match_domain(domain) if domain and not is_free_mail(domain) else None
        if found is None and company:
            found = self.match_name(company)
        return found

    def match_domain(self, host: str) -> AccountMatch | None:
        """The account of a web or email domain, or None (free-mail included)."""
        host = clean_host(host)
        if host in self.domains:
            return AccountMatch(host, "domain", 1.0)
        same = self._registered.get(registered_domain(host), [])
        if same:
            # the shortest candidate is the parent (acme.com before emea.acme.com)
            return AccountMatch(min(same, key=len), "subdomain", 0.95)
        label = company_label(host)
        others = self._labels.get(label, []) if len(label) >= 4 else []
        if len({registered_domain(d) for d in others}) == 1:
            return AccountMatch(min(others, key=len), "country_domain", 0.85)
        return None

    def match_name(self, company: str) -> AccountMatch | None:
        """The account whose name is closest to `company`, if close enough."""
        key = company_name_key(company)
        if not key or not self._names:
            return None
        best = process.extractOne(key, self._names, scorer=fuzz.token_sort_ratio,
                                  score_cutoff=self.min_name_score)
        if best is None:
            return None
        _, score, domain = best
        return AccountMatch(str(domain), "name", round(float(score) / 100.0, 3))
