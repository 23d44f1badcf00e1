"""The console and curl sessions of README.md and the docs in DOCS, run for real.

Each file's sessions run in order in one fresh workspace (`mql init .`, the example model
and sample files), against a real `mql serve` on 127.0.0.1 for the curl lines; the shown
output is compared with placeholders (tests/docs/sessions.py; the rules for writers are in
docs/architecture.md, "Testing")."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.resources import as_file, files
from pathlib import Path

import httpx
import pytest

from tests.docs.sessions import Command, Session, match, sessions

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["README.md", "docs/api.md", "docs/webhooks.md", "docs/outcomes.md", "docs/model.md",
        "docs/accounts.md", "docs/compliance.md", "docs/learning.md", "docs/attribution.md",
        "docs/analytics.md", "docs/batch.md", "docs/ingest.md", "docs/synthetic.md", "docs/web.md",
        "docs/nurture.md"]
BIN = Path(sys.executable).parent
SECRET_KEY = "doc-sessions-secret-key-0123456789abcdef"
# the sessions' clock starts at the README's --at moment and runs on from there, so that
# what the sample qualifies today still qualifies when the docs are run next year
START = "2026-11-19T08:24:00+00:00"
CLOCK = f"""\
import os, time
from datetime import datetime, timedelta
import mql.clock
_start, _t0 = datetime.fromisoformat({START!r}), time.monotonic()
mql.clock.SystemClock.now = lambda self: _start + timedelta(seconds=time.monotonic() - _t0)
"""
_ABRIDGED = re.compile(r"(^|\s)\.\.\.(\s|$)")
_SERVER_URL = re.compile(r"https?://(?:mql\.example(?:\.com)?|127\.0\.0\.1:8000)")
_DB = re.compile(r"--db\s+postgresql://\S+")


class Workspace:
    """A fresh directory with the store, the example files and, once needed, a server."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, "COLUMNS": "100", "MQL_SECRET_KEY": SECRET_KEY,
                    "NO_COLOR": "1", "TERM": "dumb", "SECRET": "s3cret",
                    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        self.env.pop("MQL_DATABASE_URL", None)
        (root / ".clock").mkdir()
        (root / ".clock" / "sitecustomize.py").write_text(CLOCK)
        self.env["PYTHONPATH"] = str(root / ".clock")
        (root / ".curlrc").write_text("silent\nshow-error\n")  # no progress meter
        self.env["CURL_HOME"] = str(root)
        with as_file(files("mql").joinpath("examples")) as examples:
            shutil.copytree(examples, root / "examples")
        for name in ("contacts.csv", "accounts.csv", "events.csv"):
            shutil.copy(root / "examples" / "sample" / name, root / name)
        model = (root / "examples" / "models" / "b2b-saas.yaml").read_text()
        (root / "looser.yaml").write_text(
            model.replace("- {fit: 50, intent: 30}", "- {fit: 50, intent: 15}")
            .replace('version: "2026.11.1"', 'version: "2026.11.2"'))
        self.url = f"sqlite:///{root / '.mql' / 'mql.db'}"
        self.server: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.run("mql init .")

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", command], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=300, check=False)

    def key(self, name: str, *options: str) -> str:
        done = self.run(f"mql keys create {name} {' '.join(options)}")
        (key,) = re.findall(r"^mql_\S+$", done.stdout, re.MULTILINE)
        return key

    def prepare(self, text: str) -> str:
        """The command as run here: the documented hosts and databases are this
        workspace's, keys are created when first named, `mql worker` makes one pass."""
        if "$WRITE_KEY" in text and "WRITE_KEY" not in self.env:
            self.env["WRITE_KEY"] = self.key("doc-writer")
        if "$TOKEN" in text and "TOKEN" not in self.env:
            self.env["TOKEN"] = self.key("doc-admin", "--kind token --role admin")
        text = _DB.sub(f"--db {self.url}", text)
        if _SERVER_URL.search(text):
            self.serve()
            text = _SERVER_URL.sub(self.base, text)
        if re.match(r"mql worker\b", text) and "--once" not in text \
                and "--simulate-until" not in text:
            text = text.replace("mql worker", "mql worker --once", 1)
        return text

    def serve(self) -> None:
        if self.server is not None:
            return
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.server = subprocess.Popen(
            [str(BIN / "mql"), "serve", "--db", self.url, "--port", str(port),
             "--no-access-log"], cwd=self.root, env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("mql serve did not answer /health within 60 s")

    def close(self) -> None:
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()


def runnable(command: Command) -> str | None:
    """Why a documented command is not run (None: it is)."""
    words = command.text.split()
    if not words or words[0] not in ("mql", "curl"):
        return "not an mql or curl command"
    if _ABRIDGED.search(command.text.split(" #")[0]):
        return "abridged with ..."
    if words[:2] == ["mql", "serve"]:
        return "the runner starts its own server"
    return None


def _all() -> list[Session]:
    return [s for doc in DOCS for s in sessions((ROOT / doc).read_text(), doc)]


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Workspace]]:
    opened: dict[str, Workspace] = {}

    class Lazy(dict[str, Workspace]):
        def __missing__(self, doc: str) -> Workspace:
            opened[doc] = self[doc] = Workspace(tmp_path_factory.mktemp(Path(doc).stem))
            return self[doc]

    yield Lazy()
    for ws in opened.values():
        ws.close()


