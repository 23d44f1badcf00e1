"""The YAML of docs/accounts.md is a valid model section and means what the text says."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mql.accounts.score import rolled, tier_of
from mql.model.parse import parse_model
from mql.records import Account
from tests.model.tiny import BASE

DOC = Path(__file__).parents[2] / "docs" / "accounts.md"


def blocks() -> list[str]:
    return re.findall(r"^```yaml\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)


def test_the_example_section_parses_and_reads_as_documented() -> None:
    block = blocks()[0]
    model = parse_model(yaml.safe_dump({**yaml.safe_load(BASE), **yaml.safe_load(block)},
                                       sort_keys=False), source="docs/accounts.md")
    spec = model.accounts
    assert spec is not None and spec.line == 60 and spec.repeat == 0.5
    assert [r.role for r in spec.roles.rules][:2] == ["procurement", "economic_buyer"]
    assert tier_of(model, spec, Account("acme.example"), "acme.example") == "1:1"
    assert tier_of(model, spec, Account("x.example", {"abm_tier": "1:many"}),
                   "x.example") == "1:many"
    # "ten interns at 40 points with weight 0.3 count about 24, one CIO at 40 counts 40"
    interns = rolled(spec, [("user", 40.0)] * 10)
    assert round(interns, 1) == 24.0 and rolled(spec, [("decision_maker", 40.0)]) == 40.0


def test_the_section_survives_a_dump() -> None:
    # a stored model version is shown in its canonical form: the accounts section with it
    from mql.model.dump import dump_model

    block = blocks()[0]
    model = parse_model(yaml.safe_dump({**yaml.safe_load(BASE), **yaml.safe_load(block)},
                                       sort_keys=False), source="docs/accounts.md")
    again = parse_model(dump_model(model))
    assert again.accounts == model.accounts and again == model
    bare = parse_model(BASE + "accounts: {}\n")
    assert parse_model(dump_model(bare)).accounts == bare.accounts


def test_a_reviewer_reads_what_changed_in_the_section() -> None:
    from mql.model.diff import describe_changes

    block = blocks()[0]
    text = yaml.safe_dump({**yaml.safe_load(BASE), **yaml.safe_load(block)}, sort_keys=False)
    old = parse_model(text)
    new = parse_model(text.replace("repeat: 0.5", "repeat: 0.25")
                      .replace("champion: 0.8", "champion: 0.9")
                      .replace("line: 60", "line: 70"))
    assert describe_changes(old, new) == [
        "accounts: repeat 0.5 → 0.25", "accounts: line 60 → 70",
        "accounts: weight of champion 0.8 → 0.9"]
    assert describe_changes(parse_model(BASE), old) == [
        "list target_accounts added: 2 values", "accounts added"]
    assert describe_changes(old, old) == []


def test_the_shipped_mqa_is_the_documented_yaml() -> None:
    from mql.model.mqa import DEFAULT_MQA

    block = blocks()[1]
    model = parse_model(yaml.safe_dump({**yaml.safe_load(BASE), **yaml.safe_load(block)},
                                       sort_keys=False), source="docs/accounts.md")
    assert model.accounts is not None and model.accounts.mqa == DEFAULT_MQA
