"""No `mql` command prints a Python traceback for a user error: the real script runs in a
subprocess for each reproduction, and says in one line what is wrong (exit 2). A bug
still prints its traceback, and one line asking to report it (exit 70)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mql.service.scoring import sample_inputs

MODEL, SAMPLE = sample_inputs()
AT = "2026-11-19T08:24Z"


def mql(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mql", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, check=False)


def refused(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """The one-line error of `result`, checked: exit 2, no traceback, `words` named."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    text = " ".join(result.stderr.split())
    assert text.startswith("error: "), text
    for word in words:
        assert word in text, (word, text)
    return text


def _files() -> list[str]:
    return ["--contacts", str(SAMPLE.contacts), "--accounts", str(SAMPLE.accounts),
            "--events", str(SAMPLE.events)]


@pytest.mark.parametrize(("url", "words"), [
    ("mysql://root@localhost/crm", ("'mysql' is not supported", "sqlite or postgresql")),
    ("notaurl", ("'notaurl' cannot be read", "sqlite:///")),
])
def test_a_database_url_mql_cannot_use_is_one_line(url: str, words: tuple[str, ...]) -> None:
    refused(mql("scores", "--db", url), *words)


def test_validate_on_a_folder_asks_for_the_model_file(tmp_path: Path) -> None:
    refused(mql("validate", str(tmp_path)), str(tmp_path), "is a folder")


def test_score_with_a_folder_for_the_contacts_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "contacts.csv"
    folder.mkdir()
    refused(mql("score", "--model", str(MODEL), "--contacts", str(folder)),
            str(folder), "is a folder")


def test_a_missing_model_file_is_named() -> None:
    refused(mql("validate", "/no/such/model.yaml"), "/no/such/model.yaml")


def test_rescore_into_a_missing_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "scores.parquet"
    began = time.perf_counter()
    result = mql("rescore", "--model", str(MODEL), *_files(), "--as-of", AT, "--out", str(out))
    refused(result, str(tmp_path / "no" / "such"), "does not exist", "mkdir -p")
    assert "rescoring" not in result.stderr
    assert time.perf_counter() - began < 30


def test_rescore_refuses_an_extension_it_does_not_write(tmp_path: Path) -> None:
    out = tmp_path / "scores.xlsx"
    refused(mql("rescore", "--model", str(MODEL), *_files(), "--as-of", AT, "--out", str(out)),
            "'.xlsx'", "Parquet or CSV")
    assert not out.exists()


def test_rescore_writes_csv_when_the_out_file_says_csv(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    result = mql("rescore", "--model", str(MODEL), *_files(), "--as-of", AT, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("contact,")
    refused(mql("rescore", "--model", str(MODEL), *_files(), "--as-of", AT, "--out", str(out),
                "--format", "parquet"), "names csv but --format is parquet")


def test_a_look_behind_passes_validate_with_a_warning_and_rescore_refuses_it(
        tmp_path: Path) -> None:
    model = tmp_path / "model.yaml"
    model.write_text(MODEL.read_text(encoding="utf-8").replace(
        r"value: '\b(salesforce|okta|snowflake)\b'", r"value: '(?<=uses )okta'"),
        encoding="utf-8")
    checked = mql("validate", str(model))
    assert checked.returncode == 0, checked.stderr
    warning = " ".join(checked.stderr.split())
    assert "fit.rules[uses_our_integrations].when" in warning
    assert "look-behind" in warning and "DuckDB (RE2)" in warning
    result = mql("rescore", "--model", str(model), *_files(), "--as-of", AT,
                 "--out", str(tmp_path / "scores.parquet"))
    refused(result, "look-behind", "DuckDB (RE2) cannot run", "mql score")
    assert not (tmp_path / "scores.parquet").exists()
    # the streaming engine runs it
    assert mql("score", "--model", str(model), *_files(), "--at", AT).returncode == 0


def test_a_bug_prints_its_traceback_and_asks_for_a_report() -> None:
    code = ("import sys\n"
            "from mql.cli import main\n"
            "@main.app.command('boom')\n"
            "def boom() -> None:\n"
            "    raise ZeroDivisionError('a bug')\n"
            "sys.argv = ['mql', 'boom']\n"
            "main.run()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 70
    assert "Traceback" in result.stderr and "ZeroDivisionError: a bug" in result.stderr
    assert "this is a bug in mql" in result.stderr and "please report it" in result.stderr


def test_rescore_of_a_latin1_events_file_names_the_byte_and_the_fix(tmp_path: Path) -> None:
    # the batch engine reads files itself (DuckDB's CSV reader): its refusal of the bytes
    # is one line naming the file, the first byte that is not UTF-8 and the way out
    events = tmp_path / "events.csv"
    text = SAMPLE.events.read_text(encoding="utf-8")
    events.write_bytes(text.encode("utf-8") + "x1,page_view,2026-10-31T02:42:00Z,"
                       "jos\u00e9@acme.example,,acme.example,{}\n".encode("latin-1"))
    result = mql("rescore", "--model", str(MODEL), "--contacts", str(SAMPLE.contacts),
                 "--accounts", str(SAMPLE.accounts), "--events", str(events),
                 "--as-of", AT, "--out", str(tmp_path / "out.parquet"))
    refused(result, str(events), f"byte {len(text.encode()) + 37:,} is not UTF-8",
            "--encoding")


@pytest.mark.parametrize("args", [("scores",), ("worker", "--once"), ("keys", "list")])
def test_an_invalid_environment_setting_is_one_line_naming_the_variable(
        args: tuple[str, ...], tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "mql", *args], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path, check=False,
                            env={**os.environ, "MQL_API_RATE_PER_SECOND": "fast"})
    refused(result, "MQL_API_RATE_PER_SECOND", "valid number")
