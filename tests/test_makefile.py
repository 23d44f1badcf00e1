"""`make demo` installs only the runtime; `make test` the dev tools and the Spark extra;
both create their virtual environment themselves (dry runs of make, nothing installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def dry_run(target: str, tmp_path: Path) -> list[str]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"
    result = subprocess.run(["make", "-n", "--no-print-directory", "-C", str(ROOT), target,
                             f"VENV={venv}"],
                            capture_output=True, text=True, timeout=60, check=True)
    return [line.replace(str(venv), "VENV") for line in result.stdout.splitlines()]


def test_make_demo_creates_the_venv_and_installs_the_runtime_only(tmp_path: Path) -> None:
    lines = dry_run("demo", tmp_path)
    assert any("-m venv VENV" in line for line in lines)
    installs = [line for line in lines if "pip install" in line and "--upgrade pip" not in line]
    assert installs == ["VENV/bin/pip install --quiet -e ."]
    assert lines[-1] == "VENV/bin/mql demo"


def test_make_test_installs_dev_and_spark(tmp_path: Path) -> None:
    lines = dry_run("test", tmp_path)
    assert any("-m venv VENV" in line for line in lines)
    installs = " ".join(line for line in lines if "pip install -" in line or "-e " in line)
    assert "'.[dev]'" in installs and "'.[dev,spark]'" in installs
    assert lines[-1] == "VENV/bin/pytest -q"


def test_pyspark_is_not_part_of_the_dev_extra() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    dev = text.split("dev = [", 1)[1].split("]\n", 1)[0]
    assert "spark" not in dev and "pyspark" not in dev
