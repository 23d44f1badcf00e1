"""`mql learn` from a flat lead export: the file it writes, and user errors in one line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from mql.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "examples" / "sample" / "lead-export-outcomes.csv"
MAPPING = ROOT / "examples" / "mappings" / "lead-export.yaml"
HAND = ROOT / "examples" / "models" / "lead-export.yaml"


def _learn(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["learn", *args])
    return result.exit_code, result.output


def test_learn_from_an_export_writes_a_model_that_validates(tmp_path: Path) -> None:
    out = tmp_path / "candidate.yaml"
    code, output = _learn("--outcome", "sql", "--outcome-column", "SQL", "--export",
                          str(EXPORT), "--mapping", str(MAPPING), "-m", str(HAND),
                          "--out", str(out))
    assert code == 0, output
    assert "1030 leads, 183 sql (17.8%); 0 rows skipped" in output
    assert "contact.Won: left out, it looks sales-entered" in output
    text = out.read_text()
    assert "# calibration: total score -> probability the lead became SQL" in text
    assert "scores:\n  engagement:\n    kind: fit" in text  # the counters stay engagement
    assert CliRunner().invoke(app, ["validate", str(out)]).exit_code == 0
    tested = CliRunner().invoke(app, ["test", str(out)])
    assert tested.exit_code == 0 and "3 tests: 3 passed, 0 failed" in tested.output


# A bad outcome value costs its own row, named by file, row and field; every other row
# is learned from.
def test_a_bad_outcome_value_skips_its_row(tmp_path: Path) -> None:
    lines = EXPORT.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 2)[0] + ",maybe,no"
    bad = tmp_path / "export.csv"
    bad.write_text("\n".join(lines) + "\n")
    code, output = _learn("--outcome", "sql", "--outcome-column", "SQL", "--export",
                          str(bad), "--mapping", str(MAPPING), "--out",
                          str(tmp_path / "c.yaml"))
    assert code == 0, output
    assert "export.csv:6" in output and "SQL" in output and "'maybe'" in output
    assert "1029 leads" in output


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    code, output = _learn("--outcome", "revenue", "--export", str(EXPORT))
    assert code == 2 and "error: --outcome must be one of sql, opportunity, won" in output
    code, output = _learn("--outcome", "won", "--outcome-column", "Closed", "--export",
                          str(EXPORT), "--mapping", str(MAPPING))
    assert code == 2 and "no outcome column 'closed'" in output
    code, output = _learn("--outcome", "won", "--export", str(tmp_path / "missing.csv"))
    assert code == 2 and "error:" in output and "Traceback" not in output
    code, output = _learn("--outcome", "won", "--export", str(EXPORT), "--mapping",
                          str(MAPPING), "--out", str(tmp_path / "no" / "dir" / "c.yaml"))
    assert code == 2 and "error:" in output and "Traceback" not in output


# docs/learning.md's worked example shows lines of the file `mql learn` writes: they are
# what it writes.
def test_the_worked_example_of_the_docs_is_what_learn_writes(tmp_path: Path) -> None:
    out = tmp_path / "candidate.yaml"
    code, output = _learn("--outcome", "sql", "--outcome-column", "SQL", "--export",
                          str(EXPORT), "--mapping", str(MAPPING), "-m", str(HAND),
                          "--out", str(out))
    assert code == 0, output
    written = {line.strip() for line in out.read_text().splitlines()}
    doc = (ROOT / "docs" / "learning.md").read_text()
    example = doc.split("### A worked example", 1)[1].split("### How good is it?", 1)[0]
    shown = [line.strip() for block in example.split("```yaml")[1:]
             for line in block.split("```", 1)[0].splitlines() if line.strip()]
    assert len(shown) > 10
    assert [line for line in shown if line not in written] == []
    for line in ("34.6 and above: 43.7%", "-53.4 below -6.5: 0.7%"):
        assert f"#   {line}" in out.read_text()


# --features picks the fields: only those are learned from, a sales field named there is
# used with a warning, and the file reads only them.
def test_features_choose_the_fields(tmp_path: Path) -> None:
    out = tmp_path / "candidate.yaml"
    code, output = _learn("--outcome", "sql", "--outcome-column", "SQL", "--export",
                          str(EXPORT), "--mapping", str(MAPPING), "--features",
                          "account.industry,contact.seniority", "--features", "contact.Won",
                          "--out", str(out))
    assert code == 0, output
    text = out.read_text()
    fields = {line.split("field:")[1].split(",")[0].strip().rstrip("}")
              for line in text.splitlines() if "field:" in line}
    assert fields <= {"account.industry", "contact.seniority", "contact.Won"}
    assert "account.industry" in fields
    assert "contact.Won: looks sales-entered" in output
