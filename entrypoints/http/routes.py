"""What a route is, and how a path finds one.

A route is declared once, beside the resource that serves it (``entrypoints/http/resources``):
its path template, its resource, and for each method an ``Operation`` saying what it reads
(headers, query parameters, bodies) and answers. Dispatch, the 405 ``Allow`` header, the CORS
preflight's allowed methods and headers, and the OpenAPI documents' paths all come from those
declarations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from attrs import field, frozen

from domain import ids
from domain.principals import JOBS_READ
from entrypoints.http.errors import RouteNotFound, UnsupportedApiVersion

SUPPORTED_VERSIONS = ("v1", "v2")
DEFAULT_VERSION = "v1"
_VERSION_SEGMENT = re.compile(r"v\d+")
# Read on every route: the caller's trace id, and the credentials a client may send.
COMMON_REQUEST_HEADERS = ("Authorization", "X-Api-Key", "X-Correlation-ID")
# An operation anyone may call, without credentials (health, the API's documents).
PUBLIC = None


@frozen
class Answer:
    """A documented answer: its description, the schema of its envelope (None: no body) and
    the response headers it carries beyond the trace ids."""

    description: str
    schema: str | None = None
    headers: tuple[str, ...] = ()


@frozen
class Operation:
    """One method of a route: what its handler reads and answers. ``handler`` names the
    resource's method (Falcon's ``on_<method>`` by default)."""

    operation_id: str
    summary: str
    answers: Mapping[int, Answer]
    errors: tuple[int, ...] = ()
    reads: tuple[str, ...] = ()  # request headers, beyond the common ones
    query: tuple[str, ...] = ()  # query parameters (documented in openapi_tables.QUERY_PARAMETERS)
    body: Mapping[str, Any] | None = None  # media type -> schema
    # Honours Idempotency-Key, keys being scoped by this name (and the API version). Stored
    # records are found by it for 24 hours: it must never change for a route.
    idempotency_scope: str | None = None
    handler: str | None = None
    # The scope a principal needs (``PUBLIC``: none, and no credentials either). Required by
    # default, so that a new operation is never open by mistake.
    scope: str | None = JOBS_READ
    # The per-owner rate policy counting its requests (domain.quotas; settings name them).
    quota: str | None = None


class Resource(Protocol):
    """A resource class: built once per ``Api`` from its dependencies, it serves a route's
    methods with ``on_get``, ``on_post``... (Falcon's names)."""

    @classmethod
    def build(cls, dependencies: Any) -> Any: ...


@frozen(eq=False)  # routes are singletons: compared and hashed by identity
class Route:
    template: str  # "{v}" stands for the API version; other "{name}"s are path parameters
    resource: type[Resource]
    operations: Mapping[str, Operation]
    documented: bool = True  # in the OpenAPI documents (the local upload receiver is not)
    _own: tuple[str, ...] = field(init=False)
    _versioned: bool = field(init=False)

    def __attrs_post_init__(self) -> None:
        segments = tuple(self.template.strip("/").split("/"))
        # The router takes the version out of /api/<version>/...: a template has it there, or
        # is not under /api at all.
        if ("{v}" in segments) != (segments[0] == "api") or "{v}" in segments[2:]:
            raise ValueError(f"{self.template}: the version goes right after /api")
        object.__setattr__(self, "_own", tuple(s for s in segments if s != "{v}"))
        object.__setattr__(self, "_versioned", "{v}" in segments)

    @property
    def methods(self) -> tuple[str, ...]:
        """What the route serves; HEAD wherever GET is (RFC 9110: same headers, no body)."""
        return tuple(
            m
            for method in self.operations
            for m in (("GET", "HEAD") if method == "GET" else (method,))
        )

    @property
    def allow(self) -> str:
        return ", ".join((*self.methods, "OPTIONS"))

    def request_headers(self, method: str | None = None) -> tuple[str, ...]:
        """The headers ``method`` reads (every method's, without one), common ones included."""
        chosen = [self.operations[method]] if method else list(self.operations.values())
        names = {name for operation in chosen for name in operation.reads}
        if any(operation.body for operation in chosen):
            names.add("Content-Type")
        if any(operation.idempotency_scope for operation in chosen):
            names.add("Idempotency-Key")
        return tuple(sorted({*COMMON_REQUEST_HEADERS, *names}))

    def handler_name(self, method: str) -> str:
        return self.operations[method].handler or f"on_{method.lower()}"

    @property
    def segments(self) -> tuple[str, ...]:
        """The template's segments, the version left out."""
        return self._own

    def bind(self, segments: Sequence[str]) -> dict[str, str] | None:
        """The path parameters if ``segments`` (the version already taken out) fit."""
        params: dict[str, str] = {}
        for pattern, segment in zip(self._own, segments, strict=True):
            if pattern[0] == "{":
                if not segment:
                    return None
                params[pattern[1:-1]] = segment
            elif pattern != segment:
                return None
        return params

    @property
    def versioned(self) -> bool:
        return self._versioned


class Match:
    """A route found for a path, the version it was asked in, and its path parameters. A plain
    slotted class: one is made per request."""

    __slots__ = ("params", "route", "version")

    def __init__(self, route: Route, version: str, params: Mapping[str, str]) -> None:
        self.route = route
        self.version = version
        self.params = params

    @property
    def job_id(self) -> str | None:
        return self.params.get("job_id")


class Router:
    """Finds the route for a path. ``/api/...`` paths may name a version after ``api``; without
    one they are served as the default version. A trailing slash is tolerated."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(routes)
        self.any_methods = ", ".join(sorted({m for r in routes for m in (*r.methods, "OPTIONS")}))
        self.any_headers = ", ".join(sorted({h for r in routes for h in r.request_headers()}))
        # Candidates by (versioned, number of segments): a request tries one or two routes.
        self._candidates: dict[tuple[bool, int], list[Route]] = {}
        for route in self.routes:
            key = (route.versioned, len(route.segments))
            self._candidates.setdefault(key, []).append(route)

    def match(self, path: str) -> Match:
        if len(path) > 1 and path[-1] == "/":
            path = path[:-1]
        segments = path.split("/")[1:]  # "/api/v1/jobs" -> ["api", "v1", "jobs"]
        version = DEFAULT_VERSION
        versioned = bool(segments) and segments[0] == "api"
        if versioned and len(segments) > 1 and _VERSION_SEGMENT.fullmatch(segments[1]):
            version = segments[1]
            if version not in SUPPORTED_VERSIONS:
                raise UnsupportedApiVersion(
                    f"API version {version} is not supported.",
                    supported_versions=list(SUPPORTED_VERSIONS),
                )
            del segments[1]
        for route in self._candidates.get((versioned, len(segments)), ()):
            params = route.bind(segments)
            if params is not None:
                return Match(route, version, params)
        raise RouteNotFound("No resource at this path.", path=ids.echo(path))
