"""Writes whose answer is lost after they landed, on DynamoDB (moto in process).

botocore retries a call whose answer timed out. If the first attempt had landed, the retry
meets that attempt's own result: a create-only condition that now fails, a version that has
moved on, a transaction whose conditions no longer hold. None of that may become an error,
and no blob may be deleted under a job that exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.dynamodb import DynamoDBJobStore
from adapters.memory import MemoryIdempotencyStore
from adapters.s3 import S3BlobStore
from domain.service import JobService
from tests.aws import moto_in_process, new_blob_store, new_job_store
from tests.blueprints import pdf, png
from tests.conftest import ORIGIN
from tests.fakes import SeededEntropy, SteppingClock
from tests.faults import LostAnswer
from tests.http.clients import CLIENTS, Client
from tests.http.conftest import SETTINGS


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DynamoDBJobStore, S3BlobStore]]:
    with moto_in_process(monkeypatch):
        yield new_job_store(), new_blob_store()


@pytest.fixture
def service(stores: tuple[DynamoDBJobStore, S3BlobStore]) -> JobService:
    jobs, blobs = stores
    return JobService(jobs, blobs, SteppingClock(), SeededEntropy())


@pytest.fixture(params=sorted(CLIENTS))
def client(request: pytest.FixtureRequest, service: JobService) -> Client:
    made: Client = CLIENTS[request.param](
        service, SETTINGS, SteppingClock(), MemoryIdempotencyStore()
    )
    return made


def lose(stores: tuple[DynamoDBJobStore, S3BlobStore], operation: str) -> LostAnswer:
    return LostAnswer().install(stores[0].client, operation)


def test_a_create_whose_put_landed_is_the_job(client: Client, stores: Any) -> None:
    lost = lose(stores, "PutItem")
    created = client.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=png()
    )
    assert lost.lost == 1
    assert created.status == 201, created.body
    job = created.data
    assert client.request("GET", f"/api/v1/jobs/{job['job_id']}").data == job
    assert stores[1].size(job["blueprint_s3_key"]) == len(png())  # the blob was kept


def test_a_cancel_under_if_match_whose_write_landed_is_not_a_failed_precondition(
    client: Client, stores: Any
) -> None:
    job = client.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=png()
    ).data
    lost = lose(stores, "PutItem")
    cancelled = client.request(
        "DELETE", f"/api/v1/jobs/{job['job_id']}", headers={"If-Match": '"1"'}
    )
    assert lost.lost == 1
    assert cancelled.status == 200, cancelled.body
    assert cancelled.data["status"] == "cancelled"
    assert cancelled.data["version"] == 2


def test_a_transition_whose_write_landed_is_not_refused(service: JobService, stores: Any) -> None:
    job = service.create_job([png()], ORIGIN)
    lost = lose(stores, "PutItem")
    started = service.start_processing(job.job_id)
    assert lost.lost == 1
    assert started.status.value == "processing"
    assert service.get_job(job.job_id) == started


def test_a_job_from_an_upload_whose_transaction_landed(client: Client, stores: Any) -> None:
    session = client.request(
        "POST", "/api/v1/uploads", json_body={"format": "pdf", "size_bytes": len(pdf())}
    ).data
    stores[1].put(session["fields"]["key"], [pdf()], len(pdf()))  # the client's upload to S3
    lost = lose(stores, "TransactWriteItems")
    created = client.request("POST", "/api/v1/jobs", json_body={"upload_id": session["upload_id"]})
    assert lost.lost == 1
    assert created.status == 201, created.body
    assert stores[1].size(created.data["blueprint_s3_key"]) == len(pdf())
    again = client.request("POST", "/api/v1/jobs", json_body={"upload_id": session["upload_id"]})
    assert again.error["code"] == "UPLOAD_ALREADY_USED"
    assert again.error["details"]["job_id"] == created.data["job_id"]


def test_feedback_whose_transaction_landed_is_recorded_once(
    client: Client, service: JobService, stores: Any
) -> None:
    job = service.create_job([png()], ORIGIN)
    service.start_processing(job.job_id)
    service.complete_job(job.job_id, "results/r.json")
    lost = lose(stores, "TransactWriteItems")
    answer = client.request("POST", f"/api/v1/jobs/{job.job_id}/feedback", json_body={"rating": 4})
    assert lost.lost == 1
    assert answer.status == 201, answer.body
    assert [entry.rating for entry in service.list_feedback(job.job_id)] == [4]
