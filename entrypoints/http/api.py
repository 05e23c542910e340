"""The HTTP contract of docs/API.md, once: routing, envelope, ids, CORS, errors, access log.

``Api.handle`` takes an ``HttpRequest`` and returns an ``HttpResponse``; the Falcon app and
the Lambda handler only translate to and from these values.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs, urljoin

from domain import ids
from domain.blueprint import (
    MAX_BLUEPRINT_BYTES,
    SUPPORTED_CONTENT_TYPES,
    BlueprintFormat,
    format_from_content_type,
    format_from_name,
)
from domain.errors import (
    DeadlineExceeded,
    DomainError,
    FileTooLarge,
    InvalidRequest,
    ServiceUnavailable,
)
from domain.job import Job
from domain.timestamps import format_timestamp
from domain.use_cases import Origin, UseCases
from entrypoints import deadline, metrics
from entrypoints.deadline import Monotonic
from entrypoints.http import openapi
from entrypoints.http.errors import (
    STATUS_BY_CODE,
    CorsOriginNotAllowed,
    HttpProblem,
    MethodNotAllowed,
    PayloadTooLarge,
    RouteNotFound,
    UnsupportedApiVersion,
    UnsupportedMediaType,
)
from entrypoints.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from entrypoints.http.idempotency import Idempotency
from entrypoints.http.messages import HttpRequest, HttpResponse, Readable
from entrypoints.http.multipart import FormReader, boundary_of
from entrypoints.http.representations import JOB_REPRESENTATIONS, feedback
from entrypoints.http.routes import (
    ANY_ROUTE_HEADERS,
    ANY_ROUTE_METHODS,
    DEFAULT_VERSION,
    JOBS,
    LOCAL_UPLOADS,
    UPLOADS,
    Match,
)
from entrypoints.http.routes import match as match_route
from entrypoints.logs import bind, close_context, open_context
from entrypoints.settings import Settings
from ports.idempotency import IdempotencyStore
from ports.system import Clock, Entropy

log = logging.getLogger("blueprint_jobs.http")
access_log = logging.getLogger("blueprint_jobs.access")

CHUNK_BYTES = 64 * 1024
MAX_SMALL_JSON_BYTES = 64 * 1024
# A base64 JSON body holding a 50 MiB blueprint, plus room for the rest of the object.
MAX_BASE64_JSON_BYTES = 4 * math.ceil(MAX_BLUEPRINT_BYTES / 3) + 4096

EXPOSED_HEADERS = "X-Request-ID, X-Correlation-ID, ETag, Location, Retry-After, Idempotent-Replayed"
PREFLIGHT_MAX_AGE = "600"
# On every response: a client must never guess a type other than the one declared.
_NOSNIFF = ("X-Content-Type-Options", "nosniff")

_NO_CORS = (("Vary", "Origin"),)
# A strong ETag of ours, '"3"'; the bare version, 3, is taken too (a common client slip).
_ETAG = re.compile(r'"(\d{1,18})"|(\d{1,18})')
IDEMPOTENT_ROUTES = (JOBS, UPLOADS)
JOB_CACHE_ENTRIES = 1024
_JSON_HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
# A job may be revalidated (If-None-Match, 304), which no-store forbids (RFC 9111).
_JOB_HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-cache")]
# Bytes of no declared format: the file's signature decides, as it does for every upload.
RAW_BYTES = "application/octet-stream"
INTERNAL_MESSAGE = "An internal error occurred. Quote the request id when reporting it."
_UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Retry after a short wait."


class _Exchange:
    """What the handling of one request has learnt so far."""

    __slots__ = ("correlation_id", "counts", "match", "request_id", "version")

    def __init__(self, request_id: str, correlation_id: str) -> None:
        self.request_id = request_id
        self.correlation_id = correlation_id
        self.version = DEFAULT_VERSION
        self.match: Match | None = None
        self.counts = metrics.Counts()


Handler = Callable[[HttpRequest, _Exchange], HttpResponse]


class Api:
    def __init__(
        self,
        service: UseCases,
        settings: Settings,
        *,
        idempotency: IdempotencyStore,
        clock: Clock,
        entropy: Entropy,
        monotonic: Monotonic | None = None,
    ) -> None:
        """Everything is given by the composition root (``entrypoints.bootstrap``): the Api
        builds no adapter of its own. ``clock`` and ``entropy`` make the request ids."""
        self._service = service
        self._clock = clock
        self._entropy = entropy
        # Each request is bounded by the configured budget, and by the platform's limit if
        # nearer; ``monotonic`` times it.
        self._budget = settings.request_budget_seconds
        self._monotonic = monotonic or time.monotonic
        self._idempotency = Idempotency(idempotency, clock)
        self._job_cache: dict[tuple[str, int, str], bytes] = {}
        self._job_cache_lock = threading.Lock()
        self._origins = frozenset(settings.cors_origins)
        self._metrics = metrics.Metrics(settings.service)
        self._any_origin = "*" in self._origins
        self._handlers: dict[tuple[str, str], Handler] = {
            ("health", "GET"): self._health,
            ("ready", "GET"): self._ready,
            ("jobs", "POST"): self._create_job,
            ("job", "GET"): self._get_job,
            ("job", "DELETE"): self._cancel_job,
            ("feedback", "POST"): self._add_feedback,
            ("uploads", "POST"): self._open_upload,
            ("local_uploads", "POST"): self._receive_upload,
            ("openapi", "GET"): self._openapi,
        }

    # -- the one entry point ---------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = ids.new_request_id(
            self._clock.now(), self._entropy.random_bytes(ids.REQUEST_RANDOM_BYTES)
        )
        offered = request.header("x-correlation-id")
        correlation_id = offered if ids.is_correlation_id(offered) else request_id
        exchange = _Exchange(request_id, correlation_id)
        context: dict[str, Any] = {"request_id": request_id, "correlation_id": correlation_id}
        context.update(request.platform_ids)
        budget = request.budget_seconds
        if budget is None or budget > self._budget:
            budget = self._budget
        deadline_token = deadline.start(budget, self._monotonic)
        token = open_context(context)
        try:
            try:
                if request.malformed is not None:
                    raise InvalidRequest(request.malformed, field="request")
                response = self._dispatch(request, exchange)
            except DomainError as error:
                response = self._error_response(error, exchange)
            except Exception:
                log.exception("unhandled error while serving the request")
                response = self._error_body(500, "INTERNAL_ERROR", INTERNAL_MESSAGE, {}, exchange)
            response.headers.append(("X-Request-ID", request_id))
            response.headers.append(("X-Correlation-ID", correlation_id))
            response.headers.append(_NOSNIFF)
            response.headers.extend(self._cors_headers(request.header("origin")))
            if access_log.isEnabledFor(logging.INFO):  # no fields built for a line not written
                access_log.info(
                    "request",
                    extra={
                        "method": request.method,
                        "route": exchange.match.route.template if exchange.match else None,
                        "path": ids.echo(request.path),
                        "status": response.status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                        "api_version": exchange.version,
                        "job_id": context.get("job_id"),
                        "emf": self._metrics.document(exchange.counts),
                    },
                )
            else:
                self._metrics.write(exchange.counts)
        finally:
            close_context(token)
            deadline.finish(deadline_token)
        return response

    def _dispatch(self, request: HttpRequest, exchange: _Exchange) -> HttpResponse:
        method = request.method.upper()
        try:
            found = match_route(request.path)
            if found.route is LOCAL_UPLOADS and not self._service.intake.receives_uploads:
                raise RouteNotFound("No resource at this path.", path=ids.echo(request.path))
        except (RouteNotFound, UnsupportedApiVersion):
            if method == "OPTIONS" and request.header("access-control-request-method"):
                # Answered, so that the browser sends the real request and shows its 404.
                return self._preflight(request, ANY_ROUTE_METHODS, ANY_ROUTE_HEADERS)
            raise
        exchange.match = found
        exchange.version = found.version
        if found.job_id is not None and ids.is_job_id(found.job_id):
            bind(job_id=found.job_id)
        if method == "OPTIONS":
            return self._options(request, found)
        # HEAD is GET without a body (RFC 9110): the entrypoints leave the body out.
        handler = self._handlers.get((found.route.name, "GET" if method == "HEAD" else method))
        if handler is None:
            raise MethodNotAllowed(
                f"{ids.echo(method)} is not allowed here.",
                headers={"Allow": found.route.allow},
                allowed_methods=[*found.route.methods, "OPTIONS"],
            )
        if found.route in IDEMPOTENT_ROUTES and request.header(IDEMPOTENCY_HEADER) is not None:
            chosen = handler
            return self._idempotency.run(
                request, found.route.name, found.version, lambda req: chosen(req, exchange)
            )
        return handler(request, exchange)

    # -- responses -------------------------------------------------------------------------

    def _success(
        self,
        status: int,
        data: Any,
        exchange: _Exchange,
        headers: list[tuple[str, str]] | None = None,
    ) -> HttpResponse:
        body = {
            "status": "success",
            "data": data,
            "meta": {"request_id": exchange.request_id, "api_version": exchange.version},
        }
        return HttpResponse(status, [*_JSON_HEADERS, *(headers or [])], _encode(body))

    def _error_response(self, error: DomainError, exchange: _Exchange) -> HttpResponse:
        status = STATUS_BY_CODE.get(error.code)
        if status is None or status == 500:
            log.error("domain error with no HTTP meaning: %s", error.code, exc_info=error)
            return self._error_body(500, "INTERNAL_ERROR", INTERNAL_MESSAGE, {}, exchange)
        headers = list(error.headers.items()) if isinstance(error, HttpProblem) else []
        message, details = error.message, error.details
        if isinstance(error, ServiceUnavailable):
            exchange.counts.add(metrics.STORE_FAULTS)
            if isinstance(error, DeadlineExceeded):
                log.warning("request out of time: %s", error.message)
            else:
                log.warning("backing store unavailable: %s", error.message)
            headers.append(("Retry-After", str(error.retry_after)))
            message, details = _UNAVAILABLE_MESSAGE, {}
        else:
            exchange.counts.refused(error.code, status)
            log.info("request refused: %s", error.code, extra={"error_code": error.code})
        return self._error_body(status, error.code, message, details, exchange, headers)

    def _error_body(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any],
        exchange: _Exchange,
        headers: list[tuple[str, str]] | None = None,
    ) -> HttpResponse:
        body = {
            "status": "error",
            "error": {"code": code, "message": message, "details": details},
            "meta": {"request_id": exchange.request_id, "api_version": exchange.version},
        }
        return HttpResponse(status, [*_JSON_HEADERS, *(headers or [])], _encode(body))

    def _job_response(
        self,
        status: int,
        job: Job,
        exchange: _Exchange,
        *,
        created: bool = False,
        revalidated: bool = False,
    ) -> HttpResponse:
        """``revalidated``: the answer to a GET, which a client may revalidate (304)."""
        headers = [("ETag", _etag(job))]
        if created:
            headers.append(("Location", f"/api/{exchange.version}/jobs/{job.job_id}"))
        body = (
            b'{"status":"success","data":'
            + self._job_json(job, exchange.version)
            + b',"meta":'
            + _meta(exchange)
            + b"}"
        )
        return HttpResponse(
            status, [*(_JOB_HEADERS if revalidated else _JSON_HEADERS), *headers], body
        )

    def _job_json(self, job: Job, version: str) -> bytes:
        """A job's representation, encoded once per job version: clients poll a job while the
        pipeline works, and a version names one state of a job exactly."""
        key = (job.job_id, job.version, version)
        cached = self._job_cache.get(key)
        if cached is None:
            cached = _encode(JOB_REPRESENTATIONS[version](job))
            with self._job_cache_lock:  # the local server's threads share the cache
                if len(self._job_cache) >= JOB_CACHE_ENTRIES:
                    del self._job_cache[next(iter(self._job_cache))]  # the oldest entry
                self._job_cache[key] = cached
        return cached

    # -- CORS ------------------------------------------------------------------------------

    def _origin_allowed(self, origin: str | None) -> bool:
        if origin is None or origin == "null":
            return False
        return self._any_origin or origin in self._origins

    def _cors_headers(self, origin: str | None) -> tuple[tuple[str, str], ...]:
        if not self._origin_allowed(origin):
            return _NO_CORS
        assert origin is not None
        allowed = origin if origin in self._origins else "*"
        return (
            ("Vary", "Origin"),
            ("Access-Control-Allow-Origin", allowed),
            ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
        )

    def _options(self, request: HttpRequest, found: Match) -> HttpResponse:
        if request.header("access-control-request-method") is None:
            return HttpResponse(204, [("Allow", found.route.allow)])
        headers = ", ".join(found.route.request_headers())
        return self._preflight(request, found.route.allow, headers)

    def _preflight(self, request: HttpRequest, methods: str, headers: str) -> HttpResponse:
        origin = request.header("origin")
        if not self._origin_allowed(origin):
            raise CorsOriginNotAllowed(
                "This origin may not call the API from a browser.", origin=ids.echo(origin or "")
            )
        return HttpResponse(
            204,
            [
                ("Access-Control-Allow-Methods", methods),
                ("Access-Control-Allow-Headers", headers),
                ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE),
            ],
        )

    # -- handlers --------------------------------------------------------------------------

    def _health(self, request: HttpRequest, exchange: _Exchange) -> HttpResponse:
        return self._success(200, {"status": "ok"}, exchange)

    def _ready(self, request: HttpRequest, exchange: _Exchange) -> HttpResponse:
        readiness = self._service.lifecycle.readiness()
        checks = {
            "job_store": "ok" if readiness.job_store else "unavailable",
            "blob_store": "ok" if readiness.blob_store else "unavailable",
        }
        if readiness.ready:
            return self._success(200, {"status": "ready", "checks": checks}, exchange)
        log.warning("not ready", extra={"error_code": "SERVICE_UNAVAILABLE"})
        return self._error_body(
            503,
            "SERVICE_UNAVAILABLE",
            "A backing store is not reachable.",
            {"checks": checks},
            exchange,
            [("Retry-After", "5")],
        )

    def _openapi(self, request: HttpRequest, exchange: _Exchange) -> HttpResponse:
        return HttpResponse(200, list(_JSON_HEADERS), openapi.document_bytes(exchange.version))

    def _create_job(self, request: HttpRequest, exchange: _Exchange) -> HttpResponse:
        media_type = _media_type(request)
        declared: BlueprintFormat | None
        chunks: Iterable[bytes]
        if media_type == "application/json":
            payload = _read_json(request, MAX_BASE64_JSON_BYTES, blueprint=True)
            if "upload_id" in payload:
                _only_fields(payload, {"upload_id"})
                job = self._service.intake.create_job_from_upload(
                    payload["upload_id"],
                    Origin(exchange.request_id, exchange.correlation_id, exchange.version),
                    use_cache=_cache_allowed(request),
                )
                bind(job_id=job.job_id)
                exchange.counts.job_created(cached=job.cached_from is not None)
                return self._job_response(201, job, exchange, created=True)
            chunks, declared = _inline_blueprint(payload)
        else:
            declared = format_from_content_type(media_type) if media_type else None
            if declared is None and media_type != RAW_BYTES:
                raise UnsupportedMediaType(
                    "Send the blueprint as image/png, image/jpeg, application/pdf or "
                    "application/octet-stream, or as JSON.",
                    content_type=media_type,
                    supported=[*SUPPORTED_CONTENT_TYPES, RAW_BYTES, "application/json"],
                )
            _refuse_declared_length(request, MAX_BLUEPRINT_BYTES, blueprint=True)
            chunks = _body_chunks(request, MAX_BLUEPRINT_BYTES)
        origin = Origin(exchange.request_id, exchange.correlation_id, exchange.version)
        job = self._service.intake.create_job(
            chunks, origin, declared, use_cache=_cache_allowed(request)
        )
        bind(job_id=job.job_id)
        exchange.counts.job_created(cached=job.cached_from is not None)
        return self._job_response(201, job, exchange, created=True)

    def _open_upload(self, request: HttpRequest, exchange: _Exchange) -> HttpResponse:
        _require_json(request)
        payload = _read_json(request, MAX_SMALL_JSON_BYTES)
        _only_fields(payload, {"format", "size_bytes"})
        for name in ("format", "size_bytes"):
            if name not in payload:
                raise InvalidRequest(f"{name} is required.", field=name)
        session, form = self._service.intake.open_upload(payload["format"], payload["size_bytes"])
        exchange.counts.add(metrics.UPLOADS_OPENED)
        data = {
            "upload_id": session.upload_id,
            "method": "POST",
            "url": urljoin(_base_url(request), form.url),
            "fields": dict(form.fields),
            "expires_at": format_timestamp(session.expires_at),
            "max_bytes": MAX_BLUEPRINT_BYTES,
        }
        return self._success(201, data, exchange)

    def _receive_upload(self, request: HttpRequest, exchange: _Exchange) -> HttpResponse:
        """The local stand-in for S3's form upload: 204 with no body, as S3 answers."""
        # The form's own fields and part headers add a few KB to the file.
        _refuse_declared_length(request, MAX_BLUEPRINT_BYTES + 64 * 1024, blueprint=True)
        reader = FormReader(request.body, boundary_of(request.header("content-type") or ""))
        fields = reader.read_fields()
        self._service.intake.receive_upload(fields, reader.file_chunks())
        return HttpResponse(204, [("Cache-Control", "no-store")])

    def _get_job(self, request: HttpRequest, exchange: _Exchange) -> HttpResponse:
        job = self._service.lifecycle.get_job(_job_id(exchange))
        if _none_match(request.header("if-none-match"), job):
            return HttpResponse(304, [("ETag", _etag(job)), ("Cache-Control", "no-cache")])
        return self._job_response(200, job, exchange, revalidated=True)

    def _cancel_job(self, request: HttpRequest, exchange: _Exchange) -> HttpResponse:
        expected = _expected_version(request.header("if-match"))
        job = self._service.lifecycle.cancel_job(_job_id(exchange), expected)
        return self._job_response(200, job, exchange)

    def _add_feedback(self, request: HttpRequest, exchange: _Exchange) -> HttpResponse:
        _require_json(request)
        payload = _read_json(request, MAX_SMALL_JSON_BYTES)
        _only_fields(payload, {"rating", "comment"})
        if "rating" not in payload:
            raise InvalidRequest("rating is required.", field="rating")
        expected = _expected_version(request.header("if-match"))
        entry = self._service.feedback.add_feedback(
            _job_id(exchange), payload["rating"], payload.get("comment"), expected
        )
        return self._success(201, feedback(entry), exchange)


