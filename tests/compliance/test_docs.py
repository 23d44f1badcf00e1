"""docs/compliance.md: its model section parses with the example model and says what
the shipped defaults are; its sessions run in tests/docs/test_doc_sessions.py."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mql.model.consent import DEFAULT_RULES
from mql.model.parse import parse_model
from tests.compliance.helpers import EXAMPLE

DOC = Path(__file__).parents[2] / "docs" / "compliance.md"


def _with_teams(fragment: str) -> str:
    """The example model with the documented team and field additions merged in."""
    data = yaml.safe_load(EXAMPLE)
    extra = yaml.safe_load(fragment)
    data.setdefault("fields", {}).setdefault("account", []).extend(extra["fields"]["account"])
    for name, team in extra["routing"]["teams"].items():
        mine = data["routing"]["teams"][name]
        mine["attributes"] = team["attributes"]
        for member in team["members"]:
            (found,) = [m for m in mine["members"] if m["name"] == member["name"]]
            found.update(member)
    return yaml.safe_dump(data, sort_keys=False)


def test_the_documented_consent_section_is_a_valid_model_section() -> None:
    block, teams = re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(), re.M | re.S)
    model = parse_model(_with_teams(teams) + "\n" + block, source="docs/compliance.md")
    assert model.consent is not None
    assert model.consent.rule("gdpr").allow["phone"] == ("consent", "legitimate_interest")
    assert model.consent.rule("casl").expiry["implied_inquiry"] == 6
    assert model.consent.countries["CH"] == "gdpr"
    # the lines it does not name are the shipped ones
    assert model.consent.rule("uk") == DEFAULT_RULES["uk"]
    assert dict(model.consent.retention) == {"gdpr": 730, "uk": 730}
    (itar,) = model.consent.overlays
    assert itar.requires == ("us_person",)
    assert model.routing is not None
    team = model.routing.teams["na_enterprise"]
    assert team.attributes == {"us_person"}
    assert {m.name: m.attributes for m in team.members}["dana.ross"] == {"fedramp"}


def test_the_documented_table_names_every_shipped_jurisdiction() -> None:
    text = DOC.read_text()
    for name in DEFAULT_RULES:
        assert f"| `{name}` |" in text
