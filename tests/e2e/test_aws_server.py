"""The whole AWS path over real HTTP: moto.server, ``init-storage``, ``serve --storage aws``."""

from __future__ import annotations

import base64
import os

import pytest
import requests

from adapters.s3 import S3BlobStore
from entrypoints.aws import aws_service, blob_store
from entrypoints.settings import Settings
from tests.blueprints import pdf, png
from tests.e2e.servers import (
    aws_env_for,
    bearer,
    cli,
    create_key,
    free_port,
    init_storage,
    running,
)
from tests.fakes import OWNER

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def aws_env(moto_server: str) -> dict[str, str]:
    return aws_env_for(moto_server, "e2e")


def test_init_storage_then_serve_and_use_a_job(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init = init_storage(aws_env)
    assert init.returncode == 0, init.stderr
    again = init_storage(aws_env)
    assert again.returncode == 0, again.stderr  # idempotent
    auth = bearer(create_key(aws_env, OWNER, "e2e")[1])

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--port", str(port), "--storage", "aws"]
    with running(command, f"{base}/health", env=aws_env):
        ready = requests.get(f"{base}/health/ready", timeout=10)
        assert ready.status_code == 200, ready.text

        created = requests.post(
            f"{base}/api/v1/jobs",
            data=png(),
            headers={"Content-Type": "image/png", **auth},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        job = created.json()["data"]
        fetched = requests.get(f"{base}/api/v2/jobs/{job['job_id']}", headers=auth, timeout=10)
        assert fetched.status_code == 200
        assert fetched.json()["data"]["blueprint"]["sha256"] == job["blueprint_hash"]

        second = requests.post(
            f"{base}/api/v1/jobs",
            json={"blueprint": base64.b64encode(pdf()).decode()},
            headers=auth,
            timeout=30,
        ).json()["data"]
        cancelled = requests.delete(
            f"{base}/api/v1/jobs/{second['job_id']}", headers=auth, timeout=10
        )
        assert cancelled.status_code == 200
        assert cancelled.json()["data"]["status"] == "cancelled"
        assert cancelled.headers["ETag"] == '"2"'

        # The detection pipeline's side, on the same table: start and complete the first job.
        for name, value in aws_env.items():
            monkeypatch.setenv(name, value)
        settings = Settings.from_env(dict(os.environ), profile="lambda")
        pipeline = aws_service(settings)
        pipeline.lifecycle.start_processing(job["job_id"])
        pipeline.lifecycle.complete_job(job["job_id"], f"results/{job['job_id']}.json")

        feedback = requests.post(
            f"{base}/api/v1/jobs/{job['job_id']}/feedback",
            json={"rating": 5, "comment": "All rooms found"},
            headers=auth,
            timeout=10,
        )
        assert feedback.status_code == 201, feedback.text
        done = requests.get(f"{base}/api/v1/jobs/{job['job_id']}", headers=auth, timeout=10)
        done = done.json()["data"]
        assert done["status"] == "completed"
        assert done["version"] == 3
        assert [f.rating for f in pipeline.feedback.list_feedback(OWNER, job["job_id"])] == [5]

    blobs: S3BlobStore = blob_store(settings)
    expected = base64.b64encode(bytes.fromhex(job["blueprint_hash"])).decode()
    assert blobs.checksum_sha256(job["blueprint_s3_key"]) == expected
    assert blobs.read_range(job["blueprint_s3_key"], 0, 10**6) == png()


def test_readiness_is_503_without_the_table(aws_env: dict[str, str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**aws_env, "BLUEPRINT_JOBS_TABLE": "missing-table", "BLUEPRINT_JOBS_BUCKET": "missing"}
    command = [*cli(), "serve", "--port", str(port), "--storage", "aws"]
    with running(command, f"{base}/health", env=env):
        ready = requests.get(f"{base}/health/ready", timeout=30)
    assert ready.status_code == 503
    assert ready.json()["error"]["details"]["checks"] == {
        "job_store": "unavailable",
        "blob_store": "unavailable",
    }


def test_unreachable_storage_is_503_over_http(aws_env: dict[str, str]) -> None:
    """Nothing listens where the AWS endpoint should be: bounded retries, then 503, for a
    client whose key is good (it cannot be looked up either)."""
    assert init_storage(aws_env).returncode == 0
    auth = bearer(create_key(aws_env, OWNER, "e2e unreachable")[1])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**aws_env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    command = [*cli(), "serve", "--port", str(port), "--storage", "aws"]
    with running(command, f"{base}/health", env=env):
        created = requests.post(
            f"{base}/api/v1/jobs",
            data=png(),
            headers={"Content-Type": "image/png", **auth},
            timeout=60,
        )
        fetched = requests.get(
            f"{base}/api/v1/jobs/job_01jdz5k3a1b2c3d4e5f6g7h8j9", headers=auth, timeout=60
        )
    for answer in (created, fetched):
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        body = answer.json()
        assert body["status"] == "error"
        assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert body["error"]["details"] == {}
        assert body["meta"]["request_id"] == answer.headers["X-Request-ID"]
