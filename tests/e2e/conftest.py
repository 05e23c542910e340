from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.servers import (
    DEV_AUTH,
    MEMORY_ENV,
    Served,
    aws_env_for,
    bearer,
    cli,
    create_key,
    free_port,
    init_storage,
    running,
)


@pytest.fixture(scope="session", params=["memory", "aws"])
def server(request: pytest.FixtureRequest) -> Iterator[Served]:
    """``blueprint-jobs serve`` with in-memory storage (and a development key), or with AWS
    storage on moto.server (and a key made by ``keys create``)."""
    env = dict(MEMORY_ENV)
    auth = DEV_AUTH
    storage = request.param
    if storage == "aws":
        env = aws_env_for(request.getfixturevalue("moto_server"), "large")
        assert init_storage(env).returncode == 0
        auth = bearer(create_key(env, name="large uploads")[1])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--port", str(port), "--storage", storage]
    with running(command, f"{base}/health", env=env):
        yield Served(base, auth)
