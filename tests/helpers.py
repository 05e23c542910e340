"""What the tests share: the settings and origin they run with, requests and assertions of
the HTTP contract, upload forms, and readers of log lines and metrics. Test modules import
from here, never from one another."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cfnlint.decode import decode

from adapters.memory import (
    MemoryApiKeyStore,
    MemoryBlobStore,
    MemoryJobStore,
    MemoryRateCounter,
)
from domain import ids
from domain.blueprint import BlueprintFacts, BlueprintFormat
from domain.errors import ServiceUnavailable
from domain.feedback import Feedback, Rating
from domain.job import Job
from domain.upload import UploadSession
from domain.use_cases import Origin, UseCases
from entrypoints.logs import configure_logging
from entrypoints.settings import LOCAL_CORS_ORIGINS, Settings
from ports.blobs import BlobStore
from ports.jobs import JobStore
from ports.system import Clock, Entropy
from tests.blueprints import pdf, png
from tests.fakes import OWNER, START, SeededEntropy, SteppingClock
from tests.http.clients import CLIENTS, Client, Reply

ORIGIN = Origin(
    owner=OWNER,
    request_id="req_20261126_031500_k3j9x2m1q8zp",
    correlation_id="corr-1",
    api_version="v1",
)


SETTINGS = Settings(cors_origins=LOCAL_CORS_ORIGINS)


REQUEST_ID = re.compile(r"req_\d{8}_\d{6}_[a-z0-9]{12}")


UNKNOWN = "job_01jdz5k3a1b2c3d4e5f6g7h8j9"


ALLOWED_ORIGIN = "http://localhost:5173"


def create(
    client: Client, data: bytes = b"", content_type: str = "image/png", **headers: str
) -> Reply:
    return client.request(
        "POST",
        "/api/v1/jobs",
        headers={"Content-Type": content_type, **headers},
        body=data or png(),
    )


def assert_envelope(
    reply: Reply, status: str, version: str = "v1", cache_control: str = "no-store"
) -> None:
    body = reply.json()
    assert body["status"] == status
    assert body["meta"]["api_version"] == version
    assert REQUEST_ID.fullmatch(body["meta"]["request_id"])
    assert reply.headers["x-request-id"] == body["meta"]["request_id"]
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["cache-control"] == cache_control
    assert reply.headers["x-content-type-options"] == "nosniff"


def assert_error(reply: Reply, status: int, code: str) -> dict[str, object]:
    assert reply.status == status, reply.body
    assert_envelope(reply, "error", reply.json()["meta"]["api_version"])
    assert reply.error["code"] == code
    assert isinstance(reply.error["message"], str)
    assert reply.error["message"]
    details: dict[str, object] = reply.error["details"]
    return details


def finish(service: UseCases, job_id: str, *, failed: bool = False) -> None:
    service.lifecycle.start_processing(job_id)
    if failed:
        service.lifecycle.fail_job(job_id, "DETECTION_FAILED", "No walls found.")
    else:
        service.lifecycle.complete_job(job_id, f"results/{job_id}.json")


BOUNDARY = "----blueprintjobsboundary7MA4YWxkTrZu0gW"


def multipart(fields: dict[str, str], data: bytes, boundary: str = BOUNDARY) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="plan"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts)


def open_session(client: Client, fmt: str = "pdf", size: int = len(pdf())) -> Reply:
    return client.request("POST", "/api/v1/uploads", json_body={"format": fmt, "size_bytes": size})


def send(client: Client, session: dict[str, Any], data: bytes, **overrides: str) -> Reply:
    fields = {**session["fields"], **overrides}
    return client.request(
        "POST",
        urlsplit(session["url"]).path,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        body=multipart(fields, data),
    )


def create_from(client: Client, upload_id: str) -> Reply:
    return client.request("POST", "/api/v1/jobs", json_body={"upload_id": upload_id})


def validate_emf(record: dict[str, Any]) -> dict[str, float]:
    """Check ``record`` against CloudWatch's EMF specification; its metric values by name."""
    block = record["_aws"]
    assert isinstance(block["Timestamp"], int)
    assert block["Timestamp"] > 1_600_000_000_000  # milliseconds since the epoch
    directives = block["CloudWatchMetrics"]
    assert isinstance(directives, list)
    assert directives
    values: dict[str, float] = {}
    for directive in directives:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        assert isinstance(directive["Namespace"], str)
        assert directive["Namespace"]
        assert 1 <= len(directive["Metrics"]) <= 100
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= 30
            for name in dimension_set:
                assert isinstance(record[name], str)  # each dimension is a top-level string
        for metric in directive["Metrics"]:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"}
            value = record[metric["Name"]]  # each metric is a top-level number
            assert isinstance(value, int | float)
            assert not isinstance(value, bool)
            values[metric["Name"]] = value
    return values


