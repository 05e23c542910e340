"""One small client interface over both entrypoints: Falcon's TestClient and API Gateway v2
events given to the Lambda handler, built as AWS documents them (payload format 2.0)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import falcon.testing

from adapters.memory import MemoryIdempotencyStore
from domain.principals import SCOPES
from domain.use_cases import UseCases
from entrypoints import lambda_api
from entrypoints.falcon_app import create_app
from entrypoints.http.api import Api
from entrypoints.settings import Settings
from ports.idempotency import IdempotencyStore
from ports.system import Clock
from tests.fakes import OWNER, SeededEntropy, SteppingClock

_CREDENTIAL_HEADERS = ("authorization", "x-api-key")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def data(self) -> Any:
        return self.json()["data"]

    @property
    def error(self) -> Any:
        return self.json()["error"]


class Client(Protocol):
    kind: str

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        json_body: Any = None,
    ) -> Reply: ...


def _prepare(
    headers: dict[str, str] | None, body: bytes | None, json_body: Any, key: str | None = None
) -> tuple[dict[str, str], bytes]:
    """The request's headers and body; ``key`` is sent as a bearer credential unless the
    test sends credentials of its own (or sends none: ``Authorization: ""`` is dropped)."""
    headers = dict(headers or {})
    named = {name.lower(): name for name in headers}
    if not any(name in named for name in _CREDENTIAL_HEADERS):
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
    else:
        for name in _CREDENTIAL_HEADERS:
            if name in named and headers[named[name]] == "":
                del headers[named[name]]
    if json_body is not None:
        body = json.dumps(json_body).encode()
        headers.setdefault("Content-Type", "application/json")
    return headers, body or b""


def api_key(service: UseCases, owner: str = OWNER, scopes: tuple[str, ...] = SCOPES) -> str:
    """A new API key of ``owner`` in the service's key store: its secret."""
    return service.access.create_key(owner, f"tests {owner}", scopes)[1]


def make_api(
    service: UseCases,
    settings: Settings,
    clock: Clock | None = None,
    idempotency: IdempotencyStore | None = None,
    monotonic: Callable[[], float] | None = None,
) -> Api:
    """The tests' composition root for the HTTP edge: deterministic clock and entropy, and an
    in-memory idempotency store, unless a test gives its own."""
    return Api(
        service,
        settings,
        idempotency=idempotency or MemoryIdempotencyStore(),
        clock=clock or SteppingClock(),
        entropy=SeededEntropy(1),
        monotonic=monotonic,
    )


@dataclass
class FalconClient:
    service: UseCases
    settings: Settings
    clock: Clock | None = None
    idempotency: IdempotencyStore | None = None
    monotonic: Callable[[], float] | None = None
    # Who the client is: it sends a key of this owner, made at start (None: no key).
    owner: str | None = OWNER
    kind: str = "falcon"
    _client: falcon.testing.TestClient = field(init=False)
    key: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        api = make_api(self.service, self.settings, self.clock, self.idempotency, self.monotonic)
        self._client = falcon.testing.TestClient(create_app(api))
        self.key = None if self.owner is None else api_key(self.service, self.owner)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        json_body: Any = None,
    ) -> Reply:
        headers, data = _prepare(headers, body, json_body, self.key)
        parts = urlsplit(path)
        result = self._client.simulate_request(
            method, parts.path, query_string=parts.query or None, headers=headers, body=data
        )
        merged: dict[str, str] = {}
        for name, value in result.headers.items():
            merged[name.lower()] = value
        merged.pop("content-length", None)
        return Reply(result.status_code, merged, result.content)


@dataclass
class LambdaClient:
    service: UseCases
    settings: Settings
    clock: Clock | None = None
    idempotency: IdempotencyStore | None = None
    monotonic: Callable[[], float] | None = None
    # The function's timeout (template.yaml): each invocation has this long from its start.
    timeout_seconds: float = 29.0
    owner: str | None = OWNER
    kind: str = "lambda"
    key: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        api = make_api(self.service, self.settings, self.clock, self.idempotency, self.monotonic)
        self._handler = lambda_api.make_handler(api)
        self.key = None if self.owner is None else api_key(self.service, self.owner)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        json_body: Any = None,
    ) -> Reply:
        context = FakeLambdaContext(self.monotonic or time.monotonic, self.timeout_seconds)
        headers, data = _prepare(headers, body, json_body, self.key)
        return invoke(self._handler, method, path, headers=headers, body=data, context=context)


def invoke(
    handler: lambda_api.LambdaHandler,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    json_body: Any = None,
    context: Any = None,
) -> Reply:
    """One request as API Gateway gives it to a Lambda handler, and the handler's answer."""
    headers, data = _prepare(headers, body, json_body)
    event = api_gateway_event(method, path, headers, data)
    result = handler(event, context or FakeLambdaContext())
    assert set(result) == {"statusCode", "headers", "body", "isBase64Encoded"}
    raw = result["body"]
    body_bytes = base64.b64decode(raw) if result["isBase64Encoded"] else raw.encode()
    return Reply(
        result["statusCode"],
        {name.lower(): value for name, value in result["headers"].items()},
        body_bytes,
    )


class FakeLambdaContext:
    """The Lambda context an invocation gets: its time runs on ``monotonic``."""

    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    function_name = "blueprint-jobs"
    memory_limit_in_mb = 512

    def __init__(
        self, monotonic: Callable[[], float] = time.monotonic, timeout_seconds: float = 29.0
    ) -> None:
        self._monotonic = monotonic
        self._ends = monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - self._monotonic()) * 1000))


def api_gateway_event(
    method: str, path: str, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event: lower-case headers, rawPath, base64 for binary bodies."""
    parts = urlsplit(path)
    lowered = {name.lower(): value for name, value in headers.items()}
    lowered.setdefault("host", "abc123.execute-api.eu-west-1.amazonaws.com")
    lowered.setdefault("user-agent", "pytest")
    if body:
        lowered["content-length"] = str(len(body))
    text_body = lowered.get("content-type", "").startswith("application/json")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "26/Nov/2026:03:15:00 +0000",
            "timeEpoch": 1795662900000,
        },
        "isBase64Encoded": bool(body) and not text_body,
    }
    if parts.query:
        event["queryStringParameters"] = dict(
            pair.split("=", 1) if "=" in pair else (pair, "") for pair in parts.query.split("&")
        )
    if body:
        event["body"] = body.decode() if text_body else base64.b64encode(body).decode()
    return event


CLIENTS = {"falcon": FalconClient, "lambda": LambdaClient}
