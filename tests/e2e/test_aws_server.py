"""The whole AWS path over real HTTP: moto.server, ``init-storage``, ``serve --storage aws``."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from adapters.s3 import S3BlobStore
from entrypoints.aws import aws_service, blob_store
from entrypoints.settings import Settings
from tests.blueprints import pdf, png
from tests.e2e.servers import cli, free_port, running

pytestmark = pytest.mark.slow

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with running(command, f"{endpoint}/moto-api/"):
        yield endpoint


@pytest.fixture(scope="module")
def aws_env(moto_server: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "BLUEPRINT_JOBS_TABLE": "e2e-jobs",
        "BLUEPRINT_JOBS_BUCKET": "e2e-blueprints",
    }


def test_init_storage_then_serve_and_use_a_job(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, **aws_env}
    init = subprocess.run(
        [*cli(), "init-storage"], env=env, capture_output=True, text=True, timeout=120
    )
    assert init.returncode == 0, init.stderr
    again = subprocess.run(
        [*cli(), "init-storage"], env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr  # idempotent

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--port", str(port), "--storage", "aws"]
    with running(command, f"{base}/health", env=aws_env):
        ready = requests.get(f"{base}/health/ready", timeout=10)
        assert ready.status_code == 200, ready.text

        created = requests.post(
            f"{base}/api/v1/jobs", data=png(), headers={"Content-Type": "image/png"}, timeout=30
        )
        assert created.status_code == 201, created.text
        job = created.json()["data"]
        fetched = requests.get(f"{base}/api/v2/jobs/{job['job_id']}", timeout=10)
        assert fetched.status_code == 200
        assert fetched.json()["data"]["blueprint"]["sha256"] == job["blueprint_hash"]

        second = requests.post(
            f"{base}/api/v1/jobs",
            json={"blueprint": base64.b64encode(pdf()).decode()},
            timeout=30,
        ).json()["data"]
        cancelled = requests.delete(f"{base}/api/v1/jobs/{second['job_id']}", timeout=10)
        assert cancelled.status_code == 200
        assert cancelled.json()["data"]["status"] == "cancelled"
        assert cancelled.headers["ETag"] == '"2"'

        # The detection pipeline's side, on the same table: start and complete the first job.
        for name, value in aws_env.items():
            monkeypatch.setenv(name, value)
        settings = Settings.from_env(dict(os.environ), profile="lambda")
        pipeline = aws_service(settings)
        pipeline.start_processing(job["job_id"])
        pipeline.complete_job(job["job_id"], f"results/{job['job_id']}.json")

        feedback = requests.post(
            f"{base}/api/v1/jobs/{job['job_id']}/feedback",
            json={"rating": 5, "comment": "All rooms found"},
            timeout=10,
        )
        assert feedback.status_code == 201, feedback.text
        done = requests.get(f"{base}/api/v1/jobs/{job['job_id']}", timeout=10).json()["data"]
        assert done["status"] == "completed"
        assert done["version"] == 3
        assert [f.rating for f in pipeline.list_feedback(job["job_id"])] == [5]

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
