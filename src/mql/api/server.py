"""Running the app with uvicorn, with bounded request heads.

uvicorn's fast parser (httptools) accepts headers of any size and number. `serve` uses a
protocol that refuses a request whose request line and headers pass `MAX_HEAD_BYTES`, or
that sends more than `MAX_HEADERS` headers, with 431 and closes the connection; at most
`MAX_HEAD_BYTES` plus one network read is buffered for a head. Without httptools, uvicorn's
h11 parser is used with the same size bound.
"""

from __future__ import annotations

import json
from typing import Any

import uvicorn

MAX_HEAD_BYTES = 64 * 1024  # browsers send a few KB; cookies may add some
MAX_HEADERS = 100

_BODY = json.dumps({"detail": "the request's headers are too large or too many (at most "
                    f"{MAX_HEADERS} headers and {MAX_HEAD_BYTES // 1024} KB)",
                    "code": "request_header_fields_too_large",
                    "message": "the request's headers are too large or too many"}).encode()
REFUSAL = (b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
           b"content-type: application/json\r\ncontent-length: " + str(len(_BODY)).encode()
           + b"\r\nconnection: close\r\n\r\n" + _BODY)


class _TooManyHeaders(Exception):
    pass


def _protocol() -> type[Any] | str:
    """The HTTP protocol class with the limits, or "h11" when httptools is missing."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is a dependency
        return "h11"

    class BoundedHttpTools(HttpToolsProtocol):
        """httptools, refusing oversized and overcrowded request heads with 431."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._head: int | None = 0  # bytes of the head being read; None: in a body
            self._ended = False  # a message ended in the data being parsed
            self._headers = 0
            self._refused = False

        def on_message_begin(self) -> None:
            self._headers = 0
            super().on_message_begin()

        def on_header(self, name: bytes, value: bytes) -> None:
            self._headers += 1
            if self._headers > MAX_HEADERS:
                self._refused = True
                raise _TooManyHeaders  # the parser stops; uvicorn answers 400, we 431
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._head = None
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._head = 0
            self._ended = True
            super().on_message_complete()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._ended:  # this data ended a body: it counts for no head (one read at most)
                self._ended = False
            elif self._head is not None and not self.transport.is_closing():
                self._head += len(data)  # the head is still incomplete after all of it
                if self._head > MAX_HEAD_BYTES:
                    self._refuse()

        def send_400_response(self, msg: str) -> None:
            if self._refused:
                self._refuse()
            else:
                super().send_400_response(msg)

        def _refuse(self) -> None:
            self._refused = True
            self.transport.write(REFUSAL)
            self.transport.close()

    return BoundedHttpTools


def serve(app: Any, *, host: str, port: int, access_log: bool) -> None:
    """Serve `app` on `host:port` until stopped, with the head limits above."""
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log,
                http=_protocol(), h11_max_incomplete_event_size=MAX_HEAD_BYTES)
