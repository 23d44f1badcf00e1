"""People at an account: the buying committee sized by company size, a few others
(students, job seekers, bystanders), their names, messy titles with correct seniority and
department labels, and their email addresses.

>>> import random
>>> from mql.synthetic.firmographics import company
>>> c = company(random.Random(2), index=0, taken=set())
>>> people = staff(random.Random(3), c, taken=set(), token="w")
>>> all(p.email.count("@") == 1 for p in people)
True
>>> title(random.Random(0), "student", "other")
'Working Student'
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from mql.synthetic.draws import chance, one_of, pick, poisson
from mql.synthetic.firmographics import Company, slug

# committee size by segment: small 1-3 (mean 1.8), mid 3-6 (mean 4.3), enterprise 4-14
# (4 + Poisson(2.8): mean 6.8)
ENTERPRISE_COMMITTEE_BASE = 4
ENTERPRISE_COMMITTEE_EXTRA = 2.8
SMALL_COMMITTEE = {1: 0.4, 2: 0.4, 3: 0.2}
MID_COMMITTEE = {3: 0.25, 4: 0.35, 5: 0.25, 6: 0.15}
# roles in the order they are filled; beyond seven, more users and technical evaluators
ROLE_ORDER = ("decision_maker", "champion", "technical_evaluator", "economic_buyer", "user",
              "security", "procurement")  # fmt: skip
OTHERS_MEAN = {"small": 0.3, "mid": 0.6, "enterprise": 1.2}  # non-committee people
OTHER_KINDS = {"student": 0.35, "job_seeker": 0.35, "bystander": 0.3}
PERSONAL_SHARE = {"committee": 0.08, "student": 0.8, "job_seeker": 0.7, "bystander": 0.15}
SUBDOMAIN_SHARE = 0.25  # share of enterprise people whose address uses a regional subdomain
FOREIGN_SHARE = 0.2  # share of enterprise people based outside the account's country

PERSONAL_DOMAINS = {"gmail.com": 55, "outlook.com": 12, "yahoo.com": 10, "hotmail.com": 8,
                    "icloud.com": 8, "proton.me": 3, "gmx.de": 2, "web.de": 2}  # fmt: skip
SUBDOMAINS = ("us", "emea", "apac", "corp", "mail", "eu", "uk")

_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
            "David", "Elizabeth", "Chris", "Sarah", "Daniel", "Jessica", "Matthew", "Ashley",
            "Andrew", "Emily", "Kevin", "Megan", "Brian", "Laura", "Ryan", "Rachel"),
           ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
            "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White",
            "Harris", "Clark", "Lewis", "Walker", "Young", "O'Brien", "Campbell", "Murphy")),
    "de": (("Lukas", "Anna", "Jonas", "Lena", "Felix", "Laura", "Jürgen", "Katrin", "Stefan",
            "Sabine"), ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer",
                        "Wagner", "Becker", "Schäfer", "Koch")),
    "fr": (("Louis", "Camille", "Hugo", "Léa", "Jules", "Chloé", "Théo", "Manon", "Étienne",
            "Inès"), ("Martin", "Bernard", "Dubois", "Durand", "Lefèvre", "Moreau", "Laurent",
                      "Girard", "Roux", "Fournier")),
    "nl": (("Daan", "Sanne", "Bram", "Femke", "Jeroen", "Eva"),
           ("de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser")),
    "es": (("Javier", "Lucía", "Sergio", "María", "Pablo", "Sofía", "Mateo", "Valentina"),
           ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Silva",
            "Pereira")),
    "it": (("Marco", "Giulia", "Luca", "Francesca", "Matteo", "Chiara"),
           ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano")),
    "nordic": (("Erik", "Ingrid", "Lars", "Astrid", "Mikkel", "Freja", "Ole", "Sigrid"),
               ("Andersson", "Johansson", "Nielsen", "Hansen", "Larsen", "Ørsted",
                "Lindqvist", "Berg")),
    "pl": (("Piotr", "Anna", "Tomasz", "Katarzyna", "Michał", "Agnieszka"),
           ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski")),
    "jp": (("Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Kenji", "Yuki"),
           ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura")),
    "in": (("Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Divya", "Arjun", "Neha"),
           ("Sharma", "Patel", "Gupta", "Singh", "Reddy", "Iyer", "Nair", "Mehta")),
    "sg": (("Wei", "Mei", "Jun", "Hui", "Kai", "Lin"),
           ("Tan", "Lim", "Lee", "Ng", "Ong", "Wong")),
}  # fmt: skip
_LOCALE = {"US": "en", "CA": "en", "GB": "en", "IE": "en", "AU": "en", "NZ": "en", "DE": "de",
           "FR": "fr", "NL": "nl", "ES": "es", "MX": "es", "BR": "es", "IT": "it",
           "SE": "nordic", "DK": "nordic", "NO": "nordic", "PL": "pl", "JP": "jp", "IN": "in",
           "SG": "sg"}  # fmt: skip

# (seniority weights, department choice) per committee role; "buying" means the account's
# buying department
_ROLE_PROFILE: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "decision_maker": ({"c_level": 0.25, "vp": 0.45, "director": 0.3}, {"buying": 1.0}),
    "economic_buyer": (
        {"c_level": 0.4, "vp": 0.4, "director": 0.2},
        {"finance": 0.8, "executive": 0.2},
    ),
    "champion": ({"director": 0.4, "manager": 0.6}, {"buying": 1.0}),
    "technical_evaluator": (
        {"director": 0.15, "manager": 0.35, "individual_contributor": 0.5},
        {"engineering": 0.55, "it": 0.45},
    ),
    "user": ({"individual_contributor": 1.0}, {"buying": 0.7, "operations": 0.3}),
    "procurement": (
        {"director": 0.2, "manager": 0.5, "individual_contributor": 0.3},
        {"procurement": 1.0},
    ),
    "security": (
        {"director": 0.4, "manager": 0.4, "individual_contributor": 0.2},
        {"security": 1.0},
    ),
}
# how much each role engages with marketing (multiplies the weekly touch rate)
ROLE_ENGAGEMENT = {"champion": 1.6, "technical_evaluator": 1.2, "user": 0.8,
                   "decision_maker": 0.6, "security": 0.5, "economic_buyer": 0.3,
                   "procurement": 0.3}  # fmt: skip

_DEPT_NAMES: dict[str, tuple[str, ...]] = {
    "it": ("IT", "Information Technology", "IT Infrastructure", "IT Operations", "Infrastructure"),
    "security": ("Security", "IT Security", "Information Security", "InfoSec", "Cybersecurity"),
    "engineering": (
        "Engineering",
        "Software Engineering",
        "Platform Engineering",
        "R&D",
        "Data Engineering",
    ),
    "marketing": (
        "Marketing",
        "Demand Gen",
        "Demand Generation",
        "Growth Marketing",
        "Marketing Ops",
        "Product Marketing",
        "Digital Marketing",
    ),
    "sales": ("Sales", "Revenue Operations", "RevOps", "Sales Operations", "Business Development"),
    "finance": ("Finance", "FP&A", "Accounting", "Corporate Finance"),
    "operations": ("Operations", "Business Operations", "BizOps", "Ops", "Supply Chain"),
    "hr": ("HR", "Human Resources", "People", "Talent Acquisition", "People Ops"),
    "legal": ("Legal", "Compliance", "Legal & Compliance", "Privacy"),
    "procurement": ("Procurement", "Purchasing", "Strategic Sourcing", "Vendor Management"),
    "executive": ("Executive Office", "Strategy"),
    "other": ("Customer Success", "Facilities", "Administration"),
}
_CHIEF = {"it": ("CIO", "Chief Information Officer"),
          "security": ("CISO", "Chief Information Security Officer", "Chief Security Officer"),
          "engineering": ("CTO", "Chief Technology Officer", "Co-founder & CTO"),
          "marketing": ("CMO", "Chief Marketing Officer"),
          "sales": ("CRO", "Chief Revenue Officer", "Chief Sales Officer"),
          "finance": ("CFO", "Chief Financial Officer"),
          "operations": ("COO", "Chief Operating Officer"),
          "hr": ("CHRO", "Chief People Officer"), "legal": ("General Counsel", "CLO"),
          "procurement": ("Chief Procurement Officer",),
          "executive": ("CEO", "Chief Executive Officer", "Founder & CEO", "Co-founder",
                        "President", "Managing Director", "Owner"),
          "other": ("Chief Customer Officer",)}  # fmt: skip
_VP = ("VP {d}", "VP, {d}", "Vice President of {d}", "Vice President, {d}", "SVP {d}",
       "EVP, {d}", "V.P. {d}", "VP of {d}")  # fmt: skip
_DIRECTOR = ("Director of {d}", "Director, {d}", "{d} Director", "Sr. Dir. {d}",
             "Senior Director, {d}", "Head of {d}", "Dir. {d}", "Sr Director {d}")  # fmt: skip
_MANAGER = ("{d} Manager", "Manager, {d}", "Sr. Manager, {d}", "Senior {d} Manager",
            "{d} Mgr", "{d} Team Lead", "Manager - {d}")  # fmt: skip
_CONTRIBUTOR = {
    "it": (
        "Systems Administrator",
        "IT Specialist",
        "Network Engineer",
        "Sysadmin",
        "Help Desk Analyst",
        "Cloud Engineer",
    ),
    "security": (
        "Security Analyst",
        "Security Engineer",
        "SOC Analyst",
        "Sr. Security Engineer",
        "Penetration Tester",
    ),
    "engineering": (
        "Software Engineer",
        "Senior Software Engineer",
        "Sr. SWE",
        "Staff Engineer",
        "DevOps Engineer",
        "Data Engineer",
        "Developer",
        "Full-stack developer",
    ),
    "marketing": (
        "Marketing Specialist",
        "Demand Gen Specialist",
        "Marketing Ops Analyst",
        "Content Marketer",
        "Marketing Coordinator",
        "Growth Marketer",
    ),
    "sales": (
        "Account Executive",
        "SDR",
        "Sales Development Rep",
        "BDR",
        "Sales Ops Analyst",
        "RevOps Analyst",
    ),
    "finance": ("Financial Analyst", "Accountant", "FP&A Analyst", "Staff Accountant"),
    "operations": ("Operations Analyst", "Business Analyst", "Ops Specialist"),
    "hr": ("Recruiter", "HR Generalist", "Talent Partner"),
    "legal": ("Paralegal", "Privacy Analyst", "Compliance Analyst"),
    "procurement": ("Buyer", "Procurement Specialist", "Sourcing Analyst", "Purchasing Agent"),
    "executive": ("Executive Assistant", "Chief of Staff"),
    "other": ("Consultant", "Analyst", "Specialist", "Associate", "Customer Success Manager"),
}
_STUDENT = ("Student", "student", "MBA Candidate", "PhD Student", "Graduate Student", "Intern",
            "Working Student", "Undergrad", "MSc student")  # fmt: skip


# Committee members' titles come from their role's vocabulary (role -> seniority ->
# templates; {d} is a name of the person's department, from _BUYING_NAMES): real titles
# carry the role most of the time. A decision maker heads the buying department, a
# champion directs or manages in it, a user works in it; a technical evaluator architects
# or leads engineering; security reviews risk and compliance; procurement buys.
_BUYING_NAMES: dict[str, tuple[str, ...]] = {
    **_DEPT_NAMES, "security": ("Security Operations", "SecOps", "Cyber Security Operations")}
_DM_DIRECTOR = ("Head of {d}", "Senior Director, {d}", "Sr. Dir. {d}", "Global Head of {d}",
                "Head of {d} Department", "Senior Director of {d}")  # fmt: skip
_CHAMPION_DIRECTOR = ("Director of {d}", "Director, {d}", "{d} Director", "Dir. {d}")
_ROLE_TITLES: dict[str, dict[str, tuple[str, ...]]] = {
    "decision_maker": {"vp": _VP, "director": _DM_DIRECTOR},
    "economic_buyer": {
        "c_level": ("CFO", "Chief Financial Officer", "CFO & Treasurer"),
        "vp": ("VP Finance", "VP, Finance", "Vice President of Finance", "SVP Finance",
               "VP FP&A", "SVP, Corporate Finance"),
        "director": ("Finance Director", "Director of Finance", "Head of Finance",
                     "Head of FP&A", "Director, Corporate Finance"),
    },
    # an economic buyer in the executive office owns the strategy budget
    "strategy": {"c_level": ("Chief Strategy Officer",),
                 "vp": ("VP Strategy", "VP, Corporate Strategy", "SVP Strategy"),
                 "director": ("Director of Strategy", "Head of Strategy",
                              "Director, Corporate Strategy")},
    "champion": {"director": _CHAMPION_DIRECTOR, "manager": _MANAGER},
    "technical_evaluator": {
        "director": ("Director of Architecture", "Head of Architecture",
                     "Director, Enterprise Architecture", "Head of Platform Architecture"),
        "manager": ("Technical Lead", "Tech Lead", "Lead Engineer", "Engineering Lead",
                    "Architecture Manager", "Lead Architect", "Infrastructure Architecture Lead"),
        "individual_contributor": (
            "Solutions Architect", "Enterprise Architect", "Cloud Architect",
            "Staff Engineer", "Principal Engineer", "Senior Software Engineer", "Sr. SWE",
            "Software Architect", "Staff Software Engineer", "Senior DevOps Engineer",
            "Site Reliability Engineer", "Data Architect"),
    },
    "security": {
        "director": ("Director of Information Security", "Head of GRC",
                     "Information Security Director", "Director, Security & Risk",
                     "Head of Information Security", "Sr. Dir, InfoSec & GRC"),
        "manager": ("Information Security Manager", "GRC Manager", "InfoSec Manager",
                    "Security Risk Manager", "Security Compliance Manager",
                    "IT Risk Manager"),
        "individual_contributor": ("Security Architect", "Information Security Analyst",
                                   "GRC Analyst", "Information Security Officer",
                                   "Security Risk Analyst", "Security Architect, GRC"),
    },
    "procurement": {
        "director": ("Head of Procurement", "Procurement Director", "Director of Purchasing",
                     "Head of Strategic Sourcing", "Director, Procurement"),
        "manager": ("Procurement Manager", "Purchasing Manager", "Strategic Sourcing Manager",
                    "IT Procurement Manager", "Sourcing Manager", "Procurement Lead"),
        "individual_contributor": ("Buyer", "Senior Buyer", "IT Buyer",
                                   "Procurement Specialist", "Sourcing Analyst",
                                   "Purchasing Agent"),
    },
}  # fmt: skip
# users are individual contributors of the buying department (or operations); not the
# titles of technical evaluators or security reviewers
_USER_TITLES: dict[str, tuple[str, ...]] = {
    **_CONTRIBUTOR,
    "it": ("Systems Administrator", "IT Specialist", "Network Engineer", "Sysadmin",
           "Help Desk Analyst", "IT Support Specialist"),
    "security": ("SOC Analyst", "Security Operations Analyst", "Threat Analyst",
                 "SecOps Analyst"),
    "engineering": ("Software Engineer", "Developer", "Full-stack developer",
                    "Junior Developer", "Data Engineer", "Backend Developer"),
}  # fmt: skip
# other languages, by the company's locale: (role, seniority) -> titles
_FOREIGN_TITLES: dict[str, dict[tuple[str, str], tuple[str, ...]]] = {
    "de": {("procurement", "director"): ("Leiter Einkauf", "Leiterin Einkauf"),
           ("procurement", "individual_contributor"): ("Einkäufer", "Einkäuferin"),
           ("economic_buyer", "director"): ("Leiter Finanzen", "Direktor Finanzen"),
           ("security", "director"): ("Direktor Informationssicherheit",),
           ("decision_maker", "director"): ("Leiter {d}", "Leiterin {d}")},
    "fr": {("procurement", "manager"): ("Responsable Achats",),
           ("procurement", "individual_contributor"): ("Acheteur", "Acheteuse IT"),
           ("procurement", "director"): ("Directeur des Achats", "Directrice des Achats"),
           ("economic_buyer", "director"): ("Directeur Financier", "Directrice Financière"),
           ("security", "manager"): ("Responsable Sécurité Informatique",)},
    "es": {("procurement", "director"): ("Jefe de Compras", "Jefa de Compras"),
           ("procurement", "manager"): ("Gerente de Compras",),
           ("economic_buyer", "director"): ("Director Financiero", "Directora Financiera"),
           ("security", "manager"): ("Gerente de Seguridad de la Información",)},
    "it": {("procurement", "manager"): ("Responsabile Acquisti",),
           ("economic_buyer", "director"): ("Direttore Finanza",)},
    "nl": {("procurement", "director"): ("Hoofd Inkoop",),
           ("procurement", "individual_contributor"): ("Inkoper",)},
}  # fmt: skip
FOREIGN_TITLE_SHARE = 0.3  # of committee members whose locale and cell have foreign titles
GENERIC_TITLE_SHARE = 0.06  # committee members whose title names no role
_GENERIC = {"director": ("Director",), "manager": ("Manager", "Senior Manager"),
            "individual_contributor": ("Consultant", "Specialist", "Associate",
                                       "Team Member")}  # fmt: skip
REGION_SUFFIX_SHARE = 0.08
_REGION_SUFFIXES = (" EMEA", " - EMEA", ", APAC", " (DACH)", " - Americas", ", UK&I",
                    " NA", " - Global")  # fmt: skip
ABBREVIATE_SHARE = 0.10
_ABBREVIATIONS = (("Director", "Dir."), ("Senior", "Sr."), ("Manager", "Mgr"),
                  ("Engineering", "Eng"), ("Vice President", "VP"),
                  ("Information Security", "InfoSec"), ("Marketing", "Mktg"))  # fmt: skip
TYPO_SHARE = 0.03


@dataclass(frozen=True, slots=True)
class Person:
    """Someone at an account, as the world knows them (not all become contacts).

    `kind` is committee, student, job_seeker or bystander; `committee_role` is set for
    committee members only; `engagement` multiplies how often they touch the vendor;
    `anonymous_id` is their browser cookie.
    """

    email: str
    first_name: str
    last_name: str
    title: str
    seniority: str
    department: str
    committee_role: str | None
    country: str
    kind: str
    engagement: float
    anonymous_id: str
    personal_email: bool


def committee_size(rng: random.Random, segment: str) -> int:
    """How many people buy at a company of this segment.

    >>> r = random.Random(0)
    >>> 6.5 < sum(committee_size(r, "enterprise") for _ in range(3000)) / 3000 < 7.1
    True
    """
    if segment == "small":
        return pick(rng, SMALL_COMMITTEE)
    if segment == "mid":
        return pick(rng, MID_COMMITTEE)
    return min(14, ENTERPRISE_COMMITTEE_BASE + poisson(rng, ENTERPRISE_COMMITTEE_EXTRA))


def title(rng: random.Random, seniority: str, department: str) -> str:
    """A job title as a person types it, for the given seniority and department labels."""
    dept = one_of(rng, _DEPT_NAMES[department])
    if seniority == "student":
        text = one_of(rng, _STUDENT)
    elif seniority == "c_level":
        text = one_of(rng, _CHIEF[department])
    elif seniority == "vp":
        text = one_of(rng, _VP).format(d=dept)
    elif seniority == "director":
        text = one_of(rng, _DIRECTOR).format(d=dept)
    elif seniority == "manager":
        text = one_of(rng, _MANAGER).format(d=dept)
    else:
        text = one_of(rng, _CONTRIBUTOR[department])
    return _carelessly(rng.random(), text)


def _carelessly(roll: float, text: str) -> str:
    # people type titles carelessly: case, punctuation, stray spaces
    if roll < 0.05:
        text = text.lower()
    elif roll < 0.07:
        text = text.upper()
    elif roll < 0.10:
        text = f" {text} "
    elif roll < 0.12:
        text = text.replace("&", "and")
    elif roll < 0.14:
        text = f"{text}."
    return text


def _typo(rng: random.Random, text: str) -> str:
    # two neighbouring letters swapped inside the longest word ("Procuremnet")
    words = text.split(" ")
    n = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[n]
    if len(word) < 6 or not word.isalpha():
        return text
    i = rng.randrange(1, len(word) - 2)
    words[n] = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return " ".join(words)


def role_title(rng: random.Random, role: str, seniority: str, department: str,
               locale: str) -> str:
    """A committee member's title, drawn from the vocabulary of their role (see
    `_ROLE_TITLES`), with the world's messiness: other languages, role-less generic titles,
    abbreviations, regional suffixes, typos and careless typing. Seniority and department
    labels stay what the title says (a generic title says no department).

    >>> role_title(random.Random(2), "procurement", "director", "procurement", "en")
    'Head of Procurement'
    """
    dept = one_of(rng, _BUYING_NAMES[department])
    if role == "economic_buyer" and department == "executive":
        role = "strategy"
    foreign = _FOREIGN_TITLES.get(locale, {}).get((role, seniority))
    if chance(rng, GENERIC_TITLE_SHARE) and seniority in _GENERIC:
        text = one_of(rng, _GENERIC[seniority])
    elif foreign and chance(rng, FOREIGN_TITLE_SHARE):
        text = one_of(rng, foreign).format(d=dept)
    elif seniority == "c_level":
        text = one_of(rng, _ROLE_TITLES.get(role, {}).get("c_level", _CHIEF[department]))
    elif role == "user":
        text = one_of(rng, _USER_TITLES[department])
    else:
        text = one_of(rng, _ROLE_TITLES[role][seniority]).format(d=dept)
    if chance(rng, ABBREVIATE_SHARE):
        for long, short in _ABBREVIATIONS:
            text = text.replace(long, short)
    if chance(rng, REGION_SUFFIX_SHARE):
        text += one_of(rng, _REGION_SUFFIXES)
    if chance(rng, TYPO_SHARE):
        text = _typo(rng, text)
    return _carelessly(rng.random(), text)


def title_stream(rng: random.Random) -> random.Random:
    """A stream for one title, drawn from `rng`: advancing `rng` by exactly what `title`
    draws (three `random()` calls are six 32-bit words), so a change of title
    vocabularies leaves every other draw of the world as it was."""
    return random.Random(rng.getrandbits(192))


def person_title(rng: random.Random, role: str | None, seniority: str, department: str,
                 country: str) -> str:
    """The title of someone with these labels: a committee member's from their role's
    vocabulary, anyone else's from seniority and department."""
    if role is None:
        return title(rng, seniority, department)
    return role_title(title_stream(rng), role, seniority, department, _LOCALE[country])


