"""No request can exhaust the server: every route with a body x (no key, wrong key, right
key) x hostile bodies (oversized, deeply nested JSON, YAML bombs, huge numbers, NaN, NUL,
invalid UTF-8), against a real `mql serve` on 127.0.0.1. Each answer is a refusal in the
API's error shape (never a 500), `/health` keeps answering within 100 ms while the attack
runs, and the server's memory stays bounded."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import free_port, make_keys, make_workspace, start_serve

MODEL = files("mql").joinpath("examples/models/b2b-saas.yaml").read_text()
WRONG_KEY = "mql_000000000000_not-a-key-of-this-server"
MB = 1024 * 1024


def _billion_laughs(levels: int) -> str:
    """A model like the issue's 382 bytes: each level repeats the one before nine times."""
    text = 'name: lol\na0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels + 1):
        text += f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n"
    return text


DEEP_YAML = "name: deep\nfit: " + "[" * 1200 + "]" * 1200 + "\n"
DEEP_JSON = b"[" * 5000 + b"]" * 5000


@dataclass(frozen=True)
class Live:
    url: str
    pid: int
    keys: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        """Authorization for `who`: "none", "wrong" or a role of conftest's keys."""
        if who == "none":
            return {}
        key = WRONG_KEY if who == "wrong" else self.keys[who]
        if who == "writer":
            return {"Authorization": httpx.BasicAuth(key, "")._auth_header}
        return {"Authorization": f"Bearer {key}"}

    def rss(self) -> int:
        """The server process's resident memory, in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("attacks")
    url = make_workspace(folder)
    keys = make_keys(url)
    port = free_port()
    server = start_serve(url, port, {"MQL_API_RATE_PER_SECOND": "100000",
                                     "MQL_API_RATE_BURST": "100000"})
    base = f"http://127.0.0.1:{port}"
    try:
        yield Live(base, server.pid, keys)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


_PROBE = """
import sys, threading, time, httpx
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
with httpx.Client(base_url=sys.argv[1], timeout=10) as c:
    while not stop.is_set():
        start = time.perf_counter()
        assert c.get("/health").status_code == 200
        print(time.perf_counter() - start, flush=True)
        time.sleep(0.02)
"""


class Probe:
    """`/health` asked every 20 ms while inside, from a process of its own (a thread of
    the attacking process would measure that process's own lock instead); the latencies
    in seconds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Probe:
        self._process = subprocess.Popen([sys.executable, "-c", _PROBE, self.url],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True)
        assert self._process.stdout is not None
        self.latencies.append(float(self._process.stdout.readline()))  # it is probing
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        out, _ = self._process.communicate("", timeout=30)  # closing stdin stops it
        self.latencies += [float(line) for line in out.split()]

    def assert_responsive(self) -> None:
        """Every probe within 100 ms but one in twenty, none beyond 2 s. The machine is
        shared (other suites run beside this one): the share of late probes may be as high
        as the server shows without any attack, measured the same way right before."""
        assert self.latencies
        late = [t for t in self.latencies if t >= 0.1]
        shown = f"{len(late)} of {len(self.latencies)} probes late: {late}"
        allowed = max(1, len(self.latencies) // 20,
                      round(2 * _quiet_late_share(self.url) * len(self.latencies)))
        assert len(late) <= allowed, shown
        assert max(self.latencies) < 2.0, shown


def _quiet_late_share(url: str) -> float:
    """The share of `/health` probes over 100 ms with no attack running (50 probes)."""
    with httpx.Client(base_url=url, timeout=10) as c:
        times = []
        for _ in range(50):
            start = time.perf_counter()
            c.get("/health")
            times.append(time.perf_counter() - start)
            time.sleep(0.02)
    return sum(t >= 0.1 for t in times) / len(times)


# every route that takes a body: path, the role allowed, a valid body
COLLECTION_PATHS = frozenset({"/v1/identify", "/v1/track", "/v1/page", "/v1/screen",
                              "/v1/group", "/v1/alias", "/v1/batch", "/v1/import"})
ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("/v1/identify", "writer", {"userId": "a@acme.example", "messageId": "m1"}),
    ("/v1/track", "writer", {"userId": "a@acme.example", "event": "Demo", "messageId": "m2"}),
    ("/v1/page", "writer", {"userId": "a@acme.example", "messageId": "m3"}),
    ("/v1/screen", "writer", {"userId": "a@acme.example", "messageId": "m4"}),
    ("/v1/group", "writer", {"userId": "a@acme.example", "groupId": "acme.example",
                             "messageId": "m5"}),
    ("/v1/alias", "writer", {"userId": "a@acme.example", "previousId": "anon-1",
                             "messageId": "m6"}),
    ("/v1/batch", "writer", {"batch": [{"type": "track", "userId": "a@acme.example",
                                        "event": "Demo", "messageId": "m7"}]}),
    ("/v1/import", "writer", {"batch": [{"type": "track", "userId": "a@acme.example",
                                         "event": "Demo", "messageId": "m8"}]}),
    ("/v1/leads/nobody@acme.example/accept", "sales", {}),
    ("/v1/leads/nobody@acme.example/reject", "sales", {"reason": "no_budget"}),
    ("/v1/leads/nobody@acme.example/convert", "sales", {"reason": "signed"}),
    ("/v1/leads/nobody@acme.example/reassign", "sales", {"owner": "li.wei"}),
    ("/v1/models/check", "marketing", {"text": MODEL}),
    ("/v1/models", "marketing", {"text": MODEL}),
    ("/v1/models/999999/activate", "admin", {}),
    ("/v1/keys", "admin", {"kind": "token", "name": "attacker", "role": "read-only"}),
    ("/v1/quarantine/retry", "admin", {"ids": [1]}),
    ("/v1/deliveries/retry", "admin", {"ids": [1]}),
]


