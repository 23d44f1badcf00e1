"""Job titles as people type them, normalised: case, accents, punctuation, abbreviations
("Sr. Dir", "VP Eng", "Mgr"), a few other languages ("Leiter Einkauf", "Directeur
Financier", "Jefe de Compras"), and small typos (rapidfuzz, against the words the
tables below know). From the normalised words: the seniority and the department.

>>> normalise("Sr. Dir, InfoSec & GRC")
'senior director information security and governance risk compliance'
>>> seniority_of("VP Eng"), department_of("VP Eng")
('vp', 'engineering')
>>> seniority_of("Head of Procurement EMEA"), department_of("Head of Procurement EMEA")
('director', 'procurement')
>>> seniority_of("Leiterin Einkauf"), department_of("Leiterin Einkauf")
('director', 'procurement')
>>> seniority_of("Directeur Financier"), department_of("Directeur Financier")
('director', 'finance')
>>> seniority_of("Cheif Informaton Oficer"), department_of("Cheif Informaton Oficer")
('c_level', 'it')
"""

from __future__ import annotations

import functools
import re
import unicodedata

from rapidfuzz import fuzz, process

# one word (or a short phrase) -> its normal form; applied word by word, then to phrases
_WORDS: dict[str, str] = {
    "sr": "senior", "snr": "senior", "sen": "senior", "jr": "junior", "dir": "director",
    "mgr": "manager", "mngr": "manager", "eng": "engineering", "engg": "engineering",
    "engr": "engineer", "swe": "software engineer", "sde": "software engineer",
    "dev": "developer", "devops": "devops engineer", "ops": "operations",
    "infosec": "information security", "cybersecurity": "cyber security",
    "secops": "security operations", "grc": "governance risk compliance",
    "svp": "vice president", "evp": "vice president", "avp": "vice president",
    "vp": "vice president", "hr": "human resources", "fp": "financial planning",
    "it": "information technology", "ict": "information technology",
    "assoc": "associate", "asst": "assistant", "exec": "executive", "admin": "administrator",
    "sysadmin": "systems administrator", "mktg": "marketing", "revops": "revenue operations",
    "bizops": "business operations", "sdr": "sales development", "bdr": "sales development",
    "ae": "account executive", "r": "", "d": "",
    # German
    "leiter": "head", "leiterin": "head", "abteilungsleiter": "head", "direktor": "director",
    "direktorin": "director", "geschaeftsfuehrer": "chief executive officer",
    "geschaftsfuhrer": "chief executive officer", "vorstand": "chief executive officer",
    "einkauf": "procurement", "einkaeufer": "buyer", "einkaufer": "buyer",
    "beschaffung": "procurement", "sicherheit": "security", "finanzen": "finance",
    "informatik": "information technology", "entwicklung": "engineering",
    "entwickler": "developer", "vertrieb": "sales", "personal": "human resources",
    # French
    "directeur": "director", "directrice": "director", "responsable": "manager",
    "chef": "head", "achats": "procurement", "acheteur": "buyer", "acheteuse": "buyer",
    "financier": "finance", "financiere": "finance", "finances": "finance",
    "securite": "security", "informatique": "information technology",
    "developpeur": "developer", "ingenieur": "engineer", "commercial": "sales",
    "general": "general", "pdg": "chief executive officer", "dsi": "chief information officer",
    # Spanish, Portuguese, Italian
    "jefe": "head", "jefa": "head", "gerente": "manager", "compras": "procurement",
    "seguridad": "security", "seguranca": "security", "finanzas": "finance",
    "financeiro": "finance", "informatica": "information technology",
    "ingeniero": "engineer", "desarrollador": "developer", "ventas": "sales",
    "direttore": "director", "responsabile": "manager", "acquisti": "procurement",
    "sicurezza": "security", "finanza": "finance",
    # Dutch, Nordic
    "inkoop": "procurement", "hoofd": "head", "beveiliging": "security",
    "inkop": "procurement", "chef for": "head", "inkoper": "buyer",
    "einkaeuferin": "buyer", "einkauferin": "buyer", "financiero": "finance",
    "financiera": "finance", "informationssicherheit": "information security",
}  # fmt: skip
# C-level abbreviations -> (their words)
_CHIEFS: dict[str, str] = {
    "ceo": "chief executive officer", "cfo": "chief financial officer",
    "cio": "chief information officer", "cto": "chief technology officer",
    "ciso": "chief information security officer", "cso": "chief security officer",
    "coo": "chief operating officer", "cmo": "chief marketing officer",
    "cro": "chief revenue officer", "chro": "chief human resources officer",
    "cpo": "chief procurement officer", "clo": "chief legal officer",
    "cdo": "chief data officer",
}  # fmt: skip

