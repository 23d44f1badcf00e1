"""docs/compliance.md: its model section parses with the example model and says what
the shipped defaults are; its sessions run in tests/docs/test_doc_sessions.py."""

from __future__ import annotations

import re
from pathlib import Path

from mql.model.consent import DEFAULT_RULES
from mql.model.parse import parse_model
from tests.compliance.helpers import EXAMPLE

DOC = Path(__file__).parents[2] / "docs" / "compliance.md"


def test_the_documented_consent_section_is_a_valid_model_section() -> None:
    (block,) = re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(), re.M | re.S)
    model = parse_model(EXAMPLE + "\n" + block, source="docs/compliance.md")
    assert model.consent is not None
    assert model.consent.rule("gdpr").allow["phone"] == ("consent", "legitimate_interest")
    assert model.consent.rule("casl").expiry["implied_inquiry"] == 6
    assert model.consent.countries["CH"] == "gdpr"
    # the lines it does not name are the shipped ones
    assert model.consent.rule("uk") == DEFAULT_RULES["uk"]


def test_the_documented_table_names_every_shipped_jurisdiction() -> None:
    text = DOC.read_text()
    for name in DEFAULT_RULES:
        assert f"| `{name}` |" in text
