"""The production entrypoint: API Gateway HTTP API (payload 2.0) events to the ``Api``.

The service is built on the first event, once per process (not at import time, not per
request). Nothing here imports falcon.
"""

from __future__ import annotations

import binascii
import io
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from entrypoints.http.api import Api
from entrypoints.http.messages import HttpRequest, HttpResponse

Event = Mapping[str, Any]
LambdaHandler = Callable[[Event, Any], dict[str, Any]]
# Time kept, out of what the function has left, to answer: build the response, write the last
# log lines, hand the result back to the runtime.
ANSWER_MARGIN_SECONDS = 1.0


def to_request(event: Event, context: Any = None) -> HttpRequest:
    request_context = event.get("requestContext") or {}
    http = request_context.get("http") or {}
    # Payload 2.0 headers are lower-case already; lowering again costs little and is safe.
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    if event.get("cookies"):
        headers["cookie"] = "; ".join(event["cookies"])
    raw = event.get("body") or ""
    # a2b_base64 takes the ASCII str as it is; b64decode would first copy it into bytes.
    body = binascii.a2b_base64(raw) if event.get("isBase64Encoded") else raw.encode()
    platform_ids = {}
    apigw_id = request_context.get("requestId")
    if apigw_id:
        platform_ids["apigw_request_id"] = str(apigw_id)
    lambda_id = getattr(context, "aws_request_id", None)
    if lambda_id:
        platform_ids["lambda_request_id"] = str(lambda_id)
    path = str(event.get("rawPath") or http.get("path") or "/")
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    return HttpRequest(
        method=str(http.get("method", "GET")),
        path=unquote(path) if "%" in path else path,
        query=str(event.get("rawQueryString") or ""),
        headers=headers,
        body=io.BytesIO(body),
        content_length=len(body),
        host=headers.get("host") or request_context.get("domainName"),
        scheme=headers.get("x-forwarded-proto", "https"),
        platform_ids=platform_ids,
        body_bytes=body,
        budget_seconds=remaining_ms() / 1000 - ANSWER_MARGIN_SECONDS if remaining_ms else None,
    )


def to_result(response: HttpResponse) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for name, value in response.headers:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return {
        "statusCode": response.status,
        "headers": headers,
        "body": response.body.decode(),
        "isBase64Encoded": False,
    }


def make_handler(api: Api | Callable[[], Api]) -> LambdaHandler:
    """A handler around an ``Api``, or around a factory called on the first event."""
    built: list[Api] = [api] if isinstance(api, Api) else []

    def handle(event: Event, context: Any = None) -> dict[str, Any]:
        if not built:
            built.append(api())  # type: ignore[operator]
        return to_result(built[0].handle(to_request(event, context)))

    return handle


def _production_api() -> Api:
    from entrypoints.bootstrap import build_api
    from entrypoints.settings import Settings

    return build_api(Settings.from_env(os.environ, profile="lambda"))


handler = make_handler(_production_api)