def _local_part(convention: str, first: str, last: str) -> str:
    f, s = slug(first), slug(last)
    forms = {
        "first.last": f"{f}.{s}",
        "flast": f"{f[:1]}{s}",
        "first": f,
        "firstl": f"{f}{s[:1]}",
        "first_last": f"{f}_{s}",
        "last.first": f"{s}.{f}",
    }
    return forms[convention]


def _seniority_department(rng: random.Random, role: str, company: Company) -> tuple[str, str]:
    seniorities, departments = _ROLE_PROFILE[role]
    seniority = pick(rng, seniorities)
    department = pick(rng, departments)
    if department == "buying":
        department = company.department
    if company.segment == "small" and role in ("decision_maker", "economic_buyer"):
        # at a small company the founder or CEO signs
        seniority, department = "c_level", one_of(rng, ("executive", department))
    return seniority, department


def staff(rng: random.Random, company: Company, *, taken: set[str], token: str) -> list[Person]:
    """The people of `company`: its buying committee first, then a few others.

    `taken` holds the personal email addresses used so far in the world and receives new
    ones, so no two people share an address; `token` makes cookies unique per world.
    """
    size = committee_size(rng, company.segment)
    roles = [
        ROLE_ORDER[i] if i < len(ROLE_ORDER) else one_of(rng, ("user", "technical_evaluator"))
        for i in range(size)
    ]
    kinds: list[tuple[str, str | None]] = [("committee", r) for r in roles]
    kinds += [
        (pick(rng, OTHER_KINDS), None) for _ in range(poisson(rng, OTHERS_MEAN[company.segment]))
    ]
    locale = _LOCALE[company.country]
    used: set[str] = set()
    people = []
    for n, (kind, role) in enumerate(kinds):
        country = company.country
        if company.segment == "enterprise" and chance(rng, FOREIGN_SHARE):
            country = one_of(rng, ("US", "GB", "DE", "FR", "CA", "IN", "SG", "AU", "NL", "JP"))
        first_names, last_names = _NAMES[_LOCALE[country] if chance(rng, 0.7) else locale]
        first, last = one_of(rng, first_names), one_of(rng, last_names)
        if role is not None:
            seniority, department = _seniority_department(rng, role, company)
            engagement = ROLE_ENGAGEMENT[role]
        elif kind == "student":
            seniority, department, engagement = "student", "other", 0.5
        else:
            seniority = pick(rng, {"individual_contributor": 0.7, "manager": 0.3})
            department = one_of(rng, ("hr", "finance", "other", "operations", "sales"))
            engagement = 0.4
        # engagement varies a lot between people in the same role (log-normal, mean 1)
        engagement *= math.exp(rng.gauss(-0.32, 0.8))
        personal = chance(rng, PERSONAL_SHARE["committee" if role else kind])
        if personal:
            domain = pick(rng, PERSONAL_DOMAINS)
            local = f"{slug(first)}.{slug(last)}"
            email = f"{local}@{domain}"
            while email in taken:
                email = f"{local}{rng.randint(1, 9999)}@{domain}"
            taken.add(email)
        else:
            domain = company.account.domain
            if company.segment == "enterprise" and chance(rng, SUBDOMAIN_SHARE):
                domain = f"{one_of(rng, SUBDOMAINS)}.{domain}"
            local = _local_part(company.email_convention, first, last) or "info"
            candidate = f"{local}@{domain}"
            suffix = 2
            while candidate in used:
                candidate = f"{local}{suffix}@{domain}"
                suffix += 1
            email = candidate
        used.add(email)
        people.append(
            Person(
                email=email,
                first_name=first,
                last_name=last,
                title=person_title(rng, role, seniority, department, country),
                seniority=seniority,
                department=department,
                committee_role=role,
                country=country,
                kind=kind,
                engagement=round(engagement, 4),
                anonymous_id=f"anon-{token}-{company.index:x}-{n:x}",
                personal_email=personal,
            )
        )
    return people
