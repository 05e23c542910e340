"""The Lambda half of the HTTP contract, against the built artifact in the runtime's Python,
with in-memory storage and with AWS storage on moto.server (see conftest.py)."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
import requests

from domain import api_keys
from tests.artifact.running import ALLOWED_ORIGIN, Function
from tests.blueprints import jpeg, pdf, png
from tests.helpers import UNKNOWN, assert_envelope, assert_error, send, validate_emf
from tools.artifact import (
    BOTOCORE_COMMON,
    BOTOCORE_DATA,
    BOTOCORE_DYNAMODB,
    BOTOCORE_S3,
    files,
)

pytestmark = pytest.mark.slow


def create(function: Function, data: bytes, content_type: str = "image/png") -> dict[str, object]:
    reply = function.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": content_type}, body=data
    )
    assert reply.status == 201, reply.body
    job: dict[str, object] = reply.data
    return job


def test_health_and_readiness(function: Function) -> None:
    live = function.request("GET", "/health")
    assert live.status == 200
    assert_envelope(live, "success")
    assert live.data == {"status": "ok"}
    ready = function.request("GET", "/health/ready")
    assert ready.status == 200, ready.body
    assert ready.data == {"status": "ready", "checks": {"job_store": "ok", "blob_store": "ok"}}


def test_create_raw_and_base64_then_read_both_versions(function: Function) -> None:
    data = png()
    reply = function.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=data
    )
    assert reply.status == 201, reply.body
    assert_envelope(reply, "success")
    job = reply.data
    assert reply.headers["location"] == f"/api/v1/jobs/{job['job_id']}"
    assert reply.headers["etag"] == '"1"'
    assert job["blueprint_hash"] == hashlib.sha256(data).hexdigest()
    assert job["blueprint_size_bytes"] == len(data)
    assert job["status"] == "pending"
    (access,) = function.logs  # the access line, which carries the job's EMF metrics
    assert access["request_id"] == reply.headers["x-request-id"]
    assert validate_emf(access) == {"JobsCreated": 1}

    encoded = {"blueprint": base64.b64encode(jpeg()).decode(), "format": "jpg"}
    from_json = function.request("POST", "/api/v1/jobs", json_body=encoded)
    assert from_json.status == 201, from_json.body
    assert from_json.data["blueprint_format"] == "jpg"

    v1 = function.request("GET", f"/api/v1/jobs/{job['job_id']}")
    assert v1.status == 200
    assert v1.data == job
    v2 = function.request("GET", f"/api/v2/jobs/{job['job_id']}")
    assert v2.status == 200
    assert_envelope(v2, "success", "v2", cache_control="no-cache")
    assert v2.data["id"] == job["job_id"]
    assert v2.data["blueprint"] == {
        "format": "png",
        "sha256": job["blueprint_hash"],
        "size_bytes": len(data),
    }


def test_if_none_match_and_cancel(function: Function) -> None:
    job = create(function, pdf(), "application/pdf")
    path = f"/api/v1/jobs/{job['job_id']}"
    unchanged = function.request("GET", path, headers={"If-None-Match": '"1"'})
    assert unchanged.status == 304
    assert unchanged.body == b""
    assert unchanged.headers["etag"] == '"1"'
    cancelled = function.request("DELETE", path)
    assert cancelled.status == 200
    assert cancelled.data["status"] == "cancelled"
    assert cancelled.headers["etag"] == '"2"'
    again = function.request("DELETE", path)
    assert again.status == 200
    assert again.data == cancelled.data


def test_not_found_and_method_not_allowed(function: Function) -> None:
    details = assert_error(function.request("GET", f"/api/v1/jobs/{UNKNOWN}"), 404, "JOB_NOT_FOUND")
    assert details == {"job_id": UNKNOWN}
    assert_error(function.request("GET", "/api/v1/nothing-here"), 404, "NOT_FOUND")
    refused = function.request("PUT", f"/api/v1/jobs/{UNKNOWN}")
    assert_error(refused, 405, "METHOD_NOT_ALLOWED")
    assert refused.headers["allow"] == "GET, HEAD, DELETE, OPTIONS"


def test_cors_preflight(function: Function) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = function.request(  # a browser's preflight carries no credentials
        "OPTIONS", "/api/v1/jobs", headers={"Origin": ALLOWED_ORIGIN, **preflight}
    )
    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    # The collection lists the caller's jobs (GET, HEAD) and creates one (POST).
    assert allowed.headers["access-control-allow-methods"] == "GET, HEAD, POST, OPTIONS"
    allowed_headers = {
        h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "x-api-key", "content-type"} <= allowed_headers
    other = function.request(
        "OPTIONS", "/api/v1/jobs", headers={"Origin": "https://evil.example", **preflight}
    )
    assert_error(other, 403, "CORS_ORIGIN_NOT_ALLOWED")


def test_the_key_lists_the_callers_jobs_and_an_unknown_key_is_refused(function: Function) -> None:
    job = create(function, png(2, 2))
    listed = function.request("GET", "/api/v1/jobs")
    assert listed.status == 200, listed.body
    assert job["job_id"] in [each["job_id"] for each in listed.data]
    stranger = api_keys.new_secret(os.urandom(api_keys.RANDOM_BYTES))
    refused = function.request("GET", "/api/v1/jobs", headers={"X-Api-Key": stranger})
    assert_error(refused, 401, "UNAUTHENTICATED")
    assert (
        refused.headers["www-authenticate"]
        == 'Bearer realm="blueprint-jobs", error="invalid_token"'
    )
    assert stranger not in refused.body.decode()


def test_an_invalid_blueprint_is_refused_in_the_error_envelope(function: Function) -> None:
    reply = function.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=b"not a blueprint"
    )
    assert assert_error(reply, 400, "INVALID_FILE_FORMAT") == {"detected": None, "declared": "png"}
    (record,) = [line for line in function.logs if "_aws" in line]
    assert validate_emf(record) == {"ValidationFailures": 1}
    assert record["ErrorCode"] == "INVALID_FILE_FORMAT"


def test_an_idempotent_retry_replays_the_first_answer(function: Function) -> None:
    headers = {"Content-Type": "image/png", "Idempotency-Key": f"artifact-{function.storage}"}
    first = function.request("POST", "/api/v1/jobs", headers=headers, body=png(3, 3))
    again = function.request("POST", "/api/v1/jobs", headers=headers, body=png(3, 3))
    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers["idempotent-replayed"] == "true"


def test_an_upload_session_becomes_a_job(function: Function) -> None:
    data = pdf() + b"%" * 1000
    opened = function.request(
        "POST", "/api/v1/uploads", json_body={"format": "pdf", "size_bytes": len(data)}
    )
    assert opened.status == 201, opened.body
    session = opened.data
    if function.storage == "memory":  # the form comes back to the function itself
        assert send(function, session, data).status == 204
    else:  # the presigned form goes to S3 (moto.server)
        answer = requests.post(
            session["url"],
            data=session["fields"],
            files={"file": ("blueprint", data, "application/octet-stream")},
            timeout=60,
        )
        assert answer.status_code in (200, 201, 204), answer.text
    created = function.request(
        "POST", "/api/v1/jobs", json_body={"upload_id": session["upload_id"]}
    )
    assert created.status == 201, created.body
    assert created.data["blueprint_hash"] == hashlib.sha256(data).hexdigest()
    again = function.request("POST", "/api/v1/jobs", json_body={"upload_id": session["upload_id"]})
    assert_error(again, 409, "UPLOAD_ALREADY_USED")


def test_the_function_loaded_only_the_artifact_and_its_bytecode(
    function: Function, artifact: Path
) -> None:
    """What serving the routes above loaded (and readiness, which makes both AWS clients, so
    that this holds when the test runs alone)."""
    assert function.request("GET", "/health/ready").status == 200
    report = function.report()
    assert report["sources_read"] == [], "modules compiled at run time: bytecode missing or stale"
    allowed = (f"{artifact}/", *(f"{path}/" for path in report["stdlib"]))
    outside = {
        name: path
        for name, path in report["modules"].items()
        if path is not None and not path.startswith(allowed)
    }
    assert outside == {}
    for forbidden in ("falcon", "cheroot", "boto3", "entrypoints.cli", "entrypoints.falcon_app"):
        assert forbidden not in report["modules"]
    if function.storage == "aws":
        # cacert.pem aside (read for TLS, which moto.server does not speak), the function
        # opens the botocore data of DynamoDB and S3, and no other; the artifact ships those
        # and SQS's, which the pipeline's functions open (tests/artifact/test_pipeline.py).
        assert report["data_opened"] == sorted(BOTOCORE_COMMON + BOTOCORE_DYNAMODB + BOTOCORE_S3)
        shipped = [
            path.relative_to(artifact / "botocore" / "data").as_posix()
            for path in files(artifact / "botocore" / "data")
        ]
        assert shipped == sorted(BOTOCORE_DATA)
    else:
        assert report["data_opened"] == []
        assert not any(name.startswith("botocore") for name in report["modules"])
