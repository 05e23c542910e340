"""Liveness and readiness."""

from __future__ import annotations

import logging

from domain.use_cases import Lifecycle
from entrypoints.http import representations
from entrypoints.http.exchange import Exchange
from entrypoints.http.messages import HttpRequest, HttpResponse
from entrypoints.http.representations import LIVENESS
from entrypoints.http.resources.base import Dependencies
from entrypoints.http.routes import PUBLIC, Answer, Operation, Route

log = logging.getLogger("blueprint_jobs.http")


class Liveness:
    @classmethod
    def build(cls, dependencies: Dependencies) -> Liveness:
        return cls()

    def on_get(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        return exchange.success(200, LIVENESS)


class Readiness:
    def __init__(self, lifecycle: Lifecycle) -> None:
        self._lifecycle = lifecycle

    @classmethod
    def build(cls, dependencies: Dependencies) -> Readiness:
        return cls(dependencies.use_cases.lifecycle)

    def on_get(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        readiness = self._lifecycle.readiness()
        checks = representations.readiness(
            {"job_store": readiness.job_store, "blob_store": readiness.blob_store}
        )
        if readiness.ready:
            return exchange.success(200, {"status": "ready", "checks": checks})
        log.warning("not ready", extra={"error_code": "SERVICE_UNAVAILABLE"})
        return exchange.error(
            503,
            "SERVICE_UNAVAILABLE",
            "A backing store is not reachable.",
            {"checks": checks},
            [("Retry-After", "5")],
        )


ROUTES = (
    Route(
        "/health",
        Liveness,
        {
            "GET": Operation(
                "liveness",
                "Liveness: no storage call.",
                {200: Answer("Alive.", "HealthEnvelope")},
                scope=PUBLIC,
            )
        },
    ),
    Route(
        "/health/ready",
        Readiness,
        {
            "GET": Operation(
                "readiness",
                "Readiness: pings the job store and the blob store.",
                {200: Answer("Ready.", "ReadyEnvelope")},
                errors=(503,),
                scope=PUBLIC,
            )
        },
    ),
)
