"""The local server: cheroot serving the WSGI app, so the app sees a request before its body.

cheroot hands the body to the application as a stream (waitress read it whole first), so a
declared size over a route's limit is refused, in the API's envelope and with its CORS
headers, before a byte of the body is read. Two refinements make that hold on the wire:

- ``Expect: 100-continue`` is answered when the application first reads the body, not when
  the headers arrive (cheroot's own choice), so a client never sends a body that the answer
  already refuses.
- A response given before the body was read closes the connection, unless what is left is
  small enough to read and discard: a client still sending must not be made to send 50 MiB
  into a request that is over, and what it sends must not be read as the next request.

cheroot is pure Python and runs alike on Linux, macOS and Windows laptops.
"""

from __future__ import annotations

from typing import Any

from cheroot import server as http
from cheroot import wsgi

# What a refused request may still carry and be read, to keep its connection open.
DRAIN_LIMIT_BYTES = 64 * 1024
MAX_HEADER_BYTES = 64 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Body:
    """``wsgi.input``: sends ``100 Continue`` on the first read if the client waits for it,
    and counts what was read."""

    def __init__(self, request: _Request) -> None:
        self._request = request
        self._stream = request.rfile
        self.consumed = 0
        self.at_end = False

    def _ready(self) -> None:
        request = self._request
        if request.awaits_continue:
            request.awaits_continue = False
            request.conn.wfile.write(_CONTINUE)

    def read(self, size: int = -1, /) -> bytes:
        self._ready()
        data: bytes = self._stream.read(size) if size is not None else self._stream.read()
        self.consumed += len(data)
        if not data or size is None or size < 0:
            self.at_end = True
        return data

    def readline(self, size: int = -1, /) -> bytes:
        self._ready()
        data: bytes = self._stream.readline(size)
        self.consumed += len(data)
        self.at_end = self.at_end or not data
        return data

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class _Request(http.HTTPRequest):
    """Holds back cheroot's immediate ``100 Continue``; the body sends it when read."""

    awaits_continue = False

    def read_request_headers(self) -> bool:
        read_headers = type(self).header_reader

        def read_and_hold_expectation(rfile: Any, headers: dict[bytes, bytes]) -> Any:
            found = read_headers(rfile, headers)
            if headers.get(b"Expect", b"").lower() == b"100-continue":
                del headers[b"Expect"]
                self.awaits_continue = True
            return found

        self.header_reader = read_and_hold_expectation
        return bool(super().read_request_headers())  # type: ignore[no-untyped-call]


class _Connection(http.HTTPConnection):
    RequestHandlerClass = _Request


class _Gateway(wsgi.Gateway_10):
    # cheroot's stubs say get_environ returns None; it returns the environ.
    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        self.body = _Body(self.req)
        environ["wsgi.input"] = self.body
        return environ

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        if self._body_left_unread():
            # cheroot would otherwise read the rest of the body before it answers (and take
            # what follows a chunked body for the next request): the connection ends here.
            self.req.close_connection = True
            headers = [*headers, ("Connection", "close")]
        return super().start_response(status, headers, exc_info)

    def _body_left_unread(self) -> bool:
        request = self.req
        if request.awaits_continue:
            return True  # nothing was sent, and the client may or may not send it now
        if request.chunked_read:
            return not self.body.at_end
        declared = int(self.env.get("CONTENT_LENGTH") or 0)
        return declared - self.body.consumed > DRAIN_LIMIT_BYTES


def make_server(app: Any, host: str, port: int, threads: int) -> wsgi.Server:
    server = wsgi.Server(
        (host, port), app, numthreads=threads, server_name="blueprint-jobs", timeout=30
    )
    server.ConnectionClass = _Connection
    server.gateway = _Gateway
    server.max_request_body_size = 0  # the application sets each route's limit
    # Headers have a bound (cheroot has none by default): a few KB is what clients send.
    server.max_request_header_size = MAX_HEADER_BYTES
    return server