@pytest.mark.slow
@pytest.mark.parametrize("session", _all(), ids=lambda s: f"{s.path}:{s.line}")
def test_the_documented_session_prints_what_the_docs_show(session: Session,
                                                          workspaces: dict[str, Workspace]
                                                          ) -> None:
    if session.skip is not None:
        pytest.skip(session.skip)
    ws = workspaces[session.path]
    for command in session.commands:
        if runnable(command) is not None:
            continue
        text = ws.prepare(command.text)
        done = ws.run(text)
        printed = done.stdout.splitlines() + done.stderr.splitlines()
        where = f"{session.path}:{command.line}: $ {command.text}"
        shown_error = any(line.startswith("error:") for line in command.shown)
        assert done.returncode == 0 or shown_error, (
            f"{where}\nexit status {done.returncode}\n{done.stdout}{done.stderr}")
        if command.shown:
            assert match(command.shown, printed), (
                f"{where}\n--- shown in the docs\n" + "\n".join(command.shown)
                + "\n--- printed\n" + "\n".join(printed))


def test_every_doc_has_sessions_and_every_skip_a_reason() -> None:
    found = _all()
    assert {s.path for s in found} == set(DOCS)
    assert all(s.skip != "no reason given" for s in found)
    run = [c for s in found if s.skip is None for c in s.commands if runnable(c) is None]
    assert len(run) >= 10


def test_no_documented_command_hides_outside_a_console_block() -> None:
    # a `$ ` line in a bare or ```text fence would never run: it must be a console block
    hidden = []
    for doc in DOCS:
        fence = None
        for number, line in enumerate((ROOT / doc).read_text().splitlines(), 1):
            if line.strip().startswith("```"):
                fence = None if fence is not None else line.strip()[3:].strip()
            elif fence is not None and fence != "console" and line.startswith("$ "):
                hidden.append(f"{doc}:{number}")
    assert hidden == []


def test_a_session_that_prints_something_else_fails() -> None:
    # the runner's own check: a wrong number, a missing line or an extra one is caught
    assert match(["read <n>", "loaded 84"], ["read 87", "loaded 84"])
    assert not match(["read <n>", "loaded 84"], ["read 87", "loaded 83"])
    assert not match(["a", "b"], ["a"])
    assert not match(["a"], ["a", "b"])
    assert match(["a", "...", "b"], ["a", "b"])


def test_a_long_output_is_matched_without_recursion() -> None:
    # `mql score` on the 1,030-lead export prints more lines than Python's recursion limit
    printed = ["header", *(f"row {i}" for i in range(5000)), "5000 contacts scored"]
    assert match(["header", "...", "<n> contacts scored"], printed)
    assert not match(["header", "...", "<n> contacts scored"], printed[:-1])
