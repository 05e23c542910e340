"""Stores that fail, settings that differ, and limits enforced before a body is read."""

from __future__ import annotations

import io
import json
import logging

import pytest

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.blueprint import MAX_BLUEPRINT_BYTES
from domain.job import Job
from domain.use_cases import UseCases
from entrypoints.http.messages import HttpRequest
from entrypoints.settings import Settings
from tests.blueprints import png
from tests.fakes import BrokenBlobStore, BrokenJobStore
from tests.helpers import SECRET, SETTINGS, UNKNOWN, ThrottledJobStore, assert_error, client_over
from tests.http.clients import api_key, make_api


class ExplodingJobStore(MemoryJobStore):
    def get(self, job_id: str) -> Job:
        raise RuntimeError(f"boom at {SECRET}")


def test_unexpected_exception_is_a_bare_500_and_a_logged_traceback(
    entrypoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_over(entrypoint, ExplodingJobStore())
    with caplog.at_level(logging.ERROR):
        reply = client.request("GET", f"/api/v1/jobs/{UNKNOWN}")
    details = assert_error(reply, 500, "INTERNAL_ERROR")
    assert details == {}
    text = reply.body.decode()
    for leak in ("boom", "RuntimeError", "Traceback", "arn:aws", ".py"):
        assert leak not in text
    records = [r for r in caplog.records if r.exc_info]
    assert records
    assert "boom" in str(records[0].exc_info[1])  # type: ignore[index]


def test_unavailable_store_is_503_with_retry_after(entrypoint: str) -> None:
    reply = client_over(entrypoint, ThrottledJobStore()).request("GET", f"/api/v1/jobs/{UNKNOWN}")
    assert assert_error(reply, 503, "SERVICE_UNAVAILABLE") == {}
    assert reply.headers["retry-after"] == "3"
    assert "arn:aws" not in reply.body.decode()


def test_readiness_reports_the_store_that_is_down(entrypoint: str) -> None:
    reply = client_over(entrypoint, BrokenJobStore()).request("GET", "/health/ready")
    details = assert_error(reply, 503, "SERVICE_UNAVAILABLE")
    assert details == {"checks": {"job_store": "unavailable", "blob_store": "ok"}}
    assert reply.headers["retry-after"] == "5"
    both = client_over(entrypoint, BrokenJobStore(), BrokenBlobStore()).request(
        "GET", "/health/ready"
    )
    assert both.json()["error"]["details"]["checks"]["blob_store"] == "unavailable"


def test_liveness_needs_no_store(entrypoint: str) -> None:
    reply = client_over(entrypoint, ExplodingJobStore()).request("GET", "/health")
    assert reply.status == 200


def test_a_failed_job_write_leaves_no_blob(entrypoint: str) -> None:
    blobs = MemoryBlobStore()
    client = client_over(entrypoint, BrokenJobStore(), blobs)
    reply = client.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=png()
    )
    assert_error(reply, 503, "SERVICE_UNAVAILABLE")
    assert blobs.keys() == []


def test_wildcard_origin_when_configured(entrypoint: str) -> None:
    client = client_over(entrypoint, MemoryJobStore(), settings=Settings(cors_origins=("*",)))
    reply = client.request("GET", "/health", headers={"Origin": "https://any.example"})
    assert reply.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in reply.headers
    null = client.request("GET", "/health", headers={"Origin": "null"})
    assert "access-control-allow-origin" not in null.headers


def test_no_origin_is_allowed_without_configuration(entrypoint: str) -> None:
    client = client_over(entrypoint, MemoryJobStore(), settings=Settings(cors_origins=()))
    reply = client.request(
        "OPTIONS",
        "/api/v1/jobs",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
    )
    assert_error(reply, 403, "CORS_ORIGIN_NOT_ALLOWED")


class Unreadable(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


@pytest.mark.parametrize(
    ("content_type", "length"),
    [("image/png", MAX_BLUEPRINT_BYTES + 1), ("application/json", 80 * 1024 * 1024)],
)
def test_a_declared_length_over_the_limit_is_refused_before_reading(
    service: UseCases, content_type: str, length: int
) -> None:
    api = make_api(service, SETTINGS)
    response = api.handle(
        HttpRequest(
            method="POST",
            path="/api/v1/jobs",
            headers={
                "content-type": content_type,
                "content-length": str(length),
                "authorization": f"Bearer {api_key(service)}",
            },
            body=Unreadable(),
            content_length=length,
        )
    )
    assert response.status == 413
    assert json.loads(response.body)["error"]["code"] == "FILE_TOO_LARGE"


def test_a_large_feedback_body_is_refused_before_reading(service: UseCases) -> None:
    api = make_api(service, SETTINGS)
    response = api.handle(
        HttpRequest(
            method="POST",
            path=f"/api/v1/jobs/{UNKNOWN}/feedback",
            headers={"content-type": "application/json", "x-api-key": api_key(service)},
            body=Unreadable(),
            content_length=10**6,
        )
    )
    assert response.status == 413
    assert json.loads(response.body)["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_body_without_length_is_cut_off_at_the_limit(service: UseCases) -> None:
    class Endless(io.RawIOBase):
        served = 0

        def read(self, size: int = -1) -> bytes:
            self.served += size
            return b"%PDF-" + b"\x00" * (size - 5) if self.served == size else b"\x00" * size

    body = Endless()
    response = make_api(service, SETTINGS).handle(
        HttpRequest(
            "POST",
            "/api/v1/jobs",
            {"content-type": "application/pdf", "x-api-key": api_key(service)},
            body,
        )
    )
    assert response.status == 413
    assert body.served == MAX_BLUEPRINT_BYTES + 1
