"""The production entrypoint: API Gateway HTTP API (payload 2.0) events to the ``Api``.

The service is built on the first event, once per process (not at import time, not per
request). Nothing here imports falcon.
"""

from __future__ import annotations

import binascii
import io
import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from entrypoints.http import request_ids
from entrypoints.http.api import Api
from entrypoints.http.exchange import INTERNAL_MESSAGE
from entrypoints.http.messages import NO_BODY, HttpRequest, HttpResponse
from entrypoints.http.routes import DEFAULT_VERSION
from entrypoints.invocation import Once

log = logging.getLogger("blueprint_jobs.lambda")

Event = Mapping[str, Any]
LambdaHandler = Callable[[Event, Any], dict[str, Any]]
# Time kept, out of what the function has left, to answer: build the response, write the last
# log lines, hand the result back to the runtime.
ANSWER_MARGIN_SECONDS = 1.0


def to_request(event: object, context: Any = None) -> HttpRequest:
    """The request an event carries. Total: a part that API Gateway would never send as it is
    (a body that is not base64, headers that are not an object, no event at all) makes the
    request ``malformed``, which the ``Api`` answers with 400 in the envelope."""
    problems: list[str] = []
    if not isinstance(event, Mapping):
        problems.append("The event is not an API Gateway HTTP API event.")
        event = {}
    request_context = _part(event, "requestContext", problems)
    http = _part(request_context, "http", problems)
    raw_headers = _part(event, "headers", problems)
    try:
        # Payload 2.0 headers are lower-case strings already; lowering again is cheap and safe.
        headers = {k.lower(): v if type(v) is str else str(v) for k, v in raw_headers.items()}
    except AttributeError:  # a name that is not a string: no event API Gateway sends
        headers = {str(k).lower(): str(v) for k, v in raw_headers.items()}
    cookies = event.get("cookies")
    if cookies:
        if isinstance(cookies, list) and all(isinstance(c, str) for c in cookies):
            headers["cookie"] = "; ".join(cookies)
        else:
            problems.append("The event's cookies are not a list of strings.")
    body = _body(event, problems)
    platform_ids = {}
    apigw_id = request_context.get("requestId")
    if apigw_id:
        platform_ids["apigw_request_id"] = str(apigw_id)
    lambda_id = getattr(context, "aws_request_id", None)
    if lambda_id:
        platform_ids["lambda_request_id"] = str(lambda_id)
    path = event.get("rawPath") or http.get("path") or "/"
    if type(path) is not str:
        path = _not_text(path, "/", "path", problems)
    method = http.get("method", "GET")
    if type(method) is not str:
        method = _not_text(method, "GET", "method", problems)
    query = event.get("rawQueryString") or ""
    if type(query) is not str:
        query = _not_text(query, "", "query", problems)
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    return HttpRequest(
        method=method,
        path=unquote(path) if "%" in path else path,
        query=query,
        headers=headers,
        body=io.BytesIO(body) if body else NO_BODY,
        content_length=len(body),
        host=headers.get("host") or _domain_name(request_context),
        scheme=headers.get("x-forwarded-proto", "https"),
        platform_ids=platform_ids,
        body_bytes=body,
        budget_seconds=remaining_ms() / 1000 - ANSWER_MARGIN_SECONDS if remaining_ms else None,
        malformed=problems[0] if problems else None,
        verified_claims=_verified_claims(request_context),
    )


def _part(container: Mapping[str, Any], name: str, problems: list[str]) -> Mapping[str, Any]:
    value = container.get(name)
    if type(value) is dict or isinstance(value, Mapping):  # a dict, as the runtime gives
        return value
    if value is not None:
        problems.append(f"The event's {name} is not an object.")
    return {}


def _not_text(value: Any, default: str, name: str, problems: list[str]) -> str:
    """The default for a part that is not a string (missing, or not one at all)."""
    if value is not None:
        problems.append(f"The event's {name} is not a string.")
    return default


def _verified_claims(request_context: Mapping[str, Any]) -> Mapping[str, object] | None:
    """The claims of the JWT that API Gateway's JWT authorizer verified: present only on a
    route that has one (``requestContext.authorizer.jwt.claims``). Only from there, where no
    caller can write, never from a header or the body. Any other shape: no claims (the request
    then needs an API key), never an exception."""
    authorizer = request_context.get("authorizer")
    if not isinstance(authorizer, Mapping):
        return None
    jwt = authorizer.get("jwt")
    if not isinstance(jwt, Mapping):
        return None
    claims = jwt.get("claims")
    return claims if isinstance(claims, Mapping) else None


def _domain_name(request_context: Mapping[str, Any]) -> str | None:
    name = request_context.get("domainName")
    return name if isinstance(name, str) else None


def _body(event: Mapping[str, Any], problems: list[str]) -> bytes:
    raw = event.get("body")
    if raw is None or raw == "":
        return b""
    if not isinstance(raw, str):
        problems.append("The event's body is not a string.")
        return b""
    try:
        if event.get("isBase64Encoded"):
            # a2b_base64 takes the ASCII str as it is; b64decode would first copy it to bytes.
            return binascii.a2b_base64(raw, strict_mode=True)
        return raw.encode()
    except (binascii.Error, ValueError):  # not base64, or not ASCII at all
        problems.append("The body is not valid base64.")
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 text
        problems.append("The body is not valid text.")
    return b""


def to_result(response: HttpResponse, *, head: bool = False) -> dict[str, Any]:
    """The response as API Gateway takes it; for HEAD, the headers of GET and no body."""
    headers: dict[str, str] = {}
    for name, value in response.headers:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if head:
        headers["Content-Length"] = str(len(response.body))
    return {
        "statusCode": response.status,
        "headers": headers,
        "body": "" if head else response.body.decode(),
        "isBase64Encoded": False,
    }


def make_handler(api: Api | Callable[[], Api]) -> LambdaHandler:
    """A handler around an ``Api``, or around a factory called on the first event.

    It always returns a response: whatever fails outside the ``Api`` (its construction, say,
    with a setting it cannot run with) is logged and answered 500 in the envelope."""
    built: Once[Api] = Once(lambda: api) if isinstance(api, Api) else Once(api)

    def handle(event: Event, context: Any = None) -> dict[str, Any]:
        try:
            served = built.get()
            request = to_request(event, context)
            return to_result(served.handle(request), head=request.method.upper() == "HEAD")
        except Exception:
            log.exception("the Lambda handler failed outside the API")
            return _internal_error()

    return handle


def _internal_error() -> dict[str, Any]:
    now = datetime.now(UTC)
    request_id = request_ids.new_request_id(now, os.urandom(request_ids.REQUEST_RANDOM_BYTES))
    body = {
        "status": "error",
        "error": {"code": "INTERNAL_ERROR", "message": INTERNAL_MESSAGE, "details": {}},
        "meta": {"request_id": request_id, "api_version": DEFAULT_VERSION},
    }
    return {
        "statusCode": 500,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Request-ID": request_id,
        },
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def _production_api() -> Api:
    from entrypoints.bootstrap import build_api
    from entrypoints.settings import Settings

    return build_api(Settings.from_env(os.environ, profile="lambda"))


handler = make_handler(_production_api)
