"""The artifact ``sam build`` deploys, built by ``make build-ApiFunction`` into a temporary
directory and run by the template's Python with nothing else on its path (see driver.py).

Where that Python (python3.13) cannot be found, the artifact is built for and run on the
Python at hand, and the run says so in its summary; under CI (``CI=true``) it fails instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import aws_env_for, init_storage
from tests.e2e.conftest import moto_server as moto_server  # the fixture, for the aws storage
from tests.http.clients import Reply, api_gateway_event
from tools.artifact import ROOT, Interpreter, find_python

DRIVER = Path(__file__).with_name("driver.py")
ALLOWED_ORIGIN = "https://app.example.com"
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


def build(out: Path, python: Interpreter) -> Path:
    """``make build-ApiFunction``, as ``sam build`` calls it."""
    done = subprocess.run(
        [
            "make", "--no-print-directory", "-C", str(ROOT), "build-ApiFunction",
            f"ARTIFACTS_DIR={out}", f"PYTHON={sys.executable}", f"LAMBDA_PYTHON={python.path}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="session")
def artifact(tmp_path_factory: pytest.TempPathFactory, lambda_python: Interpreter) -> Path:
    return build(tmp_path_factory.mktemp("build") / "ApiFunction", lambda_python)


class Function:
    """The artifact's handler in its own interpreter, answering API Gateway v2 events."""

    kind = "artifact"

    def __init__(
        self, python: Interpreter, artifact: Path, storage: str, extra_env: dict[str, str]
    ) -> None:
        self.storage = storage
        self._process = subprocess.Popen(
            [python.path, "-I", "-S", str(DRIVER), str(artifact)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=function_env(storage, extra_env),
        )
        self.logs: list[dict[str, Any]] = []  # the JSON lines of the last invocation

    def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(json.dumps(message) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        assert line, f"the function's process ended ({self._process.poll()})"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        answer = self._exchange({"event": event})
        assert "error" not in answer, answer["error"]
        self.logs = [json.loads(line) for line in answer["logs"]]
        result: dict[str, Any] = answer["result"]
        return result

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        json_body: Any = None,
    ) -> Reply:
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        result = self.invoke(api_gateway_event(method, path, headers, body or b""))
        assert set(result) == {"statusCode", "headers", "body", "isBase64Encoded"}
        assert result["isBase64Encoded"] is False
        return Reply(
            result["statusCode"],
            {name.lower(): value for name, value in result["headers"].items()},
            result["body"].encode(),
        )

    def report(self) -> dict[str, Any]:
        report: dict[str, Any] = self._exchange({"report": True})["report"]
        return report

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=30)
        assert self._process.stdout is not None
        self._process.stdout.close()


def function_env(storage: str, extra: dict[str, str]) -> dict[str, str]:
    """Lambda's own variables and the template's: nothing inherited from this process."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": "blueprint-jobs-ApiFunction",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "BLUEPRINT_JOBS_STORAGE": storage,
        "BLUEPRINT_JOBS_CORS_ORIGINS": ALLOWED_ORIGIN,
        "BLUEPRINT_JOBS_LOG_LEVEL": "INFO",
        **extra,
    }


@pytest.fixture(scope="module", params=["memory", "aws"])
def function(
    request: pytest.FixtureRequest, lambda_python: Interpreter, artifact: Path
) -> Iterator[Function]:
    storage: str = request.param
    extra: dict[str, str] = {}
    if storage == "aws":
        extra = aws_env_for(request.getfixturevalue("moto_server"), "artifact")
        created = init_storage(extra)
        assert created.returncode == 0, created.stderr
    running = Function(lambda_python, artifact, storage, extra)
    try:
        yield running
    finally:
        running.close()
