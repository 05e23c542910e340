"""Idempotency-Key on creating jobs and upload sessions, on both entrypoints."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.dynamodb import DynamoDBIdempotencyStore, DynamoDBJobStore
from adapters.memory import MemoryBlobStore, MemoryIdempotencyStore, MemoryJobStore
from adapters.s3 import S3BlobStore
from domain.errors import ServiceUnavailable
from domain.use_cases import UseCases
from entrypoints.http.idempotency import parse_key, scope_of
from entrypoints.http.resources import API_ROUTES
from ports.idempotency import IN_FLIGHT_LEASE, RECORD_TTL, IdempotencyRecord
from tests.aws import BUCKET, FAULTS, moto_in_process, new_blob_store, new_job_store
from tests.blueprints import jpeg, png
from tests.fakes import OWNER, SeededEntropy, SteppingClock, UnknownOutcomeJobStore
from tests.faults import LOST, Fault, Slow
from tests.helpers import SETTINGS, assert_error, use_cases_over
from tests.http.clients import CLIENTS, Client, Reply

KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"


def post(client: Client, data: bytes = b"", key: str = KEY, **headers: str) -> Reply:
    return client.request(
        "POST",
        "/api/v1/jobs",
        headers={"Content-Type": "image/png", "Idempotency-Key": key, **headers},
        body=data or png(),
    )


def test_a_retry_replays_the_first_response(client: Client, jobs: MemoryJobStore) -> None:
    first = post(client)
    again = post(client)
    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert len(jobs.job_ids()) == 1


def test_a_quoted_key_is_the_same_key(client: Client, jobs: MemoryJobStore) -> None:
    post(client, key=KEY)
    assert post(client, key=f'"{KEY}"').headers["idempotent-replayed"] == "true"
    assert len(jobs.job_ids()) == 1


def test_another_body_under_the_key_is_refused_and_creates_nothing(
    client: Client, jobs: MemoryJobStore, blobs: MemoryBlobStore
) -> None:
    post(client)
    reply = client.request(
        "POST",
        "/api/v1/jobs",
        headers={"Content-Type": "image/jpeg", "Idempotency-Key": KEY},
        body=jpeg(),
    )
    assert_error(reply, 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(jobs.job_ids()) == 1
    assert len(blobs.keys()) == 1


def test_a_request_in_flight_blocks_its_retries(
    client: Client, idempotency: MemoryIdempotencyStore, clock: SteppingClock, jobs: MemoryJobStore
) -> None:
    # A first request holds the key and never finishes (its process crashed).
    now = clock.now()
    idempotency.claim(
        IdempotencyRecord.claim(scope_of(OWNER, "jobs", "v1", KEY), "crashed", now), now
    )
    reply = post(client)
    assert_error(reply, 409, "IDEMPOTENCY_KEY_IN_USE")
    assert reply.headers["retry-after"] == "1"
    assert jobs.job_ids() == []
    clock.set(now + IN_FLIGHT_LEASE)  # its lease runs out: the key is usable again
    assert post(client).status == 201


def test_an_expired_record_lets_the_key_start_a_new_job(
    client: Client, clock: SteppingClock, jobs: MemoryJobStore
) -> None:
    first = post(client).data["job_id"]
    clock.set(clock.now() + RECORD_TTL)
    second = post(client)
    assert second.status == 201
    assert "idempotent-replayed" not in second.headers
    assert second.data["job_id"] != first
    assert len(jobs.job_ids()) == 2


def test_a_refused_request_releases_the_key(client: Client, jobs: MemoryJobStore) -> None:
    assert_error(post(client, b"not a blueprint"), 400, "INVALID_FILE_FORMAT")
    assert post(client).status == 201
    assert len(jobs.job_ids()) == 1


def test_keys_are_per_route_and_version(client: Client, jobs: MemoryJobStore) -> None:
    post(client)
    v2 = client.request(
        "POST",
        "/api/v2/jobs",
        headers={"Content-Type": "image/png", "Idempotency-Key": KEY},
        body=png(),
    )
    assert v2.status == 201
    assert "idempotent-replayed" not in v2.headers
    upload = client.request(
        "POST",
        "/api/v1/uploads",
        headers={"Idempotency-Key": KEY},
        json_body={"format": "png", "size_bytes": 10},
    )
    assert upload.status == 201
    assert "idempotent-replayed" not in upload.headers


def test_upload_sessions_are_idempotent(client: Client) -> None:
    body = {"format": "pdf", "size_bytes": 1000}
    first = client.request(
        "POST", "/api/v1/uploads", headers={"Idempotency-Key": KEY}, json_body=body
    )
    again = client.request(
        "POST", "/api/v1/uploads", headers={"Idempotency-Key": KEY}, json_body=body
    )
    assert again.body == first.body
    assert again.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("key", ["", '""', "has space", "é", "x" * 256, "tab\there"])
def test_malformed_keys(client: Client, key: str) -> None:
    details = assert_error(post(client, key=key), 400, "INVALID_REQUEST_BODY")
    assert details["field"] == "Idempotency-Key"


def test_scopes_are_stable_across_releases() -> None:
    """Records are found by these digests for 24 hours: a release must not change them. The
    values are those the service writes since keys are scoped per owner (its routes are named
    "jobs" and "uploads"); one owner's key is never another's."""
    assert scope_of("owner-a", "jobs", "v1", "k") == (
        "a9d126fb4024ccf0a2ef0cf25740552a5b93e932c886fee25011103fe8a05ea2"
    )
    assert scope_of("owner-a", "uploads", "v2", "k") == (
        "7e8cb447697eca68f669bf2d7134241e3a203da589d6424c3087f3a57ca93893"
    )
    assert scope_of("owner-b", "jobs", "v1", "k") != scope_of("owner-a", "jobs", "v1", "k")
    creating = {
        op.idempotency_scope
        for route in API_ROUTES
        for op in route.operations.values()
        if op.idempotency_scope
    }
    assert creating == {"jobs", "uploads"}


def test_key_parsing() -> None:
    assert parse_key(' "abc" ') == "abc"
    assert parse_key("x" * 255) == "x" * 255
    assert parse_key('"') == '"'


# -- sixteen clients at once -----------------------------------------------------------------


@pytest.fixture(params=["memory", "dynamodb"])
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, Any, Any]]:
    if request.param == "memory":
        jobs, blobs = MemoryJobStore(), MemoryBlobStore()
        yield jobs, blobs, MemoryIdempotencyStore()
        return
    with moto_in_process(monkeypatch):
        dynamo = new_job_store()
        yield dynamo, new_blob_store(), DynamoDBIdempotencyStore(dynamo.table)


def _count(jobs: Any, blobs: Any) -> tuple[int, int]:
    if isinstance(jobs, DynamoDBJobStore):
        items = jobs.table.client.scan(TableName=jobs.table.name)["Items"]
        job_count = sum(1 for item in items if item["sk"]["S"] == "JOB")
    else:
        job_count = len(jobs.job_ids())
    if isinstance(blobs, S3BlobStore):
        blob_count = len(blobs.client.list_objects_v2(Bucket=BUCKET).get("Contents", []))
    else:
        blob_count = len(blobs.keys())
    return job_count, blob_count


@pytest.mark.parametrize("entrypoint", sorted(CLIENTS))
def test_sixteen_identical_requests_at_once_make_one_job(
    backend: tuple[Any, Any, Any], entrypoint: str
) -> None:
    jobs, blobs, store = backend
    service = use_cases_over(jobs, blobs, SteppingClock(), SeededEntropy())
    client = CLIENTS[entrypoint](service, SETTINGS, None, store)
    barrier = threading.Barrier(16)
    replies: list[Reply] = []
    errors: list[BaseException] = []

    def send() -> None:
        barrier.wait()
        try:
            replies.append(post(client))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(replies) == 16
    created = [r for r in replies if r.status == 201]
    in_use = [r for r in replies if r.status == 409]
    assert len(created) + len(in_use) == 16
    assert created
    assert len({r.body for r in created}) == 1
    assert all(r.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE" for r in in_use)
    assert _count(jobs, blobs) == (1, 1)


# -- a claim whose answer was lost -----------------------------------------------------------


@pytest.fixture
def on_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DynamoDBJobStore, Any]]:
    with moto_in_process(monkeypatch):
        jobs = new_job_store()
        yield jobs, new_blob_store()


@pytest.mark.parametrize("entrypoint", sorted(CLIENTS))
def test_a_claim_retried_after_its_answer_was_lost_is_ours(
    on_dynamodb: tuple[DynamoDBJobStore, Any], entrypoint: str
) -> None:
    """The claim is written but its answer never comes; botocore retries the write, which
    now finds a claim in the way: this request's own."""
    jobs, blobs = on_dynamodb
    lost = Slow([LOST], times=1).install(jobs.table.client, "PutItem")
    service = use_cases_over(jobs, blobs, SteppingClock(), SeededEntropy())
    client = CLIENTS[entrypoint](service, SETTINGS, None, DynamoDBIdempotencyStore(jobs.table))
    first = post(client)
    assert lost.calls == 1
    assert first.status == 201, first.body
    assert post(client).headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("entrypoint", sorted(CLIENTS))