# (phrase, seniority): the first phrase found decides (longest phrases first)
_SENIORITY: tuple[tuple[str, str], ...] = (
    ("vice president", "vp"), ("managing director", "c_level"),
    ("general counsel", "c_level"), ("chief of staff", "individual_contributor"),
    ("executive assistant", "individual_contributor"), ("chief", "c_level"),
    ("founder", "c_level"), ("president", "c_level"), ("owner", "c_level"),
    ("general manager", "c_level"), ("director", "director"), ("head", "director"),
    ("manager", "manager"),
    ("team lead", "manager"), ("lead", "manager"), ("supervisor", "manager"),
    ("student", "student"), ("intern", "student"), ("candidate", "student"),
    ("undergrad", "student"), ("msc", "student"), ("phd", "student"),
)  # fmt: skip
# (phrase, department): the first phrase found decides
_DEPARTMENT: tuple[tuple[str, str], ...] = (
    ("information security", "security"), ("security", "security"),
    ("penetration", "security"), ("soc analyst", "security"),
    ("governance risk compliance", "security"),
    ("procurement", "procurement"), ("purchasing", "procurement"),
    ("sourcing", "procurement"), ("vendor management", "procurement"), ("buyer", "procurement"),
    ("financial", "finance"), ("finance", "finance"), ("accounting", "finance"),
    ("accountant", "finance"), ("financial planning", "finance"),
    ("chief executive officer", "executive"), ("founder", "executive"),
    ("president", "executive"), ("managing director", "executive"),
    ("general manager", "executive"), ("owner", "executive"),
    ("strategy", "executive"), ("chief of staff", "executive"),
    ("executive assistant", "executive"), ("executive office", "executive"),
    ("technology", "engineering"), ("engineering", "engineering"),
    ("engineer", "engineering"), ("developer", "engineering"),
    ("research and development", "engineering"),
    ("platform", "engineering"), ("data", "engineering"),
    ("information technology", "it"), ("information", "it"), ("infrastructure", "it"),
    ("network", "it"), ("systems", "it"), ("help desk", "it"), ("cloud", "it"),
    ("marketing", "marketing"), ("demand", "marketing"), ("growth", "marketing"),
    ("content", "marketing"),
    ("revenue", "sales"), ("sales", "sales"), ("business development", "sales"),
    ("account executive", "sales"),
    ("human resources", "hr"), ("people", "hr"), ("talent", "hr"), ("recruiter", "hr"),
    ("legal", "legal"), ("compliance", "legal"), ("privacy", "legal"), ("counsel", "legal"),
    ("paralegal", "legal"),
    ("operating", "operations"), ("operations", "operations"), ("supply chain", "operations"),
    ("business analyst", "operations"),
)  # fmt: skip
_VOCABULARY: tuple[str, ...] = tuple(sorted(
    {w for phrase, _ in (*_SENIORITY, *_DEPARTMENT) for w in phrase.split()}
    | {w for v in (*_WORDS.values(), *_CHIEFS.values()) for w in v.split()}
    | {"officer", "senior", "junior", "specialist", "analyst", "administrator",
       "architect", "architecture", "principal", "technical", "staff", "generation",
       "research", "development"}))
_TYPO_SCORE = 80.0  # rapidfuzz ratio: "cheif" -> "chief", "managr" -> "manager"


@functools.lru_cache(maxsize=65536)
def normalise(title: str) -> str:
    """`title` in lower-case plain words with abbreviations and foreign words spelled out.

    >>> normalise("  V.P. of Sales  "), normalise("Co-founder & CTO")
    ('vice president of sales', 'co founder and chief technology officer')
    """
    text = unicodedata.normalize("NFKD", title.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("ß", "ss").replace("ø", "o").replace("æ", "ae")
    text = re.sub(r"\b([a-z])\.(?=[a-z]\.)", r"\1", text)  # v.p. -> vp.
    text = re.sub(r"\b([a-z])\.([a-z])\.", r"\1\2 ", text)
    text = re.sub(r"\br\s*(&|and)\s*d\b", " research and development ", text)  # R&D
    text = text.replace("&", " and ")
    words = []
    for raw in re.split(r"[^a-z0-9]+", text):
        if not raw:
            continue
        word = _CHIEFS.get(raw) or _WORDS.get(raw, raw)
        if word == raw and len(raw) >= 5 and raw not in _VOCABULARY:
            found = process.extractOne(raw, _VOCABULARY, scorer=fuzz.ratio,
                                       score_cutoff=_TYPO_SCORE)
            word = found[0] if found else raw
        if word:
            words.append(word)
    return " ".join(words)


def _has(text: str, phrase: str) -> bool:
    return f" {phrase} " in f" {text} "


def seniority_of(title: str) -> str:
    """The seniority a title says (individual_contributor when it names no rank)."""
    text = normalise(title)
    if _has(text, "vice president"):
        return "vp"
    if _has(text, "assistant") and not _has(text, "director"):
        return "individual_contributor"
    for phrase, level in _SENIORITY:
        if _has(text, phrase):
            return level
    return "individual_contributor"


def department_of(title: str) -> str | None:
    """The department a title names (None when it names none)."""
    text = normalise(title).replace("vice president", "vp")
    for phrase, department in _DEPARTMENT:
        if _has(text, phrase):
            return department
    return None


def words_of(title: str) -> str:
    """The normalised title, padded for whole-phrase tests (`phrase_in`)."""
    return f" {normalise(title)} "


def phrase_in(words: str, phrase: str) -> bool:
    """Whether the normalised `phrase` is in the padded normalised title `words`.

    >>> phrase_in(words_of("Head of Procurement EMEA"), "procurement")
    True
    """
    return f" {normalise(phrase)} " in words