def _leaves(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """`value` with every scalar replaced by `leaf(scalar)`."""
    if isinstance(value, dict):
        return {k: _leaves(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [_leaves(v, leaf) for v in value] or [leaf(1)]
    return leaf(value)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()  # allow_nan: NaN and Infinity as Python writes them


ATTACKS: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "oversized": lambda body: b'{"text": "' + b"a" * (20 * MB) + b'"}',
    "deep json": lambda body: DEEP_JSON,
    "yaml bomb": lambda body: _json({**body, "text": _billion_laughs(8)}),
    "deep yaml": lambda body: _json({**body, "text": DEEP_YAML}),
    "huge numbers": lambda body: _json(_leaves(body, lambda v: 2**70)),
    "1e999": lambda body: b'{"ids": [1e999], "owner": 1e999, "text": 1e999, "batch": 1e999}',
    "NaN": lambda body: _json(_leaves(body, lambda v: float("nan"))),
    "NUL": lambda body: _json(_leaves(body, lambda v: f"{v}\u0000" if isinstance(v, str)
                                      else v)),
    "invalid UTF-8": lambda body: b'{"text": "\xff\xfe\xfa", "owner": "\xc3\x28"}',
}


def _post(c: httpx.Client, path: str, body: bytes, headers: dict[str, str]
          ) -> httpx.Response:
    return c.post(path, content=body, headers={**headers,
                                               "Content-Type": "application/json"})


def _refusal(answer: httpx.Response) -> dict[str, Any]:
    """The JSON error body of `answer`: `code` and `message` (FastAPI's own validation
    answers, `{"detail": [...]}`, get that shape in the client-compatibility work)."""
    body = answer.json()
    assert isinstance(body, dict), f"{answer.request.url}: {answer.text}"
    if isinstance(body.get("detail"), list) and "code" not in body:
        return {"code": "validation", "message": json.dumps(body["detail"])}
    assert body.get("code") and body.get("message"), f"{answer.request.url}: {answer.text}"
    return body


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_every_route_refuses_each_hostile_body_for_every_caller(live: Live, attack: str
                                                                 ) -> None:
    before = live.rss()
    with Probe(live.url) as probe, httpx.Client(base_url=live.url, timeout=60) as c:
        for path, role, valid in ROUTES:
            body = ATTACKS[attack](valid)
            for who in ("none", "wrong", role):
                answer = _post(c, path, body, live.headers(who))
                where = f"{attack} {path} as {who}: {answer.status_code} {answer.text[:300]}"
                assert answer.status_code < 500, where
                if who == "none" and path in COLLECTION_PATHS:
                    # no key in the headers: analytics.js sends it in the body, so the body
                    # is read, within the batch limit, and refused for what it is
                    assert answer.status_code in (400, 401, 413), where
                    continue
                if who in ("none", "wrong"):
                    # the key is checked before the body is read or parsed
                    assert answer.status_code == 401, where
                    continue
                if answer.status_code >= 400:
                    assert _refusal(answer), where
                if attack == "oversized":
                    assert answer.status_code == 413, where
                elif attack == "deep json":
                    assert answer.status_code == 400, where
                    assert "nests more than" in answer.json()["message"], where
                elif attack == "yaml bomb" and path in ("/v1/models", "/v1/models/check"):
                    assert answer.status_code == 422, where
                    assert "expands to more than" in answer.text, where
                elif attack == "deep yaml" and path in ("/v1/models", "/v1/models/check"):
                    assert answer.status_code == 422, where
                    assert "nested more than" in answer.text, where
                elif attack in ("huge numbers", "1e999", "NaN", "invalid UTF-8") and (
                        path.endswith("/retry")):
                    assert answer.status_code in (400, 422), where
    probe.assert_responsive()
    assert live.rss() - before < 150 * MB, (before, live.rss())


def test_eight_concurrent_100_mb_bodies_without_a_key_cost_nothing(live: Live) -> None:
    """The issue's reproduction: 8 x 100 MB to /v1/models/check with no key grew the
    server from 282 MB to 1.1 GB before it answered 401."""
    def send(_: int) -> int:
        chunk = b"a" * MB

        def body() -> Iterator[bytes]:  # streamed: no Content-Length, chunked
            yield b'{"text": "'
            for _ in range(100):
                yield chunk
            yield b'"}'
        with httpx.Client(base_url=live.url, timeout=60) as c:
            return c.post("/v1/models/check", content=body(),
                          headers={"Content-Type": "application/json"}).status_code

    before = live.rss()
    with Probe(live.url) as probe, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(8)))
    assert statuses == [401] * 8
    probe.assert_responsive()
    assert live.rss() - before < 50 * MB


