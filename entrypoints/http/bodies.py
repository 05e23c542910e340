"""Reading a request: media types, bodies within their limits, JSON objects, conditions."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

from domain import ids
from domain.blueprint import MAX_BLUEPRINT_BYTES, BlueprintFormat, format_from_name
from domain.errors import FileTooLarge, InvalidRequest
from domain.job import Job
from entrypoints.http.errors import PayloadTooLarge
from entrypoints.http.exchange import etag
from entrypoints.http.messages import HttpRequest, Readable

CHUNK_BYTES = 64 * 1024
MAX_SMALL_JSON_BYTES = 64 * 1024
# A base64 JSON body holding a 50 MiB blueprint, plus room for the rest of the object.
MAX_BASE64_JSON_BYTES = 4 * math.ceil(MAX_BLUEPRINT_BYTES / 3) + 4096
# Bytes of no declared format: the file's signature decides, as it does for every upload.
RAW_BYTES = "application/octet-stream"
# A strong ETag of ours, '"3"'; the bare version, 3, is taken too (a common client slip).
_ETAG = re.compile(r'"(\d{1,18})"|(\d{1,18})')


def media_type(request: HttpRequest) -> str:
    return (request.header("content-type") or "").split(";", 1)[0].strip().lower()


def cache_allowed(request: HttpRequest) -> bool:
    """``?fresh=true`` asks for a fresh detection, not a cached result.

    Not ``Cache-Control``: browsers and proxies add it on their own (Chrome's "Disable cache",
    ``fetch(..., {cache: "reload"})``), and it speaks of HTTP caches, not of detections."""
    if not request.query:
        return True
    fresh = parse_qs(request.query, keep_blank_values=True).get("fresh")
    if fresh is None:
        return True
    if fresh in (["true"], ["1"]):
        return False
    if fresh in (["false"], ["0"]):
        return True
    raise InvalidRequest("fresh is true or false.", field="fresh")


def base_url(request: HttpRequest) -> str:
    """Where the client reached us: relative upload URLs are resolved against it."""
    return f"{request.scheme}://{request.host or 'localhost'}/"


def refuse_declared_length(request: HttpRequest, limit: int, *, blueprint: bool) -> None:
    if request.content_length is not None and request.content_length > limit:
        _too_large(limit, blueprint=blueprint)


def _too_large(limit: int, *, blueprint: bool) -> None:
    if blueprint:
        raise FileTooLarge(
            f"A blueprint may be at most {MAX_BLUEPRINT_BYTES} bytes.",
            max_bytes=MAX_BLUEPRINT_BYTES,
        )
    raise PayloadTooLarge(f"The request body may be at most {limit} bytes.", max_bytes=limit)


def _stream(body: Readable, limit: int) -> Iterator[bytes]:
    """The body in chunks, cut off one byte past ``limit`` so the excess is detected."""
    remaining = limit + 1
    while remaining > 0:
        chunk = body.read(min(CHUNK_BYTES, remaining))
        if not chunk:
            return
        remaining -= len(chunk)
        yield chunk


def body_chunks(request: HttpRequest, limit: int) -> Iterable[bytes]:
    """The body, at most one byte past ``limit``: as held, or streamed in chunks."""
    held = request.body_bytes
    if held is not None:
        return [held if len(held) <= limit else held[: limit + 1]]
    return _stream(request.body, limit)


def read_json(request: HttpRequest, limit: int, *, blueprint: bool = False) -> dict[str, Any]:
    refuse_declared_length(request, limit, blueprint=blueprint)
    data = b"".join(body_chunks(request, limit))
    if len(data) > limit:
        _too_large(limit, blueprint=blueprint)
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("The body is not valid JSON.", field="body") from None
    except RecursionError:
        raise InvalidRequest("The body's JSON is nested too deeply.", field="body") from None
    if not isinstance(payload, dict):
        raise InvalidRequest("The body must be a JSON object.", field="body")
    return payload


def only_fields(payload: dict[str, Any], allowed: set[str]) -> None:
    for name in payload:
        if name not in allowed:
            raise InvalidRequest(f"Unknown field {ids.echo(name)!r}.", field=ids.echo(name))


def require_fields(payload: dict[str, Any], *names: str) -> None:
    for name in names:
        if name not in payload:
            raise InvalidRequest(f"{name} is required.", field=name)


def inline_blueprint(payload: dict[str, Any]) -> tuple[list[bytes], BlueprintFormat | None]:
    only_fields(payload, {"blueprint", "format"})
    encoded = payload.get("blueprint")
    if not isinstance(encoded, str):
        raise InvalidRequest("blueprint must be a base64 string.", field="blueprint")
    declared = format_from_name(payload["format"]) if "format" in payload else None
    if len(encoded) > MAX_BASE64_JSON_BYTES:
        _too_large(MAX_BASE64_JSON_BYTES, blueprint=True)
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("blueprint is not valid base64.", field="blueprint") from None
    if len(data) > MAX_BLUEPRINT_BYTES:
        _too_large(MAX_BLUEPRINT_BYTES, blueprint=True)
    return [data], declared


def expected_version(request: HttpRequest) -> int | None:
    """``If-Match``: ``*`` or one strong ETag such as ``"3"``."""
    header = request.header("if-match")
    if header is None or header.strip() == "*":
        return None
    found = _ETAG.fullmatch(header.strip())
    if found is None:
        raise InvalidRequest(
            'If-Match must be "*" or one ETag of this job, such as "3".', field="If-Match"
        )
    return int(found.group(1) or found.group(2))


def none_match(request: HttpRequest, job: Job) -> bool:
    """``If-None-Match`` uses weak comparison: ``W/"3"`` matches version 3."""
    header = request.header("if-none-match")
    if header is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag(job) in tags
