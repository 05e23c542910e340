"""Start real servers as subprocesses on free loopback ports, and stop them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.blueprints import pdf


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli() -> list[str]:
    script = shutil.which("blueprint-jobs", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "entrypoints.cli"]


def wait_until_up(url: str, process: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def running(
    args: Sequence[str], health_url: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """Run ``args`` until the block ends; the process's output is kept for the caller."""
    process = subprocess.Popen(
        list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        wait_until_up(health_url, process)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def big_pdf(size: int) -> bytes:
    head = pdf()
    return (
        head
        + bytes(range(256)) * ((size - len(head)) // 256)
        + b"\x00" * ((size - len(head)) % 256)
    )


REGION = "eu-west-1"


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


def post_form(session: Any, data: bytes) -> requests.Response:
    """As a browser would: every field of the form, then the file, as multipart/form-data."""
    return requests.post(
        session["url"],
        data=session["fields"],
        files={"file": ("blueprint", data, "application/octet-stream")},
        timeout=120,
    )
