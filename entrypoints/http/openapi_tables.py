"""The tables of the OpenAPI documents: the parameters, headers, error descriptions and
security schemes that routes name (``entrypoints/http/routes.py`` declares which each uses)."""

from __future__ import annotations

from typing import Any

from domain import ids
from domain.job import JobStatus
from domain.principals import SCOPES
from entrypoints.http.pages import DEFAULT_LIMIT, MAX_LIMIT, MAX_TOKEN_CHARS
from entrypoints.http.schema import pattern

TRACE_HEADERS = {
    "X-Request-ID": {"required": True, "schema": pattern(ids.REQUEST_ID.pattern)},
    "X-Correlation-ID": {"required": True, "schema": {"type": "string"}},
}
# The request headers a route may read (routes.Operation.reads), as documented parameters.
# Authorization and X-Api-Key are the security schemes' (OpenAPI ignores them as parameters).
HEADER_PARAMETERS: dict[str, dict[str, Any]] = {
    "X-Correlation-ID": {
        "description": "Kept if it matches ^[A-Za-z0-9._:-]{1,128}$; otherwise the request id "
        "is used.",
        "schema": {"type": "string"},
    },
    "Idempotency-Key": {
        "description": "Makes retries safe: the same key with the same request within 24 hours "
        "returns the first response again (with `Idempotent-Replayed: true`); with another "
        "request 422; while the first is still running 409. Bare or as a quoted string.",
        "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
    },
    "If-Match": {
        "description": 'Act only if the job is still at this version: `"<version>"` or `*`.',
        "schema": {"type": "string", "pattern": r'^(\*|"[0-9]{1,18}"|[0-9]{1,18})$'},
    },
    "If-None-Match": {
        "description": "Answer 304 without a body if the job is still at this ETag.",
        "schema": {"type": "string"},
    },
}
QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "fresh": {
        "description": "`true` asks for a fresh detection even if a completed job already "
        "processed the same blueprint (the result cache). `Cache-Control` does not: browsers "
        "and proxies add it by themselves.",
        "schema": {"type": "string", "enum": ["true", "false", "1", "0"]},
    },
    "status": {
        "description": "Only jobs in this status.",
        "schema": {"type": "string", "enum": [status.value for status in JobStatus]},
    },
    "limit": {
        "description": f"At most this many jobs (1 to {MAX_LIMIT}; {DEFAULT_LIMIT} if not given).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    "page_token": {
        "description": "The `next_page_token` of the previous page, for the same listing "
        "(same `status`): the next, older jobs. Opaque.",
        "schema": {"type": "string", "maxLength": MAX_TOKEN_CHARS},
    },
}
PATH_PARAMETERS: dict[str, dict[str, Any]] = {"job_id": {"schema": pattern(ids.JOB_ID.pattern)}}
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"required": True, "schema": pattern('"[0-9]+"')},
    "Location": {"required": True, "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "required": False,
        "description": "`true` on a response replayed for a retried Idempotency-Key.",
        "schema": {"const": "true"},
    },
    "Retry-After": {"required": True, "schema": {"type": "string"}},
    # Sent while the route's quota is on (a quota of 0 turns it off).
    "RateLimit-Policy": {
        "required": False,
        "description": "The quota of the caller's policy (draft-ietf-httpapi-ratelimit-"
        'headers): `"jobs";q=60;w=60` is 60 requests per 60 seconds.',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "required": False,
        "description": 'What remains of that quota and when it resets: `"jobs";r=59;t=42`.',
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {
        "required": True,
        "description": "The Bearer challenge (RFC 6750).",
        "schema": {"type": "string"},
    },
}

DESCRIPTIONS = {
    400: "The request is malformed.",
    401: "No credentials, or an API key or token that is malformed, unknown, revoked or expired.",
    403: "The credentials lack the scope this needs (or a preflight from an origin that is "
    "not allowed).",
    404: "No such resource.",
    405: "The method is not allowed on this resource.",
    409: "The job's or the upload's state does not allow this.",
    412: "If-Match named another version.",
    413: "The blueprint or body is too large.",
    415: "Unsupported Content-Type.",
    422: "The Idempotency-Key was used for a different request.",
    429: "The caller's quota is used up; retry after Retry-After seconds.",
    500: "An internal error; quote the request id.",
    503: "A backing store is unavailable; retry after Retry-After seconds.",
}


_SCOPES_TEXT = " and ".join(f"`{scope}`" for scope in SCOPES)
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API key (bjk_...) or JWT",
        "description": "An API key, or a JWT whose `sub` is the owner and whose `scope` (or "
        f"`scp`) holds {_SCOPES_TEXT} as needed.",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "An API key (bjk_ and 32 characters).",
    },
}
