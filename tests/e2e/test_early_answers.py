"""The local server answers like production before it reads the body, over raw sockets.

The application sees a request as soon as its headers arrive. A declared size over the route's
limit is refused in the API's envelope, with CORS headers, without the body being sent or
read; ``Expect: 100-continue`` is answered only when the application reads the body."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from domain.blueprint import MAX_BLUEPRINT_BYTES
from tests.blueprints import pdf
from tests.e2e.servers import cli, free_port, running

pytestmark = pytest.mark.slow
ORIGIN = "http://localhost:3000"
HUGE = 100 * 1024 * 1024  # past every limit, the old 80 MiB server cap included


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [*cli(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}/health"):
        yield "127.0.0.1", port


def head(path: str, length: int, *extra: str) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/pdf",
        f"Origin: {ORIGIN}",
        f"Content-Length: {length}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket) -> tuple[list[str], dict[str, str], bytes]:
    """The status lines received (interim ones first), the final headers, and the body."""
    data = b""
    statuses: list[str] = []
    while True:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before a response: {data!r}"
            data += chunk
        block, data = data.split(b"\r\n\r\n", 1)
        status, *header_lines = block.decode("latin-1").split("\r\n")
        statuses.append(status)
        if not status.startswith("HTTP/1.1 1"):
            break
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    length = int(headers.get("content-length", "0"))
    while len(data) < length:
        chunk = sock.recv(65536)
        assert chunk
        data += chunk
    return statuses, headers, data[:length]


def connect(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=30)


def assert_envelope_413(headers: dict[str, str], body: bytes) -> None:
    answer = json.loads(body)
    assert answer["status"] == "error"
    assert answer["error"]["code"] == "FILE_TOO_LARGE"
    assert answer["meta"]["request_id"] == headers["x-request-id"]
    assert headers["access-control-allow-origin"] == ORIGIN


def test_an_oversized_declaration_with_expect_gets_413_and_no_100_continue(
    address: tuple[str, int],
) -> None:
    with connect(address) as sock:
        sock.sendall(head("/api/v1/jobs", HUGE, "Expect: 100-continue"))
        statuses, headers, body = read_response(sock)
    assert statuses == ["HTTP/1.1 413 Content Too Large"]  # no interim 100 before it
    assert_envelope_413(headers, body)
    assert headers["connection"] == "close"


def test_an_oversized_declaration_is_refused_before_the_body_is_sent(
    address: tuple[str, int],
) -> None:
    """Only the first 64 KiB are sent: the answer must come without the other 100 MiB."""
    with connect(address) as sock:
        sock.sendall(head("/api/v1/jobs", HUGE) + pdf() + b"\x00" * (64 * 1024))
        statuses, headers, body = read_response(sock)
    assert statuses == ["HTTP/1.1 413 Content Too Large"]
    assert_envelope_413(headers, body)


def test_an_oversized_local_upload_form_is_refused_before_the_body_is_sent(
    address: tuple[str, int],
) -> None:
    with connect(address) as sock:
        sock.sendall(head("/local-uploads", MAX_BLUEPRINT_BYTES + 10 * 1024 * 1024))
        statuses, headers, body = read_response(sock)
    assert statuses[-1] == "HTTP/1.1 413 Content Too Large"
    assert_envelope_413(headers, body)


def test_100_continue_comes_when_the_body_is_wanted(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        sock.sendall(head("/api/v1/jobs", len(pdf()), "Expect: 100-continue"))
        interim = sock.recv(64)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(pdf())
        statuses, _, body = read_response(sock)
        assert statuses == ["HTTP/1.1 201 Created"]
        assert json.loads(body)["data"]["blueprint_size_bytes"] == len(pdf())
        # The connection stays usable for the next request.
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(sock)[0] == ["HTTP/1.1 200 OK"]
