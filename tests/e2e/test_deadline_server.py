"""A request that runs out of time, over real HTTP: ``serve --storage aws`` with a small budget,
behind an endpoint that lets one blueprint upload hang past the S3 read timeout."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests

from adapters.aws import S3_POLICY
from tests.blueprints import png
from tests.e2e.servers import (
    REGION,
    aws_env_for,
    bearer,
    cli,
    create_key,
    free_port,
    init_storage,
    running,
)

pytestmark = pytest.mark.slow

# Room for the claim and one S3 attempt before the 7 s reserve, not for a second attempt.
BUDGET_SECONDS = "12"
KEY = "e2e-deadline-1"


class SlowEndpoint(ThreadingHTTPServer):
    """Forwards every request to ``upstream``, except that the next ``hangs`` uploads of a
    blueprint get no answer for longer than the read timeout (and are never carried out)."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = urlsplit(upstream)
        self.hangs = 0
        self.hung = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def should_hang(self, method: str, path: str) -> bool:
        upload = method == "PUT" and "/blueprints/" in path
        with self.lock:
            if upload and self.hangs > 0:
                self.hangs -= 1
                self.hung += 1
                return True
        return False


class _Forward(BaseHTTPRequestHandler):
    server: SlowEndpoint

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.server.should_hang(self.command, self.path):
            time.sleep(S3_POLICY.read_timeout + 0.5)
            self.close_connection = True
            return
        upstream = http.client.HTTPConnection(
            self.server.upstream.hostname, self.server.upstream.port, timeout=30
        )
        try:
            upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def slow_endpoint(moto_server: str) -> Iterator[SlowEndpoint]:
    endpoint = SlowEndpoint(moto_server)
    thread = threading.Thread(target=endpoint.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        endpoint.shutdown()
        endpoint.server_close()


def create(base: str, auth: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/jobs",
        data=png(),
        headers={"Content-Type": "image/png", "Idempotency-Key": KEY, **auth},
        timeout=60,
    )


def test_a_hanging_upload_is_503_in_time_and_the_key_is_released(
    moto_server: str, slow_endpoint: SlowEndpoint
) -> None:
    env = aws_env_for(moto_server, "deadline")
    assert init_storage(env).returncode == 0
    auth = bearer(create_key(env, name="deadline")[1])
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def blueprints() -> list[str]:
        listed = s3.list_objects_v2(Bucket=env["BLUEPRINT_JOBS_BUCKET"], Prefix="blueprints/")
        return [entry["Key"] for entry in listed.get("Contents", [])]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--port", str(port), "--storage", "aws"]
    command += ["--request-budget", BUDGET_SECONDS]
    served = {**env, "AWS_ENDPOINT_URL": slow_endpoint.url}
    with running(command, f"{base}/health", env=served):
        slow_endpoint.hangs = 1
        refused = create(base, auth)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "1"
        body = refused.json()
        assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert body["meta"]["request_id"] == refused.headers["X-Request-ID"]
        # The upload hung once; no time was left to retry it.
        assert slow_endpoint.hung == 1
        assert blueprints() == []

        created = create(base, auth)  # the same key: released, not 409
        assert created.status_code == 201, created.text
        assert "Idempotent-Replayed" not in created.headers
        assert blueprints() == [created.json()["data"]["blueprint_s3_key"]]
