"""Real webhook receivers on 127.0.0.1 for the tests: healthy, slow, dribbling, flaky.

Each runs a threading HTTP server in a daemon thread and logs every request it read
(when, headers, body) before it answers."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """`script`: the next answers (a status, or (status, {header: value})); after it,
    200. `delay`: seconds before answering. `dribble`: send the status line, then one
    header line every `dribble` seconds, forever (until closed)."""

    def __init__(self, *, delay: float = 0.0, dribble: float | None = None,
                 script: list[Any] | None = None) -> None:
        self.delay, self.dribble = delay, dribble
        self.script = list(script or [])
        self.log: list[tuple[float, dict[str, str], bytes]] = []
        self.closing = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = -1  # headers and body in one segment (no delayed-ACK stall)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.log.append((time.monotonic(), dict(self.headers), body))
                    action = receiver.script.pop(0) if receiver.script else 200
                if receiver.dribble is not None:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self.wfile.flush()
                    while not receiver.closing.wait(receiver.dribble):
                        try:
                            self.wfile.write(b"X-Slow: 1\r\n")
                            self.wfile.flush()
                        except OSError:
                            return
                    return
                if receiver.delay:
                    receiver.closing.wait(receiver.delay)
                status, headers = (action, {}) if isinstance(action, int) else action
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client gone mid-answer (a killed worker) is part of the tests

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(b) for _, _, b in self.log]

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receivers(*specs: dict[str, Any]) -> Iterator[list[Receiver]]:
    made = [Receiver(**spec) for spec in specs]
    try:
        yield made
    finally:
        for r in made:
            r.close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
