"""Hostile and careless input: every answer is a well-formed response in the envelope, with
``X-Request-ID``; never an exception, and never a 5xx for what should be a 4xx."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.memory import MemoryBlobStore, MemoryIdempotencyStore, MemoryJobStore
from domain.ids import ECHO_CHARS
from entrypoints import lambda_api
from entrypoints.http.api import Api
from entrypoints.logs import JsonFormatter
from tests.blueprints import png
from tests.fakes import SeededEntropy, SteppingClock
from tests.helpers import SETTINGS, assert_envelope, use_cases_over
from tests.http.clients import (
    CLIENTS,
    Client,
    FakeLambdaContext,
    Reply,
    api_gateway_event,
    make_api,
)

PATHS = ["/api/v1/jobs", "/api/v2/uploads", "/api/v1/jobs/job_01jdz5k3a1b2c3d4e5f6g7h8j9/feedback"]


def assert_well_formed_4xx(reply: Reply) -> None:
    assert 400 <= reply.status < 500, reply.body
    body = reply.json()
    assert body["status"] == "error"
    assert body["meta"]["request_id"] == reply.headers["x-request-id"]
    assert reply.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", PATHS)
def test_deeply_nested_json_is_a_400(client: Client, path: str) -> None:
    for nested in (b"[" * 40_000, b'{"a":' * 12_000):  # under the 64 KiB body limit
        reply = client.request(
            "POST", path, headers={"Content-Type": "application/json"}, body=nested
        )
        assert_well_formed_4xx(reply)
        assert reply.error["code"] == "INVALID_REQUEST_BODY"


@pytest.mark.parametrize("path", PATHS)
def test_a_key_with_a_lone_surrogate_is_a_400_in_the_envelope(client: Client, path: str) -> None:
    reply = client.request(
        "POST", path, headers={"Content-Type": "application/json"}, body=b'{"\\ud800x": 1}'
    )
    assert_well_formed_4xx(reply)
    assert reply.error["details"]["field"] == "\ud800x"  # escaped in the body, valid UTF-8
    reply.body.decode("utf-8")


def test_an_invalid_path_or_id_is_echoed_only_as_a_prefix(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    long_id = "job_" + "x" * 5000
    with caplog.at_level(logging.INFO):
        reply = client.request("GET", f"/api/v1/jobs/{long_id}")
        path_reply = client.request("GET", "/" + "p" * 5000)
    assert reply.error["code"] == "INVALID_JOB_ID"
    assert len(reply.error["details"]["job_id"]) <= ECHO_CHARS + 3
    assert len(path_reply.error["details"]["path"]) <= ECHO_CHARS + 3
    logged = [r for r in caplog.records if "x" * (ECHO_CHARS + 4) in r.getMessage()]
    assert logged == []
    access = [r for r in caplog.records if r.getMessage() == "request"]
    assert all(len(r.__dict__["path"]) <= ECHO_CHARS + 3 for r in access)
    assert all(r.__dict__.get("job_id") is None for r in access)  # an invalid id is not bound


def test_log_lines_stay_one_line_for_every_reader() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "a\u2028b\u2029c\u0085d\ud800e\nf", None, None
    )
    line = JsonFormatter().format(record)
    assert not {"\u2028", "\u2029", "\u0085", "\n", "\r"} & set(line)
    line.encode("utf-8")  # a lone surrogate is escaped, not a write that fails
    assert json.loads(line)["message"] == "a\u2028b\u2029c\u0085d\ud800e\nf"


# -- Lambda events that API Gateway would not send as they are -------------------------------


def _handler() -> lambda_api.LambdaHandler:
    service = use_cases_over(MemoryJobStore(), MemoryBlobStore(), SteppingClock(), SeededEntropy())
    api = make_api(service, SETTINGS)
    return lambda_api.make_handler(api)


def _base() -> dict[str, Any]:
    return api_gateway_event(
        "POST", "/api/v1/uploads", {"Content-Type": "application/json"}, b'{"format": "pdf"}'
    )


BROKEN_EVENTS = {
    "invalid base64": {**_base(), "body": "!!!", "isBase64Encoded": True},
    "base64 not ascii": {**_base(), "body": "\u00e9t\u00e9==", "isBase64Encoded": True},
    "a lone surrogate": {**_base(), "body": '{"format": "\ud800"}'},
    "headers a list": {**_base(), "headers": ["content-type"]},
    "body a number": {**_base(), "body": 5},
    "http not an object": {**_base(), "requestContext": {"http": "POST"}},
    "context not an object": {**_base(), "requestContext": "x"},
    "path not a string": {**_base(), "rawPath": ["api"]},
    "cookies not strings": {**_base(), "cookies": [1, 2]},
    "no event": None,
    "an event that is a list": [1, 2, 3],
}


def _assert_answer(result: Any) -> dict[str, Any]:
    assert isinstance(result, dict)
    assert set(result) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert isinstance(result["statusCode"], int)
    body = json.loads(result["body"])
    assert body["status"] == "error" or 200 <= result["statusCode"] < 400
    assert body["meta"]["request_id"] == result["headers"]["X-Request-ID"]
    return body


@pytest.mark.parametrize("name", sorted(BROKEN_EVENTS))
def test_a_broken_event_gets_a_400_in_the_envelope(name: str) -> None:
    result = _handler()(BROKEN_EVENTS[name], FakeLambdaContext())  # type: ignore[arg-type]
    body = _assert_answer(result)
    assert result["statusCode"] == 400, body
    assert body["error"]["code"] == "INVALID_REQUEST_BODY"


def test_an_event_without_headers_is_a_request_without_headers() -> None:
    result = _handler()({**_base(), "headers": None}, FakeLambdaContext())
    body = _assert_answer(result)
    assert result["statusCode"] == 401  # no credentials: a 4xx of its own
    assert body["error"]["code"] == "UNAUTHENTICATED"


def test_a_handler_that_cannot_build_its_api_still_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> Api:
        raise RuntimeError("BLUEPRINT_JOBS_STORAGE is not a storage")

    result = lambda_api.make_handler(broken)(_base(), FakeLambdaContext())
    body = _assert_answer(result)
    assert result["statusCode"] == 500
    assert body["error"] == {
        "code": "INTERNAL_ERROR",
        "message": body["error"]["message"],
        "details": {},
    }
    assert "not a storage" not in result["body"]
    assert "not a storage" in caplog.text


# -- anything at all ------------------------------------------------------------------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
EVENT_PARTS = st.fixed_dictionaries(
    {},
    optional={
        "version": JSONISH,
        "rawPath": st.one_of(st.sampled_from(["/health", *PATHS, "/api/v1/jobs/x"]), JSONISH),
        "rawQueryString": JSONISH,
        "headers": st.one_of(st.dictionaries(st.text(max_size=20), st.text(max_size=40)), JSONISH),
        "requestContext": st.one_of(
            st.fixed_dictionaries(
                {"http": st.fixed_dictionaries({"method": st.sampled_from(["GET", "POST"])})}
            ),
            JSONISH,
        ),
        "body": st.one_of(st.text(max_size=200), JSONISH),
        "isBase64Encoded": st.booleans(),
        "cookies": JSONISH,
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(event=st.one_of(EVENT_PARTS, JSONISH))
def test_the_lambda_handler_answers_any_event(event: Any) -> None:
    result = _handler()(event, FakeLambdaContext())
    _assert_answer(result)
    assert result["statusCode"] < 500, result


# Header names and values a WSGI server would pass on: tokens, and no control characters.
HEADER_NAMES = st.sampled_from(
    [
        "Content-Type",
        "Content-Length",
        "If-Match",
        "If-None-Match",
        "Idempotency-Key",
        "X-Correlation-ID",
        "Origin",
        "Cache-Control",
        "X-Custom",
    ]
)
HEADER_VALUES = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kind=st.sampled_from(sorted(CLIENTS)),
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD", "OPTIONS"]),
    path=st.sampled_from(
        ["/health", "/local-uploads", *PATHS, "/api/v1/jobs/job_01jdz5k3a1b2c3d4e5f6g7h8j9"]
    ),
    query=st.sampled_from(["", "fresh=true", "fresh=%ff", "a=b&a=c"]),
    headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=4),
    body=st.one_of(st.binary(max_size=300), st.just(png()), st.just(b'{"rating": 3}')),
)
def test_both_entrypoints_answer_any_request_in_the_envelope(
    kind: str, method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> None:
    headers.pop("Content-Length", None)  # the clients set the true one
    service = use_cases_over(MemoryJobStore(), MemoryBlobStore(), SteppingClock(), SeededEntropy())
    client = CLIENTS[kind](service, SETTINGS, SteppingClock(), MemoryIdempotencyStore())
    target = f"{path}?{query}" if query else path
    reply = client.request(method, target, headers=headers, body=body)
    assert reply.status < 500, reply.body
    assert reply.headers["x-request-id"]
    assert reply.headers["x-content-type-options"] == "nosniff"
    if reply.body:
        assert_envelope_like(reply)


def assert_envelope_like(reply: Reply) -> None:
    document = reply.json()
    if "openapi" in document:
        return
    assert document["status"] in ("success", "error")
    assert document["meta"]["request_id"] == reply.headers["x-request-id"]


def test_the_envelope_helper_is_the_contracts(client: Client) -> None:
    reply = client.request("GET", "/health")
    assert_envelope(reply, "success")
    assert_envelope_like(reply)
    assert io.BytesIO(reply.body).read()
