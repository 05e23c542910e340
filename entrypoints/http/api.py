"""The HTTP contract of docs/API.md, once: dispatch, the envelope, ids, CORS, errors, the
access log. What each route does is its resource's (``entrypoints/http/resources``).

``Api.handle`` takes an ``HttpRequest`` and returns an ``HttpResponse``; the Falcon app and
the Lambda handler only translate to and from these values.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from domain import ids
from domain.errors import (
    DeadlineExceeded,
    DomainError,
    Forbidden,
    InvalidRequest,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
)
from domain.quotas import RateState
from domain.use_cases import UseCases
from entrypoints import deadline, metrics
from entrypoints.deadline import Monotonic
from entrypoints.http import bodies, openapi, request_ids
from entrypoints.http.auth import Authenticator, TokenVerifier, challenge, require
from entrypoints.http.cors import Cors
from entrypoints.http.errors import (
    STATUS_BY_CODE,
    HttpProblem,
    MethodNotAllowed,
    RouteNotFound,
    UnsupportedApiVersion,
    UnsupportedMediaType,
)
from entrypoints.http.exchange import INTERNAL_MESSAGE, EncodedViews, Exchange
from entrypoints.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from entrypoints.http.idempotency import Idempotency
from entrypoints.http.messages import HttpRequest, HttpResponse
from entrypoints.http.representations import JOB_REPRESENTATIONS
from entrypoints.http.resources import LOCAL_UPLOADS, ROUTES, Dependencies
from entrypoints.http.routes import Match, Route, Router
from entrypoints.logs import bind, close_context, open_context
from entrypoints.settings import Settings
from ports.idempotency import IdempotencyStore
from ports.system import Clock, Entropy

log = logging.getLogger("blueprint_jobs.http")
access_log = logging.getLogger("blueprint_jobs.access")

# On every response: a client must never guess a type other than the one declared.
_NOSNIFF = ("X-Content-Type-Options", "nosniff")
_UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Retry after a short wait."

Responder = Callable[[HttpRequest, Exchange], HttpResponse]


class Api:
    def __init__(
        self,
        use_cases: UseCases,
        settings: Settings,
        *,
        idempotency: IdempotencyStore,
        clock: Clock,
        entropy: Entropy,
        monotonic: Monotonic | None = None,
        verifier: TokenVerifier | None = None,
    ) -> None:
        """Everything is given by the composition root (``entrypoints.bootstrap``): the Api
        builds no adapter of its own. ``clock`` and ``entropy`` make the request ids;
        ``verifier`` checks bearer JWTs where no platform has (the local server)."""
        self._clock = clock
        self._entropy = entropy
        # Each request is bounded by the configured budget, and by the platform's limit if
        # nearer; ``monotonic`` times it.
        self._budget = settings.request_budget_seconds
        self._monotonic = monotonic or time.monotonic
        self._idempotency = Idempotency(idempotency, clock)
        self._cors = Cors(settings.cors_origins)
        self._authenticator = Authenticator(use_cases.access, verifier)
        self._quotas = use_cases.quotas
        self._metrics = metrics.Metrics(settings.service)
        # The local upload receiver is routed only where the service receives uploads.
        routes = [r for r in ROUTES if r is not LOCAL_UPLOADS or use_cases.intake.receives_uploads]
        self._router = Router(routes)
        dependencies = Dependencies(
            use_cases, EncodedViews(JOB_REPRESENTATIONS), openapi.document_bytes
        )
        resources = {route.resource: route.resource.build(dependencies) for route in routes}
        self._responders: dict[tuple[Route, str], Responder] = {
            (route, method): getattr(resources[route.resource], route.handler_name(method))
            for route in routes
            for method in route.operations
        }

    # -- the one entry point ---------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_ids.new_request_id(
            self._clock.now(), self._entropy.random_bytes(request_ids.REQUEST_RANDOM_BYTES)
        )
        offered = request.header("x-correlation-id")
        correlation_id = offered if request_ids.is_correlation_id(offered) else request_id
        exchange = Exchange(request_id, correlation_id)
        context: dict[str, Any] = {"request_id": request_id, "correlation_id": correlation_id}
        context.update(request.platform_ids)
        budget = request.budget_seconds
        deadline_token = deadline.start(
            self._budget if budget is None or budget > self._budget else budget, self._monotonic
        )
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
                response = exchange.error(500, "INTERNAL_ERROR", INTERNAL_MESSAGE, {})
            response.headers += (
                ("X-Request-ID", request_id),
                ("X-Correlation-ID", correlation_id),
                _NOSNIFF,
                *self._cors.headers(request.header("origin")),
            )
            if access_log.isEnabledFor(logging.INFO):  # no fields built for a line not written
                access_log.info(
                    "request",
                    extra={
                        "method": ids.echo(request.method),
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

    def _dispatch(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        method = request.method.upper()
        try:
            found = self._router.match(request.path)
        except (RouteNotFound, UnsupportedApiVersion):
            if method == "OPTIONS" and request.header("access-control-request-method"):
                # Answered, so that the browser sends the real request and shows its 404.
                return self._cors.preflight(
                    request.header("origin"), self._router.any_methods, self._router.any_headers
                )
            raise
        exchange.match = found
        exchange.version = found.version
        if found.job_id is not None and ids.is_job_id(found.job_id):
            bind(job_id=found.job_id)
        if method == "OPTIONS":
            return self._options(request, found)
        # HEAD is GET without a body (RFC 9110): the entrypoints leave the body out.
        chosen = "GET" if method == "HEAD" else method
        responder = self._responders.get((found.route, chosen))
        if responder is None:
            raise MethodNotAllowed(
                f"{ids.echo(method)} is not allowed here.",
                headers={"Allow": found.route.allow},
                allowed_methods=[*found.route.methods, "OPTIONS"],
            )
        operation = found.route.operations[chosen]
        if operation.scope is not None:
            principal = exchange.principal = self._authenticator.authenticate(request)
            bind(owner=principal.owner)
            require(principal, operation.scope)
        limited: RateState | None = None
        if operation.quota is not None:
            limited = self._quotas.take(exchange.owner, operation.quota)
        if operation.body is not None:
            _check_media_type(request, operation.body)
        scope = operation.idempotency_scope
        if scope is not None and request.header(IDEMPOTENCY_HEADER) is not None:
            response = self._idempotency.run(
                request, exchange.owner, scope, found.version, lambda r: responder(r, exchange)
            )
        else:
            response = responder(request, exchange)
        if limited is not None:
            response.headers += rate_headers(
                limited.policy.name,
                limited.policy.quota,
                limited.policy.window_seconds,
                limited.remaining,
                limited.reset_seconds,
            )
        return response

    # -- errors ----------------------------------------------------------------------------

    def _error_response(self, error: DomainError, exchange: Exchange) -> HttpResponse:
        status = STATUS_BY_CODE.get(error.code)
        if status is None or status == 500:
            log.error("domain error with no HTTP meaning: %s", error.code, exc_info=error)
            return exchange.error(500, "INTERNAL_ERROR", INTERNAL_MESSAGE, {})
        headers = list(error.headers.items()) if isinstance(error, HttpProblem) else []
        message, details = error.message, error.details
        if isinstance(error, Unauthenticated | Forbidden):
            headers.append(("WWW-Authenticate", challenge(error)))
        elif isinstance(error, RateLimited):
            headers.append(("Retry-After", str(error.retry_after)))
            headers += rate_headers(
                error.policy,
                error.quota,
                error.details.get("window_seconds"),
                0,
                error.retry_after,
            )
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
        return exchange.error(status, error.code, message, details, headers)

    def _options(self, request: HttpRequest, found: Match) -> HttpResponse:
        if request.header("access-control-request-method") is None:
            return HttpResponse(204, [("Allow", found.route.allow)])
        headers = ", ".join(found.route.request_headers())
        return self._cors.preflight(request.header("origin"), found.route.allow, headers)


def rate_headers(
    policy: str, quota: int, window: int | None, remaining: int, reset: int
) -> list[tuple[str, str]]:
    """``RateLimit-Policy`` and ``RateLimit`` (draft-ietf-httpapi-ratelimit-headers): the
    policy's quota and window, what remains of it and the seconds until it resets."""
    window_part = f";w={window}" if window else ""
    return [
        ("RateLimit-Policy", f'"{policy}";q={quota}{window_part}'),
        ("RateLimit", f'"{policy}";r={remaining};t={reset}'),
    ]


def _check_media_type(request: HttpRequest, accepted: Mapping[str, Any]) -> None:
    """The body's media type must be one the operation declares (415 otherwise)."""
    media_type = bodies.media_type(request)
    if media_type not in accepted:
        names = list(accepted)
        listed = names[0] if len(names) == 1 else f"one of {', '.join(names)}"
        raise UnsupportedMediaType(
            f"Send this request as {listed}.", content_type=media_type, supported=names
        )
