"""The artifact ``sam build`` deploys, built by ``make build-ApiFunction`` into a temporary
directory and run by the template's Python with nothing else on its path (see driver.py).

Where that Python (python3.13) cannot be found, the artifact is built for and run on the
Python at hand, and the run says so in its summary; under CI (``CI=true``) it fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.artifact.running import Function, build
from tests.e2e.servers import DEV_API_KEY, aws_env_for, create_key, init_storage
from tools.artifact import Interpreter, find_python

_NOTICES: list[str] = []


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def lambda_python() -> Interpreter:
    python = find_python(os.environ.get("LAMBDA_PYTHON") or None)
    if not python.is_runtime:
        message = (
            f"artifact tests ran on {python.name}: the function's runtime, python3.13, was not "
            "found (set LAMBDA_PYTHON to its path)"
        )
        if _in_ci():
            pytest.fail(message + "; under CI the artifact must run on the runtime's Python")
        _NOTICES.append(message)
    return python


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for notice in _NOTICES:
        terminalreporter.write_line(f"NOTE: {notice}", yellow=True, bold=True)


@pytest.fixture(scope="session")
def artifact(tmp_path_factory: pytest.TempPathFactory, lambda_python: Interpreter) -> Path:
    return build(tmp_path_factory.mktemp("build") / "ApiFunction", lambda_python)


@pytest.fixture(scope="module", params=["memory", "aws"])
def function(
    request: pytest.FixtureRequest, lambda_python: Interpreter, artifact: Path
) -> Iterator[Function]:
    """The function with memory storage (and its development key), or with AWS storage on
    moto.server (and a key made in its table by ``keys create``, as an operator makes one)."""
    storage: str = request.param
    extra: dict[str, str] = {}
    key = DEV_API_KEY
    if storage == "aws":
        extra = aws_env_for(request.getfixturevalue("moto_server"), "artifact")
        created = init_storage(extra)
        assert created.returncode == 0, created.stderr
        key = create_key(extra, name="artifact")[1]
    running = Function(lambda_python, artifact, storage, extra, key)
    try:
        yield running
    finally:
        running.close()
