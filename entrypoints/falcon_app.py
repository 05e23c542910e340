"""The local server's WSGI app: Falcon in front of the framework-neutral ``Api``."""

from __future__ import annotations

from typing import Any

import falcon

from domain.service import JobService
from entrypoints.http.api import Api
from entrypoints.http.messages import HttpRequest
from entrypoints.settings import Settings
from ports.idempotency import IdempotencyStore
from ports.system import Clock


class _Everything:
    """A sink for every path: routing, like the rest of the contract, belongs to ``Api``."""

    def __init__(self, api: Api) -> None:
        self._api = api

    def __call__(self, req: falcon.Request, resp: falcon.Response, **_: Any) -> None:
        request = HttpRequest(
            method=req.method,
            path=req.path,
            query=req.query_string,
            headers={name.lower(): value for name, value in req.headers.items()},
            body=req.bounded_stream,
            content_length=req.content_length,
            host=req.netloc,
            scheme=req.scheme,
        )
        response = self._api.handle(request)
        resp.status = response.status
        for name, value in response.headers:
            resp.append_header(name, value)
        if response.body:
            resp.data = response.body


def create_app(
    service: JobService,
    settings: Settings,
    *,
    idempotency: IdempotencyStore | None = None,
    clock: Clock | None = None,
) -> falcon.App[Any, Any]:
    app = falcon.App(media_type="application/json")
    app.req_options.strip_url_path_trailing_slash = False
    api = Api(service, settings, idempotency=idempotency, clock=clock)
    app.add_sink(_Everything(api), prefix="/")
    return app
