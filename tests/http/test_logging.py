"""One JSON object per line; every line written while serving carries the request's ids."""

from __future__ import annotations

import base64
import io
import logging
import threading

from domain.use_cases import UseCases
from tests.blueprints import png
from tests.helpers import parsed
from tests.http.clients import Client

UNKNOWN = "job_01jdz5k3a1b2c3d4e5f6g7h8j9"


def test_one_access_line_per_request_with_the_ids(client: Client, log_lines: io.StringIO) -> None:
    created = client.request(
        "POST",
        "/api/v1/jobs",
        headers={"Content-Type": "image/png", "X-Correlation-ID": "trace-7"},
        body=png(),
    )
    client.request("GET", f"/api/v2/jobs/{UNKNOWN}")
    lines = parsed(log_lines)
    access = [line for line in lines if line["message"] == "request"]
    assert len(access) == 2
    first, second = access
    assert first["request_id"] == created.headers["x-request-id"]
    assert first["correlation_id"] == "trace-7"
    assert first["method"] == "POST"
    assert first["route"] == "/api/{v}/jobs"
    assert first["status"] == 201
    assert first["api_version"] == "v1"
    assert first["job_id"] == created.data["job_id"]
    assert isinstance(first["duration_ms"], float)
    assert first["level"] == "INFO"
    assert first["timestamp"].endswith("Z")
    assert second["status"] == 404
    assert second["api_version"] == "v2"
    assert second["job_id"] == UNKNOWN
    for line in lines:
        assert {"timestamp", "level", "message", "request_id", "correlation_id"} <= set(line)


def test_no_blueprint_bytes_in_the_logs(client: Client, log_lines: io.StringIO) -> None:
    data = png()
    client.request("POST", "/api/v1/jobs", json_body={"blueprint": base64.b64encode(data).decode()})
    client.request("POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=b"bad!")
    text = log_lines.getvalue()
    assert base64.b64encode(data).decode()[:16] not in text
    assert "IHDR" not in text
    assert "bad!" not in text


def test_lambda_logs_the_platform_ids(
    entrypoint: str, client: Client, log_lines: io.StringIO
) -> None:
    client.request("GET", "/health")
    (line,) = parsed(log_lines)
    if entrypoint == "lambda":
        assert line["apigw_request_id"] == "JKJaXmPLvHcESHA="
        assert line["lambda_request_id"] == "c6af9ac6-7b61-11e6-9a41-93e812345678"
    else:
        assert "apigw_request_id" not in line


def test_concurrent_requests_do_not_mix_ids(
    service: UseCases, client: Client, log_lines: io.StringIO
) -> None:
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for _ in range(10):
                client.request(
                    "GET", f"/api/v1/jobs/{UNKNOWN}", headers={"X-Correlation-ID": f"t{index}"}
                )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    by_request: dict[str, set[str]] = {}
    for line in parsed(log_lines):
        by_request.setdefault(line["request_id"], set()).add(line["correlation_id"])
    assert len(by_request) == 80
    assert all(len(correlations) == 1 for correlations in by_request.values())


def test_a_traceback_goes_to_the_log_line(log_lines: io.StringIO) -> None:
    try:
        raise ValueError("kaput")
    except ValueError:
        logging.getLogger("x").exception("failed")
    (line,) = parsed(log_lines)
    assert "Traceback" in line["exception"]
    assert "kaput" in line["exception"]
