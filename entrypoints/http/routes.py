"""The route table and the path matcher, shared by dispatch, CORS and the OpenAPI document.

Each route declares its methods and the request headers each method reads; the 405 ``Allow``
header and the CORS preflight's allowed methods and headers are derived from it, and a test
holds the OpenAPI document's header parameters to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from attrs import frozen

from domain import ids
from entrypoints.http.errors import RouteNotFound, UnsupportedApiVersion

SUPPORTED_VERSIONS = ("v1", "v2")
DEFAULT_VERSION = "v1"
_VERSION_SEGMENT = re.compile(r"v\d+")


# Read on every route: the caller's trace id, and the credentials a client may send.
COMMON_REQUEST_HEADERS = ("Authorization", "X-Api-Key", "X-Correlation-ID")


@frozen(eq=False)  # routes are singletons: compared and hashed by identity
class Route:
    name: str
    template: str  # as in the OpenAPI document, "{v}" standing for the version
    # Each method, and the request headers it reads beyond the common ones.
    accepts: Mapping[str, tuple[str, ...]]

    @property
    def methods(self) -> tuple[str, ...]:
        """What the route serves; HEAD wherever GET is (RFC 9110: same headers, no body)."""
        return tuple(
            m
            for method in self.accepts
            for m in (("GET", "HEAD") if method == "GET" else (method,))
        )

    @property
    def allow(self) -> str:
        return ", ".join((*self.methods, "OPTIONS"))

    def request_headers(self, method: str | None = None) -> tuple[str, ...]:
        """The headers ``method`` reads (every method's, without one), common ones included."""
        chosen = [method] if method else list(self.accepts)
        names = {name for m in chosen for name in self.accepts.get(m, ())}
        return tuple(sorted({*COMMON_REQUEST_HEADERS, *names}))


_BODY = ("Content-Type",)
HEALTH = Route("health", "/health", {"GET": ()})
READY = Route("ready", "/health/ready", {"GET": ()})
JOBS = Route("jobs", "/api/{v}/jobs", {"POST": (*_BODY, "Idempotency-Key")})
JOB = Route("job", "/api/{v}/jobs/{job_id}", {"GET": ("If-None-Match",), "DELETE": ("If-Match",)})
FEEDBACK = Route("feedback", "/api/{v}/jobs/{job_id}/feedback", {"POST": (*_BODY, "If-Match")})
UPLOADS = Route("uploads", "/api/{v}/uploads", {"POST": (*_BODY, "Idempotency-Key")})
OPENAPI = Route("openapi", "/api/{v}/openapi.json", {"GET": ()})
ROUTES = (HEALTH, READY, JOBS, JOB, FEEDBACK, UPLOADS, OPENAPI)
# Where the local server receives upload forms (S3's part on AWS): not a versioned API route.
LOCAL_UPLOADS = Route("local_uploads", "/local-uploads", {"POST": _BODY})
# What a preflight for a path that names no route is told: whatever some route allows, so that
# the browser sends the real request and shows its 404.
ANY_ROUTE_METHODS = ", ".join(sorted({m for r in ROUTES for m in (*r.methods, "OPTIONS")}))
ANY_ROUTE_HEADERS = ", ".join(sorted({h for r in ROUTES for h in r.request_headers()}))


@frozen
class Match:
    route: Route
    version: str
    job_id: str | None = None


def match(path: str) -> Match:
    """Find the route for ``path``; a trailing slash is tolerated."""
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    if path == "/health":
        return Match(HEALTH, DEFAULT_VERSION)
    if path == "/health/ready":
        return Match(READY, DEFAULT_VERSION)
    if path == LOCAL_UPLOADS.template:
        return Match(LOCAL_UPLOADS, DEFAULT_VERSION)
    segments = path.split("/")[1:]
    if not segments or segments[0] != "api":
        raise RouteNotFound("No resource at this path.", path=ids.echo(path))
    rest = segments[1:]
    version = DEFAULT_VERSION
    if rest and _VERSION_SEGMENT.fullmatch(rest[0]):
        version, rest = rest[0], rest[1:]
        if version not in SUPPORTED_VERSIONS:
            raise UnsupportedApiVersion(
                f"API version {version} is not supported.",
                supported_versions=list(SUPPORTED_VERSIONS),
            )
    match rest:
        case ["jobs"]:
            return Match(JOBS, version)
        case ["jobs", job_id] if job_id:
            return Match(JOB, version, job_id)
        case ["jobs", job_id, "feedback"] if job_id:
            return Match(FEEDBACK, version, job_id)
        case ["uploads"]:
            return Match(UPLOADS, version)
        case ["openapi.json"]:
            return Match(OPENAPI, version)
    raise RouteNotFound("No resource at this path.", path=ids.echo(path))