@contextlib.contextmanager
def captured_logs(level: str) -> Iterator[io.StringIO]:
    """The service's JSON lines at ``level`` and above, while the block runs; the logging
    set-up before it is put back after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging(level, stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


TEMPLATE = Path(__file__).parents[1] / "template.yaml"


def read_template() -> dict[str, Any]:
    """template.yaml as CloudFormation reads it (cfn-lint's decoder knows its tags)."""
    decoded, problems = decode(str(TEMPLATE))
    assert not problems, problems
    assert decoded is not None
    return dict(decoded)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# Named in a store's own error message: it must never reach a response body.
SECRET = "arn:aws:dynamodb:eu-west-1:123456789012:table/secret-table"


class ThrottledJobStore(MemoryJobStore):
    def get(self, job_id: str) -> Job:
        raise ServiceUnavailable(f"throttled on {SECRET}", retry_after=3)


def use_cases_over(
    jobs: JobStore,
    blobs: BlobStore,
    clock: Clock | None = None,
    entropy: Entropy | None = None,
    **options: Any,
) -> UseCases:
    """``UseCases.over`` with in-memory key and quota stores, unless ``options`` name others
    (``keys=``, ``counter=``); no rate policy unless ``rate_policies=`` gives some."""
    clock = clock or SteppingClock()
    options.setdefault("keys", MemoryApiKeyStore())
    options.setdefault("counter", MemoryRateCounter(clock))
    return UseCases.over(jobs, blobs, clock, entropy or SeededEntropy(), **options)


def client_over(
    entrypoint: str,
    jobs: MemoryJobStore,
    blobs: MemoryBlobStore | None = None,
    settings: Settings = SETTINGS,
) -> Client:
    service = use_cases_over(jobs, blobs or MemoryBlobStore())
    made: Client = CLIENTS[entrypoint](service, settings)
    return made


# -- entities for the store contracts -------------------------------------------------------

_entropy = SeededEntropy(7)  # its own stream: the ids differ from the services'


def a_job(comment_seed: int = 0, owner: str = OWNER) -> Job:
    job_id = ids.new_job_id(START, _entropy.random_bytes(10))
    return Job.create(
        job_id=job_id,
        owner=owner,
        now=START,
        blueprint=BlueprintFacts(BlueprintFormat.PDF, "b" * 64, 52_428_800),
        blueprint_key=f"blueprints/{job_id}/source.pdf",
        request_id="req_20261126_031500_k3j9x2m1q8zp",
        correlation_id="trace-1",
        api_version="v2",
    )


def feedback_for(
    job: Job, rating: int = 4, comment: str | None = "ok", at: datetime = START
) -> Feedback:
    feedback_id = ids.new_feedback_id(at, _entropy.random_bytes(10))
    return Feedback.create(feedback_id, job.job_id, Rating.parse(rating, comment), at)


def a_session(owner: str = OWNER) -> UploadSession:
    upload_id = ids.new_upload_id(START, _entropy.random_bytes(10))
    return UploadSession.open(upload_id, owner, "pdf", 1234, START)


T = TypeVar("T")


def eventually(
    read: Callable[[], T], until: Callable[[T], bool] = lambda found: found is not None
) -> T:
    """What ``read`` gives once ``until`` holds of it, or its last reading if that never comes:
    for what a store promises only eventually (DynamoDB's global secondary indexes lag their
    table). It looks again a bounded number of times."""
    found = read()
    for _ in range(50):
        if until(found):
            break
        time.sleep(0.05)
        found = read()
    return found
