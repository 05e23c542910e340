"""One request's exchange, and the envelope every answer is written in.

An ``Exchange`` holds what serving one request has learnt (its ids, the API version, the route,
the metrics to count); it writes the envelope of docs/API.md: ``status``, ``data`` or
``error``, and ``meta``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from domain.job import Job
from domain.principals import Principal
from entrypoints import metrics
from entrypoints.http.messages import HttpResponse
from entrypoints.http.routes import DEFAULT_VERSION, Match

JSON_HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
# A job may be revalidated (If-None-Match, 304), which no-store forbids (RFC 9111).
REVALIDATED_HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-cache")]
INTERNAL_MESSAGE = "An internal error occurred. Quote the request id when reporting it."
JOB_CACHE_ENTRIES = 1024

# One encoder for every response: json.dumps with options builds a new one each call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def encode(body: Any) -> bytes:
    text = _ENCODER.encode(body)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate a client sent (a JSON key, say): escaped
        return _ASCII_ENCODER.encode(body).encode()


def etag(job: Job) -> str:
    return f'"{job.version}"'


class Exchange:
    """What the handling of one request has learnt so far, and its answers."""

    __slots__ = ("correlation_id", "counts", "match", "principal", "request_id", "version")

    def __init__(self, request_id: str, correlation_id: str) -> None:
        self.request_id = request_id
        self.correlation_id = correlation_id
        self.version = DEFAULT_VERSION
        self.match: Match | None = None
        self.principal: Principal | None = None
        self.counts = metrics.Counts()

    @property
    def owner(self) -> str:
        """Who is calling (operations that require a principal only)."""
        assert self.principal is not None
        return self.principal.owner

    @property
    def job_id(self) -> str:
        """The job the path names (routes with ``{job_id}`` only)."""
        assert self.match is not None
        return self.match.params["job_id"]

    def _meta(self) -> bytes:
        # Both values match plain ASCII patterns (a request id, "v1"/"v2"): nothing to escape.
        return f'{{"request_id":"{self.request_id}","api_version":"{self.version}"}}'.encode()

    def _envelope(
        self, status: int, content: dict[str, Any], headers: list[tuple[str, str]] | None
    ) -> HttpResponse:
        content["meta"] = {"request_id": self.request_id, "api_version": self.version}
        return HttpResponse(status, [*JSON_HEADERS, *(headers or [])], encode(content))

    def success(
        self, status: int, data: Any, headers: list[tuple[str, str]] | None = None
    ) -> HttpResponse:
        return self._envelope(status, {"status": "success", "data": data}, headers)

    def error(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any],
        headers: list[tuple[str, str]] | None = None,
    ) -> HttpResponse:
        error = {"code": code, "message": message, "details": details}
        return self._envelope(status, {"status": "error", "error": error}, headers)

    def job(
        self,
        status: int,
        job: Job,
        encoded: bytes,
        *,
        created: bool = False,
        revalidated: bool = False,
    ) -> HttpResponse:
        """A job's envelope around its ``encoded`` representation. ``revalidated``: the answer
        to a GET, which a client may revalidate (304)."""
        headers = [("ETag", etag(job))]
        if created:
            headers.append(("Location", f"/api/{self.version}/jobs/{job.job_id}"))
        body = b'{"status":"success","data":' + encoded + b',"meta":' + self._meta() + b"}"
        return HttpResponse(
            status, [*(REVALIDATED_HEADERS if revalidated else JSON_HEADERS), *headers], body
        )

    def job_list(self, encoded: list[bytes], next_page_token: str | None) -> HttpResponse:
        """A page of jobs: in v1 ``data`` is the list and the token is in ``meta``; from v2
        ``data`` is ``{"jobs": [...], "next_page_token": ...}``."""
        jobs = b"[" + b",".join(encoded) + b"]"
        token = encode(next_page_token).decode()  # None -> null, else an escaped string
        meta = self._meta()
        if self.version == "v1":
            meta = meta[:-1] + f',"next_page_token":{token}}}'.encode()
            data = jobs
        else:
            data = b'{"jobs":' + jobs + f',"next_page_token":{token}}}'.encode()
        body = b'{"status":"success","data":' + data + b',"meta":' + meta + b"}"
        return HttpResponse(200, list(JSON_HEADERS), body)


class EncodedViews:
    """Representations encoded once per job version: clients poll a job while the pipeline
    works, and a version names one state of a job exactly. Shared by the local server's
    threads."""

    def __init__(self, views: dict[str, Callable[[Job], dict[str, Any]]]) -> None:
        self._views = views
        self._cache: dict[tuple[str, int, str], bytes] = {}
        self._lock = threading.Lock()

    def __call__(self, job: Job, version: str) -> bytes:
        key = (job.job_id, job.version, version)
        cached = self._cache.get(key)
        if cached is None:
            cached = encode(self._views[version](job))
            with self._lock:
                if len(self._cache) >= JOB_CACHE_ENTRIES:
                    del self._cache[next(iter(self._cache))]  # the oldest entry
                self._cache[key] = cached
        return cached
