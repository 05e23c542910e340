"""``GET /api/{v}/jobs/{id}/result``: the detection's JSON document, once the job completed."""

from __future__ import annotations

import json

import pytest

from adapters.memory import MemoryBlobStore
from domain.blueprint import MAX_BLUEPRINT_BYTES
from domain.pipeline import MAX_RESULT_BYTES
from domain.use_cases import UseCases
from tests.blueprints import png
from tests.helpers import assert_error, create, finish
from tests.http.clients import Client

RESULT = {"rooms": [{"name": "kitchen", "polygon": [[0, 0], [4, 0], [4, 3]]}], "doors": 2}


def _completed(client: Client, service: UseCases, blobs: MemoryBlobStore, body: bytes) -> str:
    job_id: str = create(client, png()).data["job_id"]
    blobs.put(f"results/{job_id}.json", [body], MAX_BLUEPRINT_BYTES)
    finish(service, job_id)
    return job_id


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_completed_jobs_result_is_the_pipelines_document(
    client: Client, service: UseCases, blobs: MemoryBlobStore, version: str
) -> None:
    job_id = _completed(client, service, blobs, json.dumps(RESULT).encode())
    reply = client.request("GET", f"/api/{version}/jobs/{job_id}/result")
    assert reply.status == 200, reply.body
    assert reply.data == {
        "job_id": job_id,
        "result_key": f"results/{job_id}.json",
        "result": RESULT,
    }
    assert reply.headers["cache-control"] == "no-store"


def test_before_completion_the_result_is_409(client: Client, service: UseCases) -> None:
    job_id = create(client, png()).data["job_id"]
    details = assert_error(
        client.request("GET", f"/api/v1/jobs/{job_id}/result"), 409, "JOB_NOT_FINISHED"
    )
    assert details["status"] == "pending"
    finish(service, job_id, failed=True)
    details = assert_error(
        client.request("GET", f"/api/v1/jobs/{job_id}/result"), 409, "JOB_NOT_FINISHED"
    )
    assert details["status"] == "failed"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{" + b" " * MAX_RESULT_BYTES + b"}",
        b'{"area": NaN}',
        b"[Infinity]",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["not-json", "too-large", "nan", "infinity", "nested"],
)
def test_a_result_the_service_cannot_serve_is_a_500(
    client: Client, service: UseCases, blobs: MemoryBlobStore, body: bytes
) -> None:
    """The pipeline's fault, logged; the client is told nothing of it but the request id."""
    job_id = _completed(client, service, blobs, body)
    reply = client.request("GET", f"/api/v1/jobs/{job_id}/result")
    assert_error(reply, 500, "INTERNAL_ERROR")
