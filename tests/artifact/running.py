"""Building the Lambda artifact and running the handler in it, for the artifact tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.http.clients import Reply, invoke
from tools.artifact import ROOT, Interpreter

DRIVER = Path(__file__).with_name("driver.py")

ALLOWED_ORIGIN = "https://app.example.com"
# Routes a client calls without its key: the health checks, and the upload form a browser posts.
PUBLIC_PATHS = ("/health", "/local-uploads")


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


class Function:
    """The artifact's handler in its own interpreter, answering API Gateway v2 events, called
    by a client holding ``key``: an API key the function knows (with memory storage, its
    development key; with AWS storage, one in the table)."""

    kind = "artifact"

    def __init__(
        self,
        python: Interpreter,
        artifact: Path,
        storage: str,
        extra_env: dict[str, str],
        key: str,
    ) -> None:
        self.storage = storage
        self.key = key
        self._process = subprocess.Popen(
            [python.path, "-I", "-S", str(DRIVER), str(artifact)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=function_env(storage, extra_env, key),
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

    def invoke(self, event: dict[str, Any], handler: str | None = None) -> Any:
        """The handler's result for ``event``: the API's handler, or the one named."""
        message: dict[str, Any] = {"event": event}
        if handler is not None:
            message["handler"] = handler
        answer = self._exchange(message)
        assert "error" not in answer, answer["error"]
        self.logs = [json.loads(line) for line in answer["logs"]]
        return answer["result"]

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        json_body: Any = None,
    ) -> Reply:
        # The handler in the artifact's process, given the event API Gateway would send. The
        # key goes with every API call, as a client sends it; never with a preflight.
        headers = dict(headers or {})
        credentials = {name.lower() for name in headers} & {"authorization", "x-api-key"}
        if not credentials and method != "OPTIONS" and not path.startswith(PUBLIC_PATHS):
            headers["Authorization"] = f"Bearer {self.key}"
        return invoke(
            lambda event, _: self.invoke(dict(event)),
            method,
            path,
            headers=headers,
            body=body,
            json_body=json_body,
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


def function_env(storage: str, extra: dict[str, str], key: str) -> dict[str, str]:
    """Lambda's own variables and the template's: nothing inherited from this process. With
    memory storage, ``key`` is the function's development key."""
    dev_key = {"BLUEPRINT_JOBS_DEV_API_KEY": key} if storage == "memory" else {}
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
        **dev_key,
        **extra,
    }
