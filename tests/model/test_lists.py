"""External lists beside the model: read by the face, versioned with the model, located
errors (docs/model.md, "lists: external lists")."""

from __future__ import annotations

from pathlib import Path

import pytest

from mql.errors import ModelError
from mql.model.diff import describe_changes
from mql.model.dump import dump_model
from mql.model.parse import parse_model
from mql.scoring.evaluate import compile_condition
from mql.service.scoring import load_model_file, model_text_to_store

MODEL = """\
name: listed
lists:
  competitors: lists/competitors.csv
  tier_1: {file: lists/abm.csv, column: domain, filter: {tier: 1}}
fit:
  rules:
    - {name: tier_1, when: {field: account.domain, op: in_list, value: tier_1}, points: 30}
intent:
  rules:
    - {name: demo, event: demo_request, points: 40}
mql:
  thresholds: {total: 45}
  exclude:
    - {name: competitor, when: {field: account.domain, op: in_list, value: competitors}}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "competitors.csv").write_text("domain\nrivalsoft.example\n")
    (tmp_path / "lists" / "abm.csv").write_text(
        "name,domain,tier\nAcme,Acme.example ,1\nGlobex,globex.example,2\n"
        "Initech,initech.example,1\n,,1\n")
    (tmp_path / "m.yaml").write_text(MODEL)
    return tmp_path


def _values(model: object, name: str) -> frozenset[str]:
    return next(n.values for n in model.lists if n.name == name)  # type: ignore[attr-defined]


def test_the_face_reads_each_list_from_its_csv_beside_the_model(folder: Path) -> None:
    model = load_model_file(folder / "m.yaml")
    # the domain column of tier-1 rows, trimmed and in lower case, the blank row dropped
    assert _values(model, "tier_1") == {"acme.example", "initech.example"}
    assert _values(model, "competitors") == {"rivalsoft.example"}  # the first column
    rule = model.fit.rules[0]
    assert str(rule.when) == "account.domain in_list tier_1 (2 values)"
    check = compile_condition(rule.when)
    assert check({"account.domain": "ACME.example"}.get)
    assert not check({"account.domain": "globex.example"}.get)


def test_a_list_change_is_a_model_change(folder: Path) -> None:
    before = load_model_file(folder / "m.yaml")
    (folder / "lists" / "competitors.csv").write_text("domain\nrivalsoft.example\nfoe.example\n")
    after = load_model_file(folder / "m.yaml")
    assert before != after and before.digest != after.digest
    assert describe_changes(before, after) == ["list competitors changed: +1 (foe.example)"]


def test_a_stored_version_reads_back_without_the_files(folder: Path) -> None:
    text, model = model_text_to_store(folder / "m.yaml")
    assert text.startswith(MODEL)  # the file as written, its lines where they were
    assert "list_values:" in text
    assert parse_model(text, source="stored") == model
    assert parse_model(dump_model(model), source="dumped") == model


def test_a_missing_file_or_column_is_located_at_the_list(folder: Path) -> None:
    (folder / "lists" / "abm.csv").unlink()
    with pytest.raises(ModelError) as caught:
        load_model_file(folder / "m.yaml")
    assert str(caught.value).startswith(f"{folder / 'm.yaml'}:4:11 lists.tier_1: no such "
                                        f"list file {folder / 'lists' / 'abm.csv'}")
    (folder / "lists" / "abm.csv").write_text("company,tier\nAcme,1\n")
    with pytest.raises(ModelError, match="has no column 'domain' \\(columns: company, tier\\)"):
        load_model_file(folder / "m.yaml")


def test_an_unknown_list_is_an_error_with_a_suggestion(folder: Path) -> None:
    (folder / "m.yaml").write_text(MODEL.replace("value: competitors}", "value: competitor}"))
    with pytest.raises(ModelError) as caught:
        load_model_file(folder / "m.yaml")
    assert f'{folder / "m.yaml"}:14:76 mql.exclude[0].when.value: unknown list "competitor" ' \
        '(did you mean "competitors"?); lists are competitors, tier_1' in str(caught.value)


def test_a_list_whose_file_was_not_read_is_refused_by_the_parser() -> None:
    with pytest.raises(ModelError, match=r"lists\.tier_1: the list.s file was not read here"):
        parse_model(MODEL, source="m.yaml", lists={"competitors": ("x.example",)})


def test_values_may_be_written_in_the_model() -> None:
    text = MODEL.replace("  competitors: lists/competitors.csv",
                         '  competitors: {values: [Rivalsoft.example, " foe.example"]}')
    model = parse_model(text, source="m.yaml", lists={"tier_1": ("acme.example",)})
    assert _values(model, "competitors") == {"rivalsoft.example", "foe.example"}
