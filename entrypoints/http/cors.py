"""CORS, answered by the application on both entrypoints (the HTTP API has no CORS
configuration of its own): which origins may call, what their answers expose, preflights."""

from __future__ import annotations

from collections.abc import Iterable

from domain import ids
from entrypoints.http.errors import CorsOriginNotAllowed
from entrypoints.http.messages import HttpResponse

EXPOSED_HEADERS = (
    "X-Request-ID, X-Correlation-ID, ETag, Location, Retry-After, Idempotent-Replayed, "
    "RateLimit-Policy, RateLimit, WWW-Authenticate"
)
PREFLIGHT_MAX_AGE = "600"
_NO_CORS = (("Vary", "Origin"),)


class Cors:
    def __init__(self, origins: Iterable[str]) -> None:
        self._origins = frozenset(origins)
        self._any_origin = "*" in self._origins

    def allowed(self, origin: str | None) -> bool:
        """``null`` never is, even with ``*``: it is what sandboxed and file pages send."""
        if origin is None or origin == "null":
            return False
        return self._any_origin or origin in self._origins

    def headers(self, origin: str | None) -> tuple[tuple[str, str], ...]:
        """What every answer carries for ``origin``."""
        if not self.allowed(origin):
            return _NO_CORS
        assert origin is not None
        allowed = origin if origin in self._origins else "*"
        return (
            ("Vary", "Origin"),
            ("Access-Control-Allow-Origin", allowed),
            ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
        )

    def preflight(self, origin: str | None, methods: str, headers: str) -> HttpResponse:
        """The answer to a preflight from ``origin`` for a route allowing ``methods`` and
        reading ``headers``; a refused origin is 403."""
        if not self.allowed(origin):
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
