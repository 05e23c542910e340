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
from attrs import frozen

from domain import api_keys
from tests.blueprints import pdf
from tests.fakes import OWNER

# The development key of every memory-storage server the tests start (the owner is 'dev').
DEV_API_KEY = api_keys.new_secret(os.urandom(api_keys.RANDOM_BYTES))
DEV_AUTH = {"Authorization": f"Bearer {DEV_API_KEY}"}
MEMORY_ENV = {"BLUEPRINT_JOBS_STORAGE": "memory", "BLUEPRINT_JOBS_DEV_API_KEY": DEV_API_KEY}


@frozen
class Served:
    """A running server: where it is, and the credentials of a key it knows."""

    base: str
    auth: dict[str, str]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


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


def create_key(
    env: dict[str, str], owner: str = OWNER, name: str = "e2e", scopes: Sequence[str] = ()
) -> tuple[str, str]:
    """``blueprint-jobs keys create`` on the table ``env`` names, as an operator makes a key:
    the key's id and its secret, read from what the command prints."""
    done = keys_cli(
        env, "create", "--owner", owner, "--name", name, *(f"--scope={s}" for s in scopes)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    first, second = done.stdout.splitlines()
    key_id = first.split()[0]
    label, _, secret = second.partition(": ")
    assert label == "secret", done.stdout
    assert api_keys.KEY_ID.fullmatch(key_id), done.stdout
    assert api_keys.well_formed(secret), done.stdout
    return key_id, secret


def keys_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli(), "keys", *args],
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
