"""Writes whose answer is lost after they landed, on DynamoDB (moto in process).

botocore retries a call whose answer timed out. If the first attempt had landed, the retry
meets that attempt's own result: a create-only condition that now fails, a version that has
moved on, a transaction whose conditions no longer hold. None of that may become an error,
and no blob may be deleted under a job that exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.dynamodb import DynamoDBJobStore, DynamoDBRateCounter
from adapters.memory import MemoryIdempotencyStore
from adapters.s3 import S3BlobStore
from domain.use_cases import UseCases
from tests.aws import FAULTS, dynamodb_use_cases, moto_in_process, new_blob_store, new_job_store
from tests.blueprints import pdf, png
from tests.fakes import SteppingClock
from tests.faults import LOST, TIMEOUT, Fault, LostAnswer, Slow
from tests.helpers import ORIGIN, OWNER, SETTINGS, UNKNOWN, a_job, a_session
from tests.http.clients import CLIENTS, Client


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DynamoDBJobStore, S3BlobStore]]:
    with moto_in_process(monkeypatch):
        yield new_job_store(), new_blob_store()


@pytest.fixture
def service(stores: tuple[DynamoDBJobStore, S3BlobStore]) -> UseCases:
    jobs, blobs = stores
    return dynamodb_use_cases(jobs, blobs)


@pytest.fixture(params=sorted(CLIENTS))
def client(request: pytest.FixtureRequest, service: UseCases) -> Client:
    made: Client = CLIENTS[request.param](
        service, SETTINGS, SteppingClock(), MemoryIdempotencyStore()
    )
    return made


def lose(stores: tuple[DynamoDBJobStore, S3BlobStore], operation: str) -> LostAnswer:
    return LostAnswer().install(stores[0].table.client, operation)


def test_a_create_whose_write_landed_is_the_job(client: Client, stores: Any) -> None:
    lost = lose(stores, "TransactWriteItems")  # the job and its owner's count
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
    lost = lose(stores, "TransactWriteItems")  # the job, and its owner's count released
    cancelled = client.request(
        "DELETE", f"/api/v1/jobs/{job['job_id']}", headers={"If-Match": '"1"'}
    )
    assert lost.lost == 1
    assert cancelled.status == 200, cancelled.body
    assert cancelled.data["status"] == "cancelled"
    assert cancelled.data["version"] == 2


def test_a_transition_whose_write_landed_is_not_refused(service: UseCases, stores: Any) -> None:
    job = service.intake.create_job([png()], ORIGIN)
    lost = lose(stores, "PutItem")
    started = service.lifecycle.start_processing(job.job_id)
    assert lost.lost == 1
    assert started.status.value == "processing"
    assert service.lifecycle.get_job(OWNER, job.job_id) == started


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
    client: Client, service: UseCases, stores: Any
) -> None:
    job = service.intake.create_job([png()], ORIGIN)
    service.lifecycle.start_processing(job.job_id)
    service.lifecycle.complete_job(job.job_id, "results/r.json")
    lost = lose(stores, "TransactWriteItems")
    answer = client.request("POST", f"/api/v1/jobs/{job.job_id}/feedback", json_body={"rating": 4})
    assert lost.lost == 1
    assert answer.status == 201, answer.body
    assert [entry.rating for entry in service.feedback.list_feedback(OWNER, job.job_id)] == [4]


# -- every attempt times out: the write is read back before its blob is touched -------------


def _job_blobs(blobs: S3BlobStore) -> list[str]:
    listed = blobs.client.list_objects_v2(Bucket=blobs.bucket, Prefix="blueprints/")
    return [str(item["Key"]) for item in listed.get("Contents", [])]


def test_a_create_whose_first_attempt_landed_and_every_answer_was_lost(
    client: Client, stores: Any
) -> None:
    jobs, blobs = stores
    slow = Slow([LOST, TIMEOUT, TIMEOUT]).install(jobs.table.client, "TransactWriteItems")
    created = client.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=png()
    )
    assert slow.calls == 3  # botocore's three attempts, all unanswered
    assert created.status == 201, created.body
    assert _job_blobs(blobs) == [created.data["blueprint_s3_key"]]


def test_a_create_that_never_landed_removes_its_blob(client: Client, stores: Any) -> None:
    jobs, blobs = stores
    Slow([TIMEOUT]).install(jobs.table.client, "TransactWriteItems")
    created = client.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=png()
    )
    assert created.status == 503, created.body
    assert _job_blobs(blobs) == []


def test_a_blob_is_kept_when_the_jobs_write_cannot_be_settled(client: Client, stores: Any) -> None:
    jobs, blobs = stores
    client.request("GET", f"/api/v1/jobs/{UNKNOWN}")  # the caller's key is known from now on
    Slow([LOST, TIMEOUT, TIMEOUT], times=3).install(jobs.table.client, "TransactWriteItems")
    dark = Slow([TIMEOUT]).install(jobs.table.client, "GetItem")  # the read that would tell
    created = client.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=png()
    )
    assert created.status == 503, created.body
    (kept,) = _job_blobs(blobs)  # its job exists: deleting the blob would break it
    dark.stop()
    job_id = kept.split("/")[1]
    assert jobs.table.client.get_item(
        TableName=jobs.table.name, Key={"pk": {"S": job_id}, "sk": {"S": "JOB"}}
    )["Item"]


# -- transactions DynamoDB answers "in progress" or cancels as throttled -------------------


def _upload(client: Client, stores: Any) -> str:
    opened = client.request(
        "POST", "/api/v1/uploads", json_body={"format": "pdf", "size_bytes": len(pdf())}
    ).data
    stores[1].put(opened["fields"]["key"], [pdf()], len(pdf()))
    return str(opened["upload_id"])


def test_a_transaction_still_in_progress_that_lands_is_the_job(client: Client, stores: Any) -> None:
    upload_id = _upload(client, stores)
    lose(stores, "TransactWriteItems")  # the first attempt lands, its answer is lost
    Fault("dynamodb", "TransactionInProgressException", 400).install(
        stores[0].table.client, "TransactWriteItems"
    )
    created = client.request("POST", "/api/v1/jobs", json_body={"upload_id": upload_id})
    assert created.status == 201, created.body
    assert stores[1].size(created.data["blueprint_s3_key"]) == len(pdf())


def test_a_transaction_still_in_progress_keeps_its_blob(client: Client, stores: Any) -> None:
    """It may land after any read: the blob stays, and the answer is 503."""
    upload_id = _upload(client, stores)
    Fault("dynamodb", "TransactionInProgressException", 400).install(
        stores[0].table.client, "TransactWriteItems"
    )
    created = client.request("POST", "/api/v1/jobs", json_body={"upload_id": upload_id})
    assert created.status == 503, created.body
    assert created.headers["retry-after"]
    assert len(_job_blobs(stores[1])) == 1


@pytest.mark.parametrize("reason", ["ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_transaction_cancelled_as_throttled_is_503(
    client: Client, service: UseCases, stores: Any, reason: str
) -> None:
    upload_id = _upload(client, stores)
    fault = Fault("dynamodb", "TransactionCanceledException", 400)
    fault.cancellation = ["None", reason]
    fault.install(stores[0].table.client, "TransactWriteItems")
    created = client.request("POST", "/api/v1/jobs", json_body={"upload_id": upload_id})
    assert created.status == 503, created.body
    assert _job_blobs(stores[1]) == []  # it did not land: the copy is gone
    FAULTS.remove(fault)  # making and finishing a job are transactions too
    job = service.intake.create_job([png()], ORIGIN)
    service.lifecycle.start_processing(job.job_id)
    service.lifecycle.complete_job(job.job_id, "results/r.json")
    fault.cancellation = ["None", "None", reason]
    FAULTS.append(fault)
    rated = client.request("POST", f"/api/v1/jobs/{job.job_id}/feedback", json_body={"rating": 4})
    assert rated.status == 503, rated.body


def test_an_upload_taken_while_its_transaction_kept_conflicting_is_already_used(
    client: Client, stores: Any
) -> None:
    """A request that lost every attempt to conflicts, while another made the session's job,
    is told what happened (409 UPLOAD_ALREADY_USED), as the session's condition would say."""
    jobs, _ = stores
    upload_id = _upload(client, stores)
    winner = "job_01jdz5k3a1b2c3d4e5f6g7h8j9"

    def someone_else_wins(event_name: str, request: Any, carry_out: Any) -> Any:
        if event_name != "before-send.dynamodb.TransactWriteItems":
            return None
        jobs.table.client.update_item(
            TableName=jobs.table.name,
            Key={"pk": {"S": upload_id}, "sk": {"S": "UPLOAD"}},
            UpdateExpression="SET job_id = :j",
            ExpressionAttributeValues={":j": {"S": winner}},
        )
        return conflict(event_name, request, carry_out)

    conflict = Fault("dynamodb", "TransactionCanceledException", 400)
    conflict.cancellation = ["None", "TransactionConflict"]
    conflict.event = "before-send.dynamodb.TransactWriteItems"
    FAULTS.append(someone_else_wins)
    created = client.request("POST", "/api/v1/jobs", json_body={"upload_id": upload_id})
    assert created.status == 409, created.body
    assert created.error["code"] == "UPLOAD_ALREADY_USED"
    assert created.error["details"]["job_id"] == winner
    assert _job_blobs(stores[1]) == []  # the loser's copy is gone


