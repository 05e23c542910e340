"""``blueprint-jobs serve`` under its real WSGI server, over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from domain import api_keys
from tests.blueprints import png
from tests.e2e.servers import DEV_API_KEY, DEV_AUTH, MEMORY_ENV, bearer, cli, free_port, running

pytestmark = pytest.mark.slow


def test_create_get_cancel_over_http_and_the_access_log() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running(command, f"{base}/health", env=MEMORY_ENV) as server:
        created = requests.post(
            f"{base}/api/v1/jobs",
            data=png(),
            headers={"Content-Type": "image/png", "X-Correlation-ID": "e2e-1", **DEV_AUTH},
            timeout=10,
        )
        assert created.status_code == 201
        job_id = created.json()["data"]["job_id"]
        assert created.headers["Location"] == f"/api/v1/jobs/{job_id}"
        fetched = requests.get(f"{base}{created.headers['Location']}", headers=DEV_AUTH, timeout=10)
        assert fetched.status_code == 200
        assert fetched.json()["data"]["status"] == "pending"
        cancelled = requests.delete(f"{base}/api/v1/jobs/{job_id}", headers=DEV_AUTH, timeout=10)
        assert cancelled.status_code == 200
        assert cancelled.json()["data"]["status"] == "cancelled"
        ids = [r.headers["X-Request-ID"] for r in (created, fetched, cancelled)]
        server.terminate()
        output, _ = server.communicate(timeout=10)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = {
        line["request_id"]: line
        for line in lines
        if line["message"] == "request" and line["request_id"] in ids
    }
    assert [access[i]["status"] for i in ids] == [201, 200, 200]
    assert [access[i]["method"] for i in ids] == ["POST", "GET", "DELETE"]
    assert all(access[i]["job_id"] == job_id for i in ids)
    assert access[ids[0]]["correlation_id"] == "e2e-1"
    assert all(access[i]["owner"] == "dev" for i in ids)
    assert not [line for line in lines if DEV_API_KEY in json.dumps(line)]  # never logged


def development_key(server: subprocess.Popen[str]) -> str:
    """The key ``serve`` printed: it is printed before the server listens, so once the server
    answers the line is already in the pipe, and reading line by line up to it cannot block."""
    assert server.stdout is not None
    for line in server.stdout:
        if line.startswith("development API key (owner 'dev'): "):
            return line.rsplit(" ", 1)[1].strip()
    raise AssertionError(f"serve ended ({server.poll()}) without printing a development key")


def test_serve_in_memory_prints_a_development_key_that_works() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = {"BLUEPRINT_JOBS_STORAGE": "memory", "BLUEPRINT_JOBS_DEV_API_KEY": ""}  # unset
    with running(command, f"{base}/health", env=env) as server:
        key = development_key(server)
        assert api_keys.well_formed(key)
        assert key != DEV_API_KEY
        listed = requests.get(f"{base}/api/v1/jobs", headers=bearer(key), timeout=10)
        as_api_key = requests.get(f"{base}/api/v1/jobs", headers={"X-Api-Key": key}, timeout=10)
        refused = requests.get(f"{base}/api/v1/jobs", timeout=10)
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"] == []
    assert as_api_key.status_code == 200, as_api_key.text
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="blueprint-jobs"'
    assert refused.json()["error"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "malformed",
    [
        "bjk_not-a-key",
        DEV_API_KEY[:-1] + ("a" if DEV_API_KEY[-1] != "a" else "b"),  # a wrong checksum
        DEV_API_KEY.upper(),
    ],
)
def test_a_malformed_development_key_stops_serve(malformed: str) -> None:
    env = {**MEMORY_ENV, "BLUEPRINT_JOBS_DEV_API_KEY": malformed}
    done = subprocess.run(
        [*cli(), "serve", "--port", str(free_port())],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("blueprint-jobs: BLUEPRINT_JOBS_DEV_API_KEY is not an API key")
    assert malformed not in done.stdout + done.stderr


def test_importing_the_lambda_module_loads_no_falcon_and_no_boto3() -> None:
    probe = (
        "import sys, entrypoints.lambda_api; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('falcon', 'boto3', 'botocore', 'pynamodb', 'cheroot')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_a_lambda_cold_start_in_memory_loads_no_boto3() -> None:
    probe = (
        "import os, sys, json; os.environ['BLUEPRINT_JOBS_STORAGE'] = 'memory'\n"
        "from entrypoints import lambda_api\n"
        "event = {'version': '2.0', 'rawPath': '/health', 'rawQueryString': '', 'headers': {},"
        " 'requestContext': {'http': {'method': 'GET', 'path': '/health'}, 'requestId': 'r'},"
        " 'isBase64Encoded': False}\n"
        "result = lambda_api.handler(event, None)\n"
        "print(json.dumps([result['statusCode'], sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('falcon', 'boto3', 'botocore'))]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [200, []]