def test_a_claim_that_failed_after_it_was_written_is_released(
    on_dynamodb: tuple[DynamoDBJobStore, Any], entrypoint: str
) -> None:
    jobs, blobs = on_dynamodb
    Slow([LOST], times=1).install(jobs.table.client, "PutItem")
    Fault("dynamodb", "InternalServerError", 500).install(jobs.table.client, "PutItem")
    service = use_cases_over(jobs, blobs, SteppingClock(), SeededEntropy())
    client = CLIENTS[entrypoint](service, SETTINGS, None, DynamoDBIdempotencyStore(jobs.table))
    assert_error(post(client), 503, "SERVICE_UNAVAILABLE")
    FAULTS.clear()
    assert post(client).status == 201  # not 409: the claim written was let go


class UnreleasableStore(MemoryIdempotencyStore):
    def release(self, scope: str, token: str) -> None:
        raise ServiceUnavailable("the table is down")


def test_a_failed_release_does_not_change_the_answer(
    service: UseCases, caplog: pytest.LogCaptureFixture
) -> None:
    client = CLIENTS["lambda"](service, SETTINGS, None, UnreleasableStore())
    refused = post(client, b"not a blueprint")
    assert_error(refused, 400, "INVALID_FILE_FORMAT")  # the refusal, not the release's 503
    assert "could not release an idempotency key" in caplog.text


