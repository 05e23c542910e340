"""The OpenAPI document of each API version, served bare so that tools can read it."""

from __future__ import annotations

from collections.abc import Callable

from entrypoints.http.exchange import JSON_HEADERS, Exchange
from entrypoints.http.messages import HttpRequest, HttpResponse
from entrypoints.http.resources.base import Dependencies
from entrypoints.http.routes import PUBLIC, Answer, Operation, Route


class OpenApiDocument:
    def __init__(self, document: Callable[[str], bytes]) -> None:
        self._document = document

    @classmethod
    def build(cls, dependencies: Dependencies) -> OpenApiDocument:
        return cls(dependencies.document)

    def on_get(self, request: HttpRequest, exchange: Exchange) -> HttpResponse:
        return HttpResponse(200, list(JSON_HEADERS), self._document(exchange.version))


ROUTES = (
    Route(
        "/api/{v}/openapi.json",
        OpenApiDocument,
        {
            "GET": Operation(
                "openapi",
                "This document.",
                {200: Answer("The OpenAPI document.", "Document")},
                scope=PUBLIC,
            )
        },
    ),
)
