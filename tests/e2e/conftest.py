from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.servers import aws_env_for, cli, free_port, init_storage, running


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
