"""The deadline guard: an AWS call that might not end before the request must answer is not
made, and the error that says so comes out of botocore and PynamoDB as itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from pynamodb.exceptions import PutError

from adapters.aws import (
    DYNAMODB_POLICY,
    FINISHING_RESERVE_SECONDS,
    S3_POLICY,
    AttemptGuard,
    finishing,
    raise_translated,
)
from adapters.dynamodb import DynamoDBIdempotencyStore, DynamoDBJobStore
from adapters.s3 import S3BlobStore
from domain.errors import DeadlineExceeded, ServiceUnavailable
from domain.idempotency import IdempotencyRecord
from tests.aws import BUCKET, REGION, TABLE, moto_in_process, new_blob_store, new_job_store
from tests.blueprints import pdf
from tests.fakes import START
from tests.faults import Slow

JOB = "job_01jdz5k3a1b2c3d4e5f6g7h8j9"
PUT_ITEM = "before-send.dynamodb.PutItem"


# -- the guard ------------------------------------------------------------------------------


def dynamodb_guard(left: float | None) -> AttemptGuard:
    return AttemptGuard(lambda: left, DYNAMODB_POLICY, reserve=FINISHING_RESERVE_SECONDS)


def s3_guard(left: float | None) -> AttemptGuard:
    return AttemptGuard(
        lambda: left,
        S3_POLICY,
        reserve=FINISHING_RESERVE_SECONDS,
        finishing_reserve=DYNAMODB_POLICY.attempt_seconds,
    )


def test_the_reserve_holds_one_attempt_of_each_finishing_call() -> None:
    assert DYNAMODB_POLICY.attempt_seconds == 3.0
    assert S3_POLICY.attempt_seconds == 4.0
    assert FINISHING_RESERVE_SECONDS == 7.0


def test_the_guard_refuses_an_attempt_that_would_eat_into_the_reserve() -> None:
    with pytest.raises(DeadlineExceeded) as refused:
        dynamodb_guard(9.9)(event_name=PUT_ITEM)
    assert isinstance(refused.value, ServiceUnavailable)  # answered as any 503 is
    assert refused.value.code == "SERVICE_UNAVAILABLE"
    assert refused.value.retry_after == 1
    assert "PutItem" in refused.value.message
    with pytest.raises(DeadlineExceeded):
        s3_guard(10.9)(event_name="before-send.s3.PutObject")
    with pytest.raises(DeadlineExceeded):
        dynamodb_guard(-1.0)()


def test_the_guard_lets_an_attempt_that_fits() -> None:
    dynamodb_guard(10.0)(event_name=PUT_ITEM)
    s3_guard(11.0)(event_name="before-send.s3.PutObject")


def test_finishing_calls_may_use_the_reserve() -> None:
    with finishing():
        dynamodb_guard(3.0)(event_name="before-send.dynamodb.DeleteItem")
        with pytest.raises(DeadlineExceeded):
            dynamodb_guard(2.9)(event_name="before-send.dynamodb.DeleteItem")
        # A blob's removal comes before the key's release, and leaves it its attempt.
        s3_guard(7.0)(event_name="before-send.s3.DeleteObject")
        with pytest.raises(DeadlineExceeded):
            s3_guard(6.9)(event_name="before-send.s3.DeleteObject")
    with pytest.raises(DeadlineExceeded):  # outside ``finishing`` the reserve is kept
        dynamodb_guard(3.0)(event_name="before-send.dynamodb.DeleteItem")


def test_without_a_deadline_every_attempt_goes() -> None:
    dynamodb_guard(None)(event_name=PUT_ITEM)
    with finishing():
        s3_guard(None)(event_name="before-send.s3.DeleteObject")


def test_a_deadline_wrapped_by_a_library_comes_out_as_itself() -> None:
    expired = DeadlineExceeded("no time left")

    def put() -> None:
        try:
            raise PutError("Failed to put item", expired)  # PynamoDB keeps it as the cause
        except PutError as error:
            raise_translated(error, "The job store")

    with pytest.raises(DeadlineExceeded) as caught:
        put()
    assert caught.value is expired


# -- the guard on real clients ----------------------------------------------------------------


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with moto_in_process(monkeypatch):
        yield


def dynamodb() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def s3() -> Any:
    return boto3.client("s3", region_name=REGION)


def test_a_refused_attempt_is_never_sent_and_is_a_deadline_error(moto: None) -> None:
    new_job_store()
    new_blob_store()
    jobs = DynamoDBJobStore(TABLE, region=REGION, guard=dynamodb_guard(2.0))
    blobs = S3BlobStore(lambda: boto3.client("s3", region_name=REGION), BUCKET, guard=s3_guard(2.0))
    sent = [
        Slow().install(jobs.client),
        Slow().install(blobs.client),
    ]
    record = IdempotencyRecord.claim("a" * 64, "t", START)
    refused = [
        lambda: jobs.get(JOB),
        lambda: jobs.find_completed_by_hash("e" * 64),
        lambda: DynamoDBIdempotencyStore(jobs).claim(record, START),
        lambda: DynamoDBIdempotencyStore(jobs).release(record.scope, "t"),
        jobs.ping,
        lambda: blobs.put("blueprints/x/source.pdf", [pdf()], 100),
        lambda: blobs.size("blueprints/x/source.pdf"),
        lambda: blobs.delete("blueprints/x/source.pdf"),
    ]
    for call in refused:
        with pytest.raises(DeadlineExceeded):
            call()
    assert [slow.calls for slow in sent] == [0, 0]


def test_a_multipart_put_that_runs_out_of_time_is_aborted(moto: None) -> None:
    new_blob_store()
    left = [30.0]
    guard = AttemptGuard(lambda: left[0], S3_POLICY, reserve=FINISHING_RESERVE_SECONDS)
    blobs = S3BlobStore(
        boto3.client("s3", region_name=REGION), BUCKET, part_bytes=5 * 1024 * 1024, guard=guard
    )

    def chunks() -> Iterator[bytes]:
        yield pdf() + b"\x00" * (5 * 1024 * 1024)
        left[0] = 9.0  # the first part took long: no time for the next one
        yield b"\x00" * 1024

    with pytest.raises(DeadlineExceeded):
        blobs.put("blueprints/x/source.pdf", chunks(), 50 * 1024 * 1024)
    # The abort is a finishing call: it had the reserve.
    assert s3().list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_the_guard_follows_a_client_made_anew(moto: None) -> None:
    """PynamoDB makes a new client if its first found no credentials: it is guarded too."""
    new_job_store()
    jobs = DynamoDBJobStore(TABLE, region=REGION, guard=dynamodb_guard(2.0))
    with pytest.raises(DeadlineExceeded):
        jobs.get(JOB)
    jobs._connection._client = None  # as PynamoDB does when it makes a new one
    with pytest.raises(DeadlineExceeded):
        jobs.get(JOB)
