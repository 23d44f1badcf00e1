"""Companies: names, domains, industry, heavy-tailed size, country mix, technologies,
ABM tier, status, owner, and the hidden fit that drives how likely they are to buy.

>>> import random
>>> from mql.synthetic.firmographics import company
>>> c = company(random.Random(5), index=0, taken=set())
>>> c.account.domain, c.account.attributes["country"], c.segment
('riverlakemedia.de', 'DE', 'mid')
>>> c.segment in ("small", "mid", "enterprise") and 0.0 <= c.fit <= 1.0
True
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from dataclasses import dataclass
from types import MappingProxyType

from mql.records import Account
from mql.synthetic.draws import chance, one_of, pick

# share of accounts per country; grouped: US 42%, Canada 7%, UK 10%, EU/EEA 24%, APAC 14%,
# LATAM 3%
COUNTRIES: dict[str, float] = {
    "US": 42.0, "CA": 7.0, "GB": 10.0,
    "DE": 7.0, "FR": 4.5, "NL": 3.0, "ES": 2.0, "IT": 2.0, "SE": 1.5, "IE": 1.5,
    "PL": 1.0, "DK": 0.75, "NO": 0.75,
    "AU": 4.0, "JP": 3.0, "IN": 3.0, "SG": 2.5, "NZ": 1.5,
    "BR": 2.0, "MX": 1.0,
}  # fmt: skip
EU_EEA = frozenset({"DE", "FR", "NL", "ES", "IT", "SE", "IE", "PL", "DK", "NO"})
REGION_OF: dict[str, str] = {
    **{c: "EMEA" for c in (*EU_EEA, "GB")},
    "US": "NA", "CA": "NA", "AU": "APAC", "JP": "APAC", "IN": "APAC", "SG": "APAC",
    "NZ": "APAC", "BR": "LATAM", "MX": "LATAM",
}  # fmt: skip

INDUSTRIES: dict[str, float] = {
    "software": 16, "fintech": 6, "healthcare": 9, "financial_services": 9,
    "manufacturing": 12, "retail": 9, "education": 6, "government": 4, "media": 6,
    "telecom": 4, "professional_services": 13, "nonprofit": 6,
}  # fmt: skip
# how well each industry matches the vendor's ideal customer profile (hidden)
INDUSTRY_FIT: dict[str, float] = {
    "software": 1.0, "fintech": 0.95, "financial_services": 0.85, "healthcare": 0.7,
    "telecom": 0.7, "professional_services": 0.6, "media": 0.5, "manufacturing": 0.45,
    "retail": 0.45, "education": 0.25, "government": 0.25, "nonprofit": 0.15,
}  # fmt: skip
REGION_FIT = {"NA": 1.0, "EMEA": 0.9, "APAC": 0.6, "LATAM": 0.4}
# annual revenue per employee in USD (median), by industry
REVENUE_PER_EMPLOYEE: dict[str, float] = {
    "software": 220e3, "fintech": 260e3, "healthcare": 150e3, "financial_services": 320e3,
    "manufacturing": 250e3, "retail": 180e3, "education": 80e3, "government": 100e3,
    "media": 200e3, "telecom": 350e3, "professional_services": 150e3, "nonprofit": 70e3,
}  # fmt: skip
# technology -> adoption probability at a mid-sized company; the first five are ICP signals
TECHNOLOGIES: dict[str, float] = {
    "salesforce": 0.35, "snowflake": 0.15, "aws": 0.45, "okta": 0.2, "hubspot": 0.25,
    "azure": 0.3, "gcp": 0.15, "marketo": 0.1, "slack": 0.5, "zoom": 0.6, "workday": 0.12,
    "servicenow": 0.1, "jira": 0.35, "github": 0.3, "datadog": 0.1, "sap": 0.12,
    "zendesk": 0.15, "shopify": 0.05,
}  # fmt: skip
ICP_TECHNOLOGIES = ("salesforce", "snowflake", "aws", "okta", "hubspot")

# log-normal employees: median 120, sigma 1.6 -> ~29% under 50, ~9% from 1,000, ~1% from 5,000
EMPLOYEES_MEDIAN = 120.0
EMPLOYEES_SIGMA = 1.6
EMPLOYEES_MAX = 400_000
SMALL_BELOW = 100  # small: fewer than 100 employees
ENTERPRISE_FROM = 1000  # enterprise: 1,000 employees or more

STATUSES = {"prospect": 0.933, "customer": 0.04, "partner": 0.02, "competitor": 0.007}
OWNERS = {
    "NA": ("alex.morgan", "jordan.lee", "sam.rivera", "casey.nguyen"),
    "EMEA": ("emma.schmidt", "lucas.martin", "sofia.rossi", "noah.jansen"),
    "APAC": ("hiro.tanaka", "priya.sharma"),
    "LATAM": ("mateo.silva",),
}
VENDOR_DOMAIN = "vendor.example"
PRODUCT_LINES = {"platform": 0.5, "analytics": 0.3, "governance": 0.2}
# which department buys each product line
BUYING_DEPARTMENTS = {
    "platform": ("it", "engineering"),
    "analytics": ("marketing", "sales", "operations"),
    "governance": ("security", "legal", "it"),
}
EMAIL_CONVENTIONS = {"first.last": 45, "flast": 25, "first": 10, "firstl": 8, "first_last": 7,
                     "last.first": 5}  # fmt: skip

_PREFIXES = (
    "Acme", "Apex", "Arbor", "Atlas", "Beacon", "Blue", "Bright", "Cedar", "Clear", "Cobalt",
    "Crest", "Delta", "Echo", "Ever", "Falcon", "Granite", "Harbor", "Helix", "Horizon", "Iron",
    "Juniper", "Keystone", "Lumen", "Maple", "Meridian", "Nimbus", "North", "Nova", "Oak",
    "Orbit", "Peak", "Pine", "Pioneer", "Quantum", "Red", "River", "Sage", "Silver", "Summit",
    "Terra", "True", "Vanguard", "Vertex", "Wave", "Willow", "Zenith", "Kestrel", "Lark",
)  # fmt: skip
_MIDDLES = ("", "", "", "Stone", "Bay", "Point", "Ridge", "Field", "Gate", "Line", "Path",
            "Bridge", "Light", "Spring", "Rock", "Star", "Lake", "Wood")  # fmt: skip
_SUFFIXES: dict[str, tuple[str, ...]] = {
    "software": ("Labs", "Software", "Systems", "Cloud", "Data", "AI", "Logic", "Works"),
    "fintech": ("Pay", "Ledger", "Capital", "Finance", "Wallet", "Money"),
    "healthcare": ("Health", "Care", "Medical", "Clinics", "Bio", "Therapeutics"),
    "financial_services": ("Bank", "Financial", "Insurance", "Partners", "Trust", "Securities"),
    "manufacturing": ("Industries", "Manufacturing", "Components", "Robotics", "Metals"),
    "retail": ("Retail", "Goods", "Market", "Outfitters", "Stores", "Brands"),
    "education": ("University", "Academy", "Learning", "College", "Institute"),
    "government": ("County", "City Council", "Transit Authority", "Water Board", "Agency"),
    "media": ("Media", "Studios", "Publishing", "News", "Broadcasting"),
    "telecom": ("Telecom", "Networks", "Mobile", "Communications", "Fiber"),
    "professional_services": ("Consulting", "Advisors", "Group", "Associates", "Legal"),
    "nonprofit": ("Foundation", "Alliance", "Fund", "Society", "Relief"),
}
_LEGAL = {"US": ("Inc.", "LLC", "Corp.", ""), "CA": ("Inc.", "Ltd.", ""), "GB": ("Ltd", "plc", ""),
          "DE": ("GmbH", "AG"), "FR": ("SAS", "SA"), "NL": ("B.V.", "N.V."), "ES": ("S.L.", "S.A."),
          "IT": ("S.p.A.", "S.r.l."), "SE": ("AB",), "IE": ("Ltd", "DAC"), "PL": ("sp. z o.o.",),
          "DK": ("A/S", "ApS"), "NO": ("AS", "ASA"), "AU": ("Pty Ltd", ""), "JP": ("K.K.", ""),
          "IN": ("Pvt Ltd", "Ltd"), "SG": ("Pte. Ltd.",), "NZ": ("Ltd",), "BR": ("Ltda.", "S.A."),
          "MX": ("S.A. de C.V.",)}  # fmt: skip
_TLD = {"US": ".com", "CA": ".ca", "GB": ".co.uk", "DE": ".de", "FR": ".fr", "NL": ".nl",
        "ES": ".es", "IT": ".it", "SE": ".se", "IE": ".ie", "PL": ".pl", "DK": ".dk", "NO": ".no",
        "AU": ".com.au", "JP": ".co.jp", "IN": ".in", "SG": ".com.sg", "NZ": ".co.nz",
        "BR": ".com.br", "MX": ".com.mx"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Company:
    """An account plus what the world knows about it and no file shows.

    `fit` (0-1) is the hidden match with the vendor's ideal customer profile; `segment` is
    small (<100 employees), mid or enterprise (>=1,000); `product` the product line it
    would buy; `department` the buying department; `email_convention` how its addresses
    are built.
    """

    index: int
    account: Account
    fit: float
    segment: str
    product: str
    department: str
    email_convention: str
    status: str
    country: str
    region: str
    employees: int


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits of `text` (accents folded), for domains and emails.

    >>> slug("Müller-Ørsted & Co")
    'muellerorstedco'
    """
    text = text.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ß", "ss")
    text = text.replace("ø", "o").replace("Ø", "O").replace("æ", "ae").replace("å", "a")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


