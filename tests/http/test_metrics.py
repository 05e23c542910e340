"""Application metrics: EMF records on the access lines, with the right counts."""

from __future__ import annotations

import io
from typing import Any

import pytest

from adapters.memory import MemoryIdempotencyStore
from domain.use_cases import UseCases
from entrypoints.metrics import NAMESPACE
from entrypoints.settings import Settings
from tests.blueprints import png
from tests.helpers import (
    SETTINGS,
    UNKNOWN,
    ThrottledJobStore,
    client_over,
    create,
    finish,
    open_session,
    parsed,
    validate_emf,
)
from tests.http.clients import CLIENTS, Client

SERVICE = "blueprint-jobs"


def metrics_of(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "_aws" in line]


def only_record(stream: io.StringIO) -> dict[str, Any]:
    records = metrics_of(parsed(stream))
    assert len(records) == 1, records
    return records[0]


def dimension_sets(record: dict[str, Any]) -> list[list[str]]:
    return [d for directive in record["_aws"]["CloudWatchMetrics"] for d in directive["Dimensions"]]


def test_a_created_job_is_counted_on_its_access_line(
    client: Client, log_lines: io.StringIO
) -> None:
    reply = create(client, png())
    record = only_record(log_lines)
    assert record["message"] == "request"
    assert record["request_id"] == reply.headers["x-request-id"]
    assert validate_emf(record) == {"JobsCreated": 1}
    assert record["Service"] == SERVICE
    assert {d["Namespace"] for d in record["_aws"]["CloudWatchMetrics"]} == {NAMESPACE}
    assert dimension_sets(record) == [["Service"]]


def test_a_cache_hit_is_counted_with_the_job(
    client: Client, service: UseCases, log_lines: io.StringIO
) -> None:
    finish(service, create(client, png()).data["job_id"])
    log_lines.seek(0)
    log_lines.truncate()
    assert create(client, png()).data["cached_from"] is not None
    assert validate_emf(only_record(log_lines)) == {"JobsCreated": 1, "CacheHits": 1}


def test_an_opened_upload_is_counted(client: Client, log_lines: io.StringIO) -> None:
    assert open_session(client).status == 201
    assert validate_emf(only_record(log_lines)) == {"UploadsOpened": 1}


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"not a blueprint", "image/png", "INVALID_FILE_FORMAT"),
        (b"{", "application/json", "INVALID_REQUEST_BODY"),
        (png(), "image/gif", "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
def test_a_validation_failure_is_counted_by_code(
    client: Client, log_lines: io.StringIO, body: bytes, content_type: str, code: str
) -> None:
    client.request("POST", "/api/v1/jobs", headers={"Content-Type": content_type}, body=body)
    record = only_record(log_lines)
    assert validate_emf(record) == {"ValidationFailures": 1}
    assert record["ErrorCode"] == code
    assert dimension_sets(record) == [["Service"], ["Service", "ErrorCode"]]


def test_refusals_that_are_not_about_the_input_are_not_validation_failures(
    client: Client, log_lines: io.StringIO
) -> None:
    client.request("GET", f"/api/v1/jobs/{UNKNOWN}")  # 404
    client.request("PUT", "/api/v1/jobs")  # 405
    assert metrics_of(parsed(log_lines)) == []


def test_a_store_fault_is_counted(entrypoint: str, log_lines: io.StringIO) -> None:
    reply = client_over(entrypoint, ThrottledJobStore()).request("GET", f"/api/v1/jobs/{UNKNOWN}")
    assert reply.status == 503
    record = only_record(log_lines)
    assert validate_emf(record) == {"StoreFaults": 1}
    assert "ErrorCode" not in record


def test_reads_and_replays_write_no_metric(client: Client, log_lines: io.StringIO) -> None:
    headers = {"Content-Type": "image/png", "Idempotency-Key": "k-1"}
    first = client.request("POST", "/api/v1/jobs", headers=headers, body=png())
    again = client.request("POST", "/api/v1/jobs", headers=headers, body=png())
    assert again.headers["idempotent-replayed"] == "true"
    client.request("GET", f"/api/v1/jobs/{first.data['job_id']}")
    client.request("GET", "/health")
    records = metrics_of(parsed(log_lines))
    assert [validate_emf(record) for record in records] == [{"JobsCreated": 1}]
    assert records[0]["request_id"] == first.headers["x-request-id"]


def test_metrics_are_written_when_access_lines_are_not(
    entrypoint: str, service: UseCases, warning_lines: io.StringIO
) -> None:
    settings = Settings(cors_origins=SETTINGS.cors_origins, service="blueprint-jobs-prod")
    client: Client = CLIENTS[entrypoint](service, settings, None, MemoryIdempotencyStore())
    create(client, png())
    client.request("GET", "/health")
    lines = parsed(warning_lines)
    assert [line["message"] for line in lines] == ["metrics"]
    (record,) = lines
    assert validate_emf(record) == {"JobsCreated": 1}
    assert record["Service"] == "blueprint-jobs-prod"
    assert "status" not in record
    assert record["request_id"]