# -- request helpers -----------------------------------------------------------------------


# One encoder for every response: json.dumps with options builds a new one each call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def _encode(body: Any) -> bytes:
    text = _ENCODER.encode(body)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate a client sent (a JSON key, say): escaped
        return _ASCII_ENCODER.encode(body).encode()


def _meta(exchange: _Exchange) -> bytes:
    # Both values match plain ASCII patterns (a request id, "v1"/"v2"): nothing to escape.
    return f'{{"request_id":"{exchange.request_id}","api_version":"{exchange.version}"}}'.encode()


def _etag(job: Job) -> str:
    return f'"{job.version}"'


def _job_id(exchange: _Exchange) -> str:
    assert exchange.match is not None
    assert exchange.match.job_id is not None
    return exchange.match.job_id


def _media_type(request: HttpRequest) -> str:
    return (request.header("content-type") or "").split(";", 1)[0].strip().lower()


def _cache_allowed(request: HttpRequest) -> bool:
    """``?fresh=true`` asks for a fresh detection, not a cached result.

    Not ``Cache-Control``: browsers and proxies add it on their own (Chrome's "Disable cache",
    ``fetch(..., {cache: "reload"})``), and it speaks of HTTP caches, not of detections."""
    fresh = parse_qs(request.query, keep_blank_values=True).get("fresh")
    if fresh is None:
        return True
    if fresh in (["true"], ["1"]):
        return False
    if fresh in (["false"], ["0"]):
        return True
    raise InvalidRequest("fresh is true or false.", field="fresh")