def employees_draw(rng: random.Random) -> int:
    """A heavy-tailed employee count (log-normal, median 120, sigma 1.6, 1..400,000)."""
    value = math.exp(rng.gauss(math.log(EMPLOYEES_MEDIAN), EMPLOYEES_SIGMA))
    return max(1, min(EMPLOYEES_MAX, round(value)))


def segment_of(employees: int) -> str:
    """'small', 'mid' or 'enterprise' for a head count.

    >>> segment_of(12), segment_of(250), segment_of(5000)
    ('small', 'mid', 'enterprise')
    """
    if employees < SMALL_BELOW:
        return "small"
    return "enterprise" if employees >= ENTERPRISE_FROM else "mid"


def _size_fit(employees: int) -> float:
    if employees < 20:
        return 0.2
    if employees < SMALL_BELOW:
        return 0.5
    if employees < ENTERPRISE_FROM:
        return 0.9
    return 1.0 if employees < 10_000 else 0.8


def _technologies(rng: random.Random, employees: int) -> list[str]:
    scale = min(2.0, max(0.3, math.log10(max(employees, 2)) / 2.0))
    return [t for t, p in TECHNOLOGIES.items() if chance(rng, min(0.95, p * scale))]


def _name_and_domain(
    rng: random.Random, industry: str, country: str, taken: set[str]
) -> tuple[str, str]:
    for attempt in range(6):
        words = one_of(rng, _PREFIXES) + one_of(rng, _MIDDLES).lower()
        base = f"{words} {one_of(rng, _SUFFIXES[industry])}"
        if industry == "government" and chance(rng, 0.5):
            base = f"City of {words}"
        tld = _TLD[country] if chance(rng, 0.55) or country == "US" else ".com"
        if industry == "software" and chance(rng, 0.3):
            tld = one_of(rng, (".io", ".io", ".ai", ".dev"))
        elif industry in ("nonprofit",):
            tld = ".org"
        elif industry == "education":
            tld = ".edu" if country == "US" else (".ac.uk" if country == "GB" else tld)
        elif industry == "government" and country in ("US", "GB"):
            tld = ".gov" if country == "US" else ".gov.uk"
        stem = slug(base)
        if attempt >= 3:
            stem = f"{stem}{rng.randint(2, 999)}"
        domain = stem + tld
        if domain not in taken:
            taken.add(domain)
            legal = one_of(rng, _LEGAL[country])
            name = (
                f"{base} {legal}".strip()
                if industry not in ("government", "education", "nonprofit")
                else base
            )
            return name, domain
    raise AssertionError("unreachable: a numbered domain is always found")  # pragma: no cover


