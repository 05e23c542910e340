"""The local server answers like production before it reads the body, over raw sockets.

The application sees a request as soon as its headers arrive. A declared size over the route's
limit is refused in the API's envelope, with CORS headers, without the body being sent or
read; ``Expect: 100-continue`` is answered only when the application reads the body."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from domain.blueprint import MAX_BLUEPRINT_BYTES
from tests.blueprints import pdf
from tests.e2e.servers import DEV_API_KEY, MEMORY_ENV, cli, free_port, running

pytestmark = pytest.mark.slow
ORIGIN = "http://localhost:3000"
HUGE = 100 * 1024 * 1024  # past every limit, the old 80 MiB server cap included
AUTHORIZATION = f"Authorization: Bearer {DEV_API_KEY}"


@pytest.fixture(scope="module")
def address() -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [*cli(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}/health", env=MEMORY_ENV):
        yield "127.0.0.1", port


def head(path: str, length: int, *extra: str, credentials: bool = True) -> bytes:
    """A request's head; an API client's carries its key, a browser's upload form none."""
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/pdf",
        f"Origin: {ORIGIN}",
        f"Content-Length: {length}",
        *([AUTHORIZATION] if credentials else []),
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
        sock.sendall(
            head("/local-uploads", MAX_BLUEPRINT_BYTES + 10 * 1024 * 1024, credentials=False)
        )
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


def test_a_request_without_credentials_is_refused_before_its_body(
    address: tuple[str, int],
) -> None:
    with connect(address) as sock:
        sock.sendall(head("/api/v1/jobs", len(pdf()), "Expect: 100-continue", credentials=False))
        statuses, headers, body = read_response(sock)
    assert statuses == ["HTTP/1.1 401 Unauthorized"]  # no interim 100: the body is not wanted
    assert headers["www-authenticate"] == 'Bearer realm="blueprint-jobs"'
    assert headers["access-control-allow-origin"] == ORIGIN
    answer = json.loads(body)
    assert answer["error"]["code"] == "UNAUTHENTICATED"
    assert answer["meta"]["request_id"] == headers["x-request-id"]


def _refused_early(address: tuple[str, int], head_bytes: bytes, then: bytes = b"") -> Any:
    """Send a request whose answer comes before its body, then ``then`` on the same socket:
    the answer arrives without the body, and the connection ends with it."""
    with connect(address) as sock:
        sock.sendall(head_bytes)
        statuses, headers, body = read_response(sock)
        if then:
            with contextlib.suppress(OSError):  # the server may have closed already
                sock.sendall(then)
        rest = b""
        try:
            while chunk := sock.recv(65536):
                rest += chunk
        except OSError:
            pass
    return statuses, headers, body, rest


@pytest.mark.parametrize("expect", [(), ("Expect: 100-continue",)])
def test_an_unsupported_type_is_refused_before_a_large_body(
    address: tuple[str, int], expect: tuple[str, ...]
) -> None:
    head_bytes = head("/api/v1/jobs", 40 * 1024 * 1024, *expect).replace(
        b"application/pdf", b"text/plain"
    )
    statuses, headers, body, rest = _refused_early(address, head_bytes, b"x" * 1024)
    assert statuses == ["HTTP/1.1 415 Unsupported Media Type"]
    assert json.loads(body)["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert headers["connection"] == "close"
    assert rest == b""  # nothing more: the connection ended with the answer


def test_a_wrong_signature_is_refused_before_the_rest_of_the_body(
    address: tuple[str, int],
) -> None:
    head_bytes = head("/api/v1/jobs", 40 * 1024 * 1024) + b"GIF89a" + b"\x00" * 70_000
    statuses, _, body, rest = _refused_early(address, head_bytes)
    assert statuses == ["HTTP/1.1 400 Bad Request"]
    assert json.loads(body)["error"]["code"] == "INVALID_FILE_FORMAT"
    assert rest == b""


def test_a_chunked_body_refused_early_smuggles_no_request(address: tuple[str, int]) -> None:
    smuggled = b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    chunk = f"{len(smuggled):x}\r\n".encode() + smuggled + b"\r\n0\r\n\r\n"
    head_bytes = (
        b"POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        + f"{AUTHORIZATION}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + chunk
    )
    statuses, _, _, rest = _refused_early(address, head_bytes)
    assert statuses == ["HTTP/1.1 415 Unsupported Media Type"]
    assert b"HTTP/1.1 200" not in rest


def test_a_chunked_blueprint_is_read_whole(address: tuple[str, int]) -> None:
    data = pdf() + bytes(range(256)) * 300
    chunks = b"".join(
        f"{len(data[i : i + 4096]):x}\r\n".encode() + data[i : i + 4096] + b"\r\n"
        for i in range(0, len(data), 4096)
    )
    request = (
        b"POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pdf\r\n"
        + f"{AUTHORIZATION}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )
    with connect(address) as sock:
        sock.sendall(request)
        statuses, _, body = read_response(sock)
        assert statuses == ["HTTP/1.1 201 Created"], body
        assert json.loads(body)["data"]["blueprint_size_bytes"] == len(data)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(sock)[0] == ["HTTP/1.1 200 OK"]


def test_a_negative_content_length_is_a_400_in_the_envelope(address: tuple[str, int]) -> None:
    with connect(address) as sock:
        sock.sendall(head("/api/v1/jobs", -1))
        statuses, headers, body = read_response(sock)
    assert statuses[-1].startswith("HTTP/1.1 400")
    answer = json.loads(body)
    assert answer["error"]["code"] == "INVALID_REQUEST_BODY"
    assert answer["meta"]["request_id"] == headers["x-request-id"]


def test_headers_are_bounded(address: tuple[str, int]) -> None:
    """The server refuses a header block over 64 KiB itself, and takes one under it."""
    with connect(address) as sock:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"p" * 70_000 + b"\r\n\r\n"
        )
        statuses, _, _ = read_response(sock)
    assert statuses[-1].split()[1] in ("413", "414", "431")
    with connect(address) as sock:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"p" * 30_000 + b"\r\n\r\n"
        )
        assert read_response(sock)[0] == ["HTTP/1.1 200 OK"]