# -- the store's transactions with an owner's count ------------------------------------------

EXPIRES = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def test_an_unfinished_job_whose_transaction_landed_is_counted_once(stores: Any) -> None:
    jobs, _ = stores
    job = a_job()
    lost = lose(stores, "TransactWriteItems")
    jobs.add(job, unfinished_limit=1)  # the retry meets the job, and the count at the limit
    assert lost.lost == 1
    assert (jobs.get(job.job_id), jobs.unfinished_jobs(OWNER)) == (job, 1)


def test_a_finishing_save_whose_transaction_landed_releases_once(stores: Any) -> None:
    jobs, _ = stores
    job, other = a_job(), a_job()
    jobs.add(job)
    jobs.add(other)
    cancelled = job.cancel(job.created_at)
    lost = lose(stores, "TransactWriteItems")
    jobs.save(cancelled, expected_version=1)  # the retry meets a version that moved on
    assert lost.lost == 1
    assert (jobs.get(job.job_id), jobs.unfinished_jobs(OWNER)) == (cancelled, 1)


def test_a_job_from_an_upload_whose_transaction_landed_at_the_limit(stores: Any) -> None:
    jobs, _ = stores
    session, job = a_session(), a_job()
    jobs.add_upload(session)
    lost = lose(stores, "TransactWriteItems")
    jobs.add_job_from_upload(job, session.upload_id, unfinished_limit=1)
    assert lost.lost == 1
    assert (jobs.get(job.job_id), jobs.unfinished_jobs(OWNER)) == (job, 1)
    assert jobs.get_upload(session.upload_id).job_id == job.job_id


def test_a_rate_hit_whose_answer_was_lost_may_count_twice_never_one_more(stores: Any) -> None:
    """The documented trade-off: the retry counts again, so a request may be refused early;
    none is let through past the quota."""
    jobs, _ = stores
    counter = DynamoDBRateCounter(jobs.table)
    lost = lose(stores, "UpdateItem")
    assert counter.hit("c", 2, EXPIRES) == 2
    assert lost.lost == 1
    assert counter.hit("c", 2, EXPIRES) is None