def test_a_streamed_body_past_the_limit_is_cut_off_with_413(live: Live) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"owner": "'
        for _ in range(64):
            yield b"a" * MB
        yield b'"}'

    before = live.rss()
    with httpx.Client(base_url=live.url, timeout=60) as c:
        answer = c.post("/v1/leads/nobody@acme.example/reassign", content=body(),
                        headers={**live.headers("sales"), "Content-Type": "application/json"})
    assert answer.status_code == 413, answer.text
    assert "at most 64 KB" in _refusal(answer)["message"]
    assert live.rss() - before < 50 * MB


def test_the_billion_laughs_model_is_refused_at_once(live: Live) -> None:
    """8 levels of aliases in 382 bytes took the server past 4 GB in 54 s."""
    text = _billion_laughs(8)
    assert len(text) < 500
    before = live.rss()
    with Probe(live.url) as probe, httpx.Client(base_url=live.url, timeout=60) as c:
        start = time.perf_counter()
        answer = c.post("/v1/models/check", json={"text": text},
                        headers=live.headers("marketing"))
        took = time.perf_counter() - start
    assert answer.status_code == 422, answer.text
    assert "expands to more than 200,000 values" in answer.json()["message"]
    assert took < 1.0
    probe.assert_responsive()
    assert live.rss() - before < 50 * MB


def test_yaml_nested_a_thousand_deep_is_a_model_error(live: Live) -> None:
    with httpx.Client(base_url=live.url, timeout=60) as c:
        answer = c.post("/v1/models/check", json={"text": DEEP_YAML},
                        headers=live.headers("marketing"))
    assert answer.status_code == 422, answer.text
    assert "model.yaml:2:" in answer.json()["message"]
    assert "nested more than 64 levels deep" in answer.json()["message"]


def test_deep_json_before_auth_is_401_not_a_parse(live: Live) -> None:
    with httpx.Client(base_url=live.url, timeout=60) as c:
        answer = c.post("/v1/keys", content=b"[" * 1000 + b"]" * 1000,
                        headers={"Content-Type": "application/json"})
    assert answer.status_code == 401


@pytest.mark.parametrize("path", ["/v1/quarantine/retry", "/v1/deliveries/retry"])
def test_an_id_beyond_64_bits_is_a_422(live: Live, path: str) -> None:
    with httpx.Client(base_url=live.url, timeout=60) as c:
        answer = c.post(path, json={"ids": [2**70]}, headers=live.headers("admin"))
    assert answer.status_code == 422, answer.text
    assert _refusal(answer)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_score_bound_that_is_not_a_number_is_a_422(live: Live, value: str) -> None:
    with httpx.Client(base_url=live.url, timeout=60) as c:
        answer = c.get("/v1/leads", params={"min_score": value},
                       headers=live.headers("read-only"))
    assert answer.status_code == 422, answer.text


def test_a_lead_cannot_be_given_to_an_owner_who_does_not_exist(live: Live) -> None:
    with httpx.Client(base_url=live.url, timeout=60) as c:
        answer = c.post("/v1/leads/nobody@acme.example/reassign", json={"owner": "mallory"},
                        headers=live.headers("admin"))
    assert answer.status_code == 404, answer.text
    assert "owner 'mallory': no such seller" in _refusal(answer)["message"]
    assert "li.wei" in answer.json()["message"]  # a member of the example model's teams


def _raw(live: Live, head: bytes) -> bytes:
    """Send `head` on a fresh connection; what the server answers before closing."""
    port = int(live.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(head)  # the server may refuse and close before it has read it all
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return answer


def test_a_one_megabyte_header_is_refused_with_431(live: Live) -> None:
    answer = _raw(live, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * MB + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"code": "request_header_fields_too_large"' in answer


def test_ten_thousand_headers_are_refused_with_431(live: Live) -> None:
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(10_000))
    answer = _raw(live, b"GET /health HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_ordinary_requests_keep_working_after_the_attacks(live: Live) -> None:
    with httpx.Client(base_url=live.url, timeout=60) as c:
        ok = c.post("/v1/models/check", json={"text": MODEL},
                    headers=live.headers("marketing"))
        health = c.get("/health", headers={f"X-H{i}": "v" * 100 for i in range(50)})
    assert ok.status_code == 200, ok.text
    assert health.status_code == 200