class UncompletableStore(MemoryIdempotencyStore):
    """Claims keys but cannot record a response: the store went away after the job's write."""

    def complete(self, record: IdempotencyRecord) -> bool:
        raise ServiceUnavailable("idempotency store down")


def test_a_job_made_is_answered_even_if_its_response_cannot_be_recorded(
    service: UseCases, clock: SteppingClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = UncompletableStore()
    client = CLIENTS["lambda"](service, SETTINGS, clock, store)
    made = post(client)
    assert made.status == 201, made.body  # the job exists: its answer is the client's
    assert "could not record an idempotent response" in caplog.text
    # The claim stays: a retry within the lease waits rather than making a second job.
    assert_error(post(client), 409, "IDEMPOTENCY_KEY_IN_USE")


def test_a_job_whose_write_has_an_unknown_outcome_keeps_its_key_claimed(
    clock: SteppingClock,
) -> None:
    jobs = UnknownOutcomeJobStore(lands=True)
    service = use_cases_over(jobs, MemoryBlobStore(), clock, SeededEntropy())
    client = CLIENTS["falcon"](service, SETTINGS, clock, MemoryIdempotencyStore())
    assert_error(post(client), 503, "SERVICE_UNAVAILABLE")
    # The job may exist (here it does): a retry under the key must not make another.
    assert_error(post(client), 409, "IDEMPOTENCY_KEY_IN_USE")
    assert len(jobs.attempted) == 1
