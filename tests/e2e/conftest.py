from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.e2e.servers import cli, free_port, running

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with running(command, f"{endpoint}/moto-api/"):
        yield endpoint


def aws_env_for(endpoint: str, prefix: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "BLUEPRINT_JOBS_TABLE": f"{prefix}-jobs",
        "BLUEPRINT_JOBS_BUCKET": f"{prefix}-blueprints",
    }


def init_storage(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli(), "init-storage"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="session", params=["memory", "aws"])
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    """``blueprint-jobs serve`` with in-memory storage, or with AWS storage on moto.server."""
    env: dict[str, str] = {}
    storage = request.param
    if storage == "aws":
        env = aws_env_for(request.getfixturevalue("moto_server"), "large")
        assert init_storage(env).returncode == 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--port", str(port), "--storage", storage]
    with running(command, f"{base}/health", env=env):
        yield base
