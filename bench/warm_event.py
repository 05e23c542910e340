"""Warm per-event cost of the Lambda handler, against the same routes on Powertools for AWS
Lambda's APIGatewayHttpResolver with CORS enabled.

Both call the same UseCases over in-memory storage, and both authenticate every event by its
API key (the key's lookup cached, as in production) and count creations against the owner's
per-minute quota, so what differs is the HTTP layer: ours also makes request ids, writes a JSON
access line per request (formatted, sent to /dev/null), wraps the envelope and answers CORS.
Events are API Gateway HTTP API payload 2.0, as AWS sends them. Reported: the median time per
event over interleaved rounds, and ours / Powertools'.

    .venv/bin/pip install -e '.[dev,bench]'
    .venv/bin/python bench/warm_event.py [--rounds 15 --events 300]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import struct
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    CORSConfig,
    Response,
)

from adapters.memory import MemoryIdempotencyStore
from adapters.system import OsEntropy, SystemClock
from domain.blueprint import format_from_content_type
from domain.principals import JOBS_READ, JOBS_WRITE, SCOPES
from domain.use_cases import Origin, UseCases
from entrypoints.bootstrap import build
from entrypoints.http import request_ids
from entrypoints.http.api import Api
from entrypoints.http.representations import job_to_dict
from entrypoints.lambda_api import make_handler
from entrypoints.logs import configure_logging
from entrypoints.settings import JOBS_POLICY, Settings

ORIGIN = "https://app.example"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def png_of(size: int) -> bytes:
    """A valid PNG of about ``size`` bytes (incompressible pixels)."""
    side = int((size / 3) ** 0.5)
    raw = b"".join(b"\x00" + os.urandom(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 0))
        + chunk(b"IEND", b"")
    )


def event(method: str, path: str, key: str, body: bytes | None = None) -> dict[str, Any]:
    headers = {
        "host": "abc.execute-api.eu-west-1.amazonaws.com",
        "origin": ORIGIN,
        "authorization": f"Bearer {key}",
    }
    if body is not None:
        headers["content-type"] = "image/png"
        headers["content-length"] = str(len(body))
    result: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc",
            "domainName": "abc.execute-api.eu-west-1.amazonaws.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "bench",
            },
            "requestId": "bench-request",
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": 1795662900000,
        },
        "isBase64Encoded": body is not None,
    }
    if body is not None:
        result["body"] = base64.b64encode(body).decode()
    return result


def powertools_handler(service: UseCases) -> Handler:
    app = APIGatewayHttpResolver(cors=CORSConfig(allow_origin=ORIGIN))
    clock, entropy = SystemClock(), OsEntropy()

    def owner(scope: str) -> str:
        """Who calls, if the key may do ``scope``: what our Api does before a handler."""
        _, _, key = (app.current_event.headers.get("authorization") or "").partition(" ")
        principal = service.access.authenticate_key(key)
        if not principal.allows(scope):
            raise PermissionError(scope)
        return principal.owner

    @app.get("/api/v1/jobs/<job_id>")
    def get_job(job_id: str) -> dict[str, Any]:
        return job_to_dict(service.lifecycle.get_job(owner(JOBS_READ), job_id))

    @app.post("/api/v1/jobs")
    def create_job() -> Response[str]:
        caller = owner(JOBS_WRITE)
        state = service.quotas.take(caller, JOBS_POLICY)
        assert state is not None
        current = app.current_event
        data = base64.b64decode(current.body or "")
        declared = format_from_content_type(current.headers.get("content-type", ""))
        request_id = request_ids.new_request_id(
            clock.now(), entropy.random_bytes(request_ids.REQUEST_RANDOM_BYTES)
        )
        origin = Origin(caller, request_id, request_id, "v1")
        job = service.intake.create_job([data], origin, declared)
        # The quota's state, as our answers carry it (draft-ietf-httpapi-ratelimit-headers).
        limits = {
            "RateLimit-Policy": f'"jobs";q={state.policy.quota};w={state.policy.window_seconds}',
            "RateLimit": f'"jobs";r={state.remaining};t={state.reset_seconds}',
        }
        return Response(201, "application/json", json.dumps(job_to_dict(job)), headers=limits)

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return handle


def ours(service: UseCases) -> Handler:
    settings = Settings(cors_origins=(ORIGIN,))
    api = Api(
        service,
        settings,
        idempotency=MemoryIdempotencyStore(),
        clock=SystemClock(),
        entropy=OsEntropy(),
    )
    return make_handler(api)


def per_event(handler: Handler, events: list[dict[str, Any]], expected: int) -> float:
    started = time.perf_counter()
    for item in events:
        result = handler(item, None)
    elapsed = time.perf_counter() - started
    assert result["statusCode"] == expected, result
    return elapsed / len(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    configure_logging("INFO", open(os.devnull, "w"))  # noqa: SIM115 - for the whole run
    blueprint = png_of(100 * 1024)
    print(f"blueprint: {len(blueprint)} bytes PNG")
    handlers: dict[str, Handler] = {}
    gets: dict[str, list[dict[str, Any]]] = {}
    posts: dict[str, list[dict[str, Any]]] = {}
    for name, make in (("ours", ours), ("powertools", powertools_handler)):
        # The quota is counted, atomically, on every create; high enough never to refuse.
        service = build(Settings(result_cache=False, jobs_per_minute=10**9)).use_cases
        key = service.access.create_key("bench", "bench", SCOPES)[1]
        handlers[name] = make(service)
        created = handlers[name](event("POST", "/api/v1/jobs", key, blueprint), None)
        assert created["statusCode"] == 201, created
        body = json.loads(created["body"])
        job_id = body["data"]["job_id"] if "data" in body else body["job_id"]
        gets[name] = [event("GET", f"/api/v1/jobs/{job_id}", key)] * args.events
        posts[name] = [event("POST", "/api/v1/jobs", key, blueprint)] * max(1, args.events // 10)
    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for name, handler in handlers.items():
            samples.setdefault(("GET job", name), []).append(per_event(handler, gets[name], 200))
            samples.setdefault(("create 100 KB PNG", name), []).append(
                per_event(handler, posts[name], 201)
            )
    print(f"{'route':<20} {'ours us':>9} {'powertools us':>14} {'ours / powertools':>18}")
    for route in ("GET job", "create 100 KB PNG"):
        mine = statistics.median(samples[(route, "ours")]) * 1e6
        theirs = statistics.median(samples[(route, "powertools")]) * 1e6
        print(f"{route:<20} {mine:>9.1f} {theirs:>14.1f} {mine / theirs:>18.3f}")


if __name__ == "__main__":
    main()
