"""Plain request and response values shared by both entrypoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from attrs import define, field


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _NoBody:
    def read(self, size: int = -1, /) -> bytes:
        return b""


# The body of a request that has none (most GETs and DELETEs): no stream built for it.
NO_BODY: Readable = _NoBody()


@define  # not frozen: built once per request, and a frozen __init__ costs three times more
class HttpRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # names in lower case
    body: Readable
    query: str = ""
    content_length: int | None = None
    host: str | None = None
    scheme: str = "http"
    # Logged beside our own ids (API Gateway and Lambda request ids on AWS).
    platform_ids: Mapping[str, str] = field(factory=dict)
    # The whole body, when the entrypoint already holds it (a Lambda event): read without
    # copying it through ``body`` in chunks.
    body_bytes: bytes | None = None
    # Why the entrypoint could not read the request as sent (a broken Lambda event), if so:
    # answered 400 in the envelope.
    malformed: str | None = None
    # Seconds the platform leaves this request to answer (a Lambda's remaining time, less a
    # margin); None when the platform sets no limit. The configured budget applies as well.
    budget_seconds: float | None = None
    # The claims of a JWT the platform has verified (API Gateway's JWT authorizer), if any.
    # Only an entrypoint sets them, from what the platform vouches for: never from a header.
    verified_claims: Mapping[str, object] | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@define
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(factory=list)
    body: bytes = b""