def company(rng: random.Random, *, index: int, taken: set[str]) -> Company:
    """One company; `taken` holds the domains already used and receives the new one."""
    country = pick(rng, COUNTRIES)
    region = REGION_OF[country]
    industry = pick(rng, INDUSTRIES)
    employees = employees_draw(rng)
    segment = segment_of(employees)
    name, domain = _name_and_domain(rng, industry, country, taken)
    revenue = REVENUE_PER_EMPLOYEE[industry] * employees * math.exp(rng.gauss(0.0, 0.35))
    revenue = float(round(revenue, -3))
    techs = _technologies(rng, employees)
    icp_overlap = sum(1 for t in ICP_TECHNOLOGIES if t in techs)
    fit = (
        INDUSTRY_FIT[industry]
        * _size_fit(employees)
        * REGION_FIT[region]
        * (0.7 + 0.15 * min(icp_overlap, 2))
        * math.exp(rng.gauss(0.0, 0.2))
    )
    fit = round(min(1.0, fit), 4)
    status = pick(rng, STATUSES)
    tier = None
    if status == "prospect" and segment != "small":
        score = fit * (1.6 if segment == "enterprise" else 1.0)
        if score > 0.9 and chance(rng, 0.5):
            tier = "1:1"
        elif score > 0.65 and chance(rng, 0.35):
            tier = "1:few"
        elif score > 0.4 and chance(rng, 0.3):
            tier = "1:many"
    owner = None
    if tier is not None or status != "prospect" or (segment == "enterprise" and chance(rng, 0.5)):
        owner = f"{one_of(rng, OWNERS[region])}@{VENDOR_DOMAIN}"
    product = pick(rng, PRODUCT_LINES)
    attributes = {
        "name": name,
        "industry": industry,
        "employees": employees,
        "revenue": revenue,
        "country": country,
        "region": region,
        "technologies": ";".join(techs),
        "abm_tier": tier,
        "owner": owner,
        "status": status,
    }
    return Company(
        index=index,
        account=Account(domain, MappingProxyType(attributes)),
        fit=fit,
        segment=segment,
        product=product,
        department=one_of(rng, BUYING_DEPARTMENTS[product]),
        email_convention=pick(rng, EMAIL_CONVENTIONS),
        status=status,
        country=country,
        region=region,
        employees=employees,
    )
