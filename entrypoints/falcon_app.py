"""The local server's WSGI app: Falcon in front of the framework-neutral ``Api``."""

from __future__ import annotations

from typing import Any

import falcon

from entrypoints.http.api import Api
from entrypoints.http.messages import NO_BODY, HttpRequest


class _Everything:
    """A sink for every path: routing, like the rest of the contract, belongs to ``Api``."""

    def __init__(self, api: Api) -> None:
        self._api = api

    def __call__(self, req: falcon.Request, resp: falcon.Response, **_: Any) -> None:
        env = req.env
        length, malformed = _content_length(env.get("CONTENT_LENGTH"))
        if "HTTP_TRANSFER_ENCODING" in env:
            body: Any = req.stream  # the server's de-chunking stream, read to its end
        else:
            # Most requests (GET, DELETE) have no body: skip building a stream for them.
            body = req.bounded_stream if length else NO_BODY
        request = HttpRequest(
            method=req.method,
            path=req.path,
            query=req.query_string,
            headers=_headers(env),
            body=body,
            content_length=length,
            host=env.get("HTTP_HOST") or req.netloc,
            scheme=env.get("wsgi.url_scheme", "http"),
            malformed=malformed,
        )
        response = self._api.handle(request)
        resp.status = response.status
        resp.set_headers(response.headers)  # the Api never repeats a header name
        if response.body:
            resp.data = response.body


def _content_length(value: str | None) -> tuple[int | None, str | None]:
    """The declared length, or why it is not one (answered 400 in the envelope)."""
    if value is None or value == "":
        return None, None
    if value.isdigit() and value.isascii():
        return int(value), None
    return None, "Content-Length is not a number of bytes."


def _headers(env: dict[str, Any]) -> dict[str, str]:
    """Lower-case header names straight from the WSGI environ (one pass, no title-casing)."""
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in env.items()
        if key.startswith("HTTP_")
    }
    if "CONTENT_TYPE" in env:
        headers["content-type"] = env["CONTENT_TYPE"]
    if "CONTENT_LENGTH" in env:
        headers["content-length"] = env["CONTENT_LENGTH"]
    return headers


def create_app(api: Api) -> falcon.App[Any, Any]:
    """The WSGI app serving ``api`` (built by the composition root)."""
    app = falcon.App(media_type="application/json")
    app.req_options.strip_url_path_trailing_slash = False
    app.add_sink(_Everything(api), prefix="/")
    return app