def _require_json(request: HttpRequest) -> None:
    if _media_type(request) != "application/json":
        raise UnsupportedMediaType(
            "Send this request as application/json.",
            content_type=_media_type(request),
            supported=["application/json"],
        )


def _base_url(request: HttpRequest) -> str:
    """Where the client reached us: relative upload URLs are resolved against it."""
    return f"{request.scheme}://{request.host or 'localhost'}/"


def _refuse_declared_length(request: HttpRequest, limit: int, *, blueprint: bool) -> None:
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


def _body_chunks(request: HttpRequest, limit: int) -> Iterable[bytes]:
    """The body, at most one byte past ``limit``: as held, or streamed in chunks."""
    held = request.body_bytes
    if held is not None:
        return [held if len(held) <= limit else held[: limit + 1]]
    return _stream(request.body, limit)


def _read_json(request: HttpRequest, limit: int, *, blueprint: bool = False) -> dict[str, Any]:
    _refuse_declared_length(request, limit, blueprint=blueprint)
    data = b"".join(_body_chunks(request, limit))
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


def _only_fields(payload: dict[str, Any], allowed: set[str]) -> None:
    for name in payload:
        if name not in allowed:
            raise InvalidRequest(f"Unknown field {ids.echo(name)!r}.", field=ids.echo(name))


def _inline_blueprint(payload: dict[str, Any]) -> tuple[list[bytes], BlueprintFormat | None]:
    _only_fields(payload, {"blueprint", "format"})
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


def _expected_version(header: str | None) -> int | None:
    """``If-Match``: ``*`` or one strong ETag such as ``"3"``."""
    if header is None or header.strip() == "*":
        return None
    found = _ETAG.fullmatch(header.strip())
    if found is None:
        raise InvalidRequest(
            'If-Match must be "*" or one ETag of this job, such as "3".', field="If-Match"
        )
    return int(found.group(1) or found.group(2))


def _none_match(header: str | None, job: Job) -> bool:
    """``If-None-Match`` uses weak comparison: ``W/"3"`` matches version 3."""
    if header is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or _etag(job) in tags
