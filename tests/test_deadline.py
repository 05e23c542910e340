"""Every request is bounded by a deadline: the Lambda's remaining time (less a margin to
answer) or the configured budget. An AWS call that might not end in time is not made; the
request answers 503 with Retry-After and gives back what it holds.

Time here is a fake monotonic clock that the slow fake endpoint advances (tests/faults.py
``Slow``), and botocore's backoff passes on it too: nothing waits, nothing depends on the
machine's speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from attrs import evolve
from botocore.retries.standard import ExponentialBackoff
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError

from adapters.aws import (
    DYNAMODB_POLICY,
    FINISHING_RESERVE_SECONDS,
    S3_POLICY,
    AttemptGuard,
    finishing,
    raise_translated,
)
from adapters.dynamodb import (
    DynamoDBApiKeyStore,
    DynamoDBIdempotencyStore,
    DynamoDBJobStore,
    DynamoDBRateCounter,
    Table,
)
from adapters.memory import MemoryApiKeyStore, MemoryBlobStore, MemoryJobStore, MemoryRateCounter
from adapters.s3 import S3BlobStore
from adapters.system import OsEntropy, SystemClock
from domain.errors import DeadlineExceeded, ServiceUnavailable
from domain.job import Job
from domain.use_cases import UseCases
from entrypoints import deadline
from entrypoints.aws import MIN_REQUEST_BUDGET_SECONDS, aws_components, init_storage
from entrypoints.lambda_api import ANSWER_MARGIN_SECONDS, to_request
from entrypoints.settings import LOCAL_CORS_ORIGINS, Settings
from ports.idempotency import IdempotencyRecord
from tests.aws import BUCKET, REGION, TABLE, moto_in_process, new_blob_store, new_job_store
from tests.blueprints import pdf, png
from tests.fakes import START, FakeMonotonic, SeededEntropy, SteppingClock
from tests.faults import ANSWER, TIMEOUT, Slow
from tests.helpers import OWNER, UNKNOWN, assert_error
from tests.http.clients import (
    CLIENTS,
    Client,
    FakeLambdaContext,
    FalconClient,
    LambdaClient,
    Reply,
    api_gateway_event,
)

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
    jobs = DynamoDBJobStore(Table.build(TABLE, region=REGION, guard=dynamodb_guard(2.0)))
    blobs = S3BlobStore(lambda: boto3.client("s3", region_name=REGION), BUCKET, guard=s3_guard(2.0))
    sent = [
        Slow().install(jobs.table.client),
        Slow().install(blobs.client),
    ]
    record = IdempotencyRecord.claim("a" * 64, "t", START)
    refused = [
        lambda: jobs.get(JOB),
        lambda: jobs.find_completed_by_hash(OWNER, "e" * 64),
        lambda: jobs.list_jobs(OWNER, None, 10, None),
        lambda: DynamoDBRateCounter(jobs.table).hit("c", 1, START),
        lambda: DynamoDBApiKeyStore(jobs.table).find_key("0" * 64),
        lambda: DynamoDBIdempotencyStore(jobs.table).claim(record, START),
        lambda: DynamoDBIdempotencyStore(jobs.table).release(record.scope, "t"),
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


class RenewingConnection(Connection):
    """Makes a new botocore client when told to, as PynamoDB's connection does when the client
    it had found no credentials."""

    def __init__(self, region: str) -> None:
        super().__init__(region=region)
        self.made: list[Any] = []
        self.renew()

    def renew(self) -> None:
        self.made.append(self.session.create_client("dynamodb", self.region))

    @property
    def client(self) -> Any:
        return self.made[-1]


def test_the_guard_follows_a_client_made_anew(moto: None) -> None:
    """PynamoDB makes a new client if its first found no credentials: it is guarded too."""
    new_job_store()
    connection = RenewingConnection(REGION)
    jobs = DynamoDBJobStore(Table.on(connection, TABLE, guard=dynamodb_guard(2.0)))
    with pytest.raises(DeadlineExceeded):
        jobs.get(JOB)
    connection.renew()
    with pytest.raises(DeadlineExceeded):
        jobs.get(JOB)
    assert len(connection.made) == 2


# -- the request's deadline ---------------------------------------------------------------


KEY = "3d0f6c1e-deadline"


def test_a_lambda_leaves_room_for_work_and_the_reserve() -> None:
    assert MIN_REQUEST_BUDGET_SECONDS == 11.0
    assert 29.0 - ANSWER_MARGIN_SECONDS >= MIN_REQUEST_BUDGET_SECONDS


def test_outside_a_request_there_is_no_deadline() -> None:
    assert deadline.remaining() is None
    fake = FakeMonotonic()
    token = deadline.start(5.0, fake)
    fake.advance(2.0)
    assert deadline.remaining() == 3.0
    deadline.finish(token)
    assert deadline.remaining() is None


def test_the_lambda_leaves_a_margin_to_answer() -> None:
    fake = FakeMonotonic()
    event = api_gateway_event("GET", "/health", {}, b"")
    request = to_request(event, FakeLambdaContext(fake, timeout_seconds=29.0))
    assert request.budget_seconds == 29.0 - ANSWER_MARGIN_SECONDS
    assert to_request(event, None).budget_seconds is None


def memory_service(jobs: MemoryJobStore) -> UseCases:
    clock = SteppingClock()
    return UseCases.over(
        jobs,
        MemoryBlobStore(),
        clock,
        SeededEntropy(),
        keys=MemoryApiKeyStore(),
        counter=MemoryRateCounter(clock),
    )


class TimedJobStore(MemoryJobStore):
    """Notes the time left to the request's deadline when it is read."""

    def __init__(self) -> None:
        super().__init__()
        self.left: list[float | None] = []

    def get(self, job_id: str) -> Job:
        self.left.append(deadline.remaining())
        return super().get(job_id)


@pytest.mark.parametrize(
    ("entrypoint", "budget", "expected"),
    [
        ("falcon", 12.0, 12.0),
        ("lambda", 29.0, 10.0 - ANSWER_MARGIN_SECONDS),  # the function's time is nearer
        ("lambda", 5.0, 5.0),  # the configured budget is nearer
    ],
)
def test_each_request_has_the_nearer_of_the_platforms_limit_and_the_budget(
    entrypoint: str, budget: float, expected: float
) -> None:
    fake = FakeMonotonic()
    jobs = TimedJobStore()
    service = memory_service(jobs)
    settings = Settings(request_budget_seconds=budget)
    if entrypoint == "lambda":
        client: Client = LambdaClient(service, settings, monotonic=fake, timeout_seconds=10.0)
    else:
        client = FalconClient(service, settings, monotonic=fake)
    assert client.request("GET", f"/api/v1/jobs/{UNKNOWN}").status == 404
    assert jobs.left == [expected]
    assert deadline.remaining() is None  # unbound when the request is answered


# -- a slow endpoint, through both entrypoints ---------------------------------------------

BUDGET = 29.0 - ANSWER_MARGIN_SECONDS  # what the Lambda's 29 s timeout leaves


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    clock = FakeMonotonic()

    def backoff(self: ExponentialBackoff, context: Any) -> float:
        # botocore waits before a retry; here the longest wait it may choose (the throttling
        # schedule's, 1 s then 2 s) passes on the fake clock instead.
        clock.advance(min(2.0 ** (context.attempt_number - 1), 20.0))
        return 0.0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", backoff)
    return clock


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    with moto_in_process(monkeypatch):
        settings = Settings(
            storage="aws",
            cors_origins=LOCAL_CORS_ORIGINS,
            table=TABLE,
            bucket=BUCKET,
            region=REGION,
            request_budget_seconds=BUDGET,
        )
        init_storage(settings)
        yield settings


def client_for(entrypoint: str, settings: Settings, fake: FakeMonotonic) -> Client:
    """Built by the composition root, as in production, on the fake clock."""
    service, idempotency = aws_components(settings, SystemClock(), OsEntropy())
    if entrypoint == "lambda":
        # The function's remaining time decides; the budget is left at its default.
        default = evolve(settings, request_budget_seconds=Settings().request_budget_seconds)
        return LambdaClient(
            service, default, None, idempotency, monotonic=fake, timeout_seconds=29.0
        )
    return FalconClient(service, settings, None, idempotency, monotonic=fake)


def blueprint_keys() -> list[str]:
    listed = s3().list_objects_v2(Bucket=BUCKET, Prefix="blueprints/").get("Contents", [])
    return [entry["Key"] for entry in listed]


def items(kind: str) -> int:
    found = dynamodb().scan(TableName=TABLE)["Items"]
    return sum(1 for item in found if item["sk"]["S"] == kind)


def assert_unavailable_in_time(reply: Reply, spent: float) -> None:
    assert assert_error(reply, 503, "SERVICE_UNAVAILABLE") == {}
    assert reply.headers["retry-after"] == "1"
    assert reply.json()["meta"]["request_id"] == reply.headers["x-request-id"]
    assert spent <= BUDGET


def create(client: Client) -> Reply:
    return client.request(
        "POST",
        "/api/v1/jobs",
        headers={"Content-Type": "image/png", "Idempotency-Key": KEY},
        body=png(),
    )


@pytest.mark.parametrize("entrypoint", sorted(CLIENTS))
def test_an_inline_create_that_runs_out_of_time(
    aws: Settings, fake: FakeMonotonic, entrypoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(entrypoint, aws, fake)
    # Writes wait their full timeout, and every other one gets no answer: the key's claim is
    # retried once (7 s with the backoff), the blueprint's put too (9 s), the job's write (a
    # transaction with its owner's count) times out (3 s) and after the backoff the 8 s left
    # are the reserve: no time to retry.
    writes = Slow([TIMEOUT, ANSWER], seconds=3.0, clock=fake).install(dynamodb(), "PutItem")
    job = Slow([TIMEOUT], seconds=3.0, clock=fake).install(dynamodb(), "TransactWriteItems")
    puts = Slow([TIMEOUT, ANSWER], seconds=4.0, clock=fake).install(s3(), "PutObject")
    started = fake()
    reply = create(client)
    assert_unavailable_in_time(reply, fake() - started)
    assert (writes.calls, job.calls, puts.calls) == (2, 1, 2)
    assert "request out of time: The job store was not called (TransactWriteItems)" in caplog.text
    # In the reserve: the blueprint written is removed, the key released.
    assert blueprint_keys() == []
    assert (items("JOB"), items("IDEMPOTENCY")) == (0, 0)

    writes.stop()
    job.stop()
    puts.stop()
    again = create(client)
    assert again.status == 201, again.body
    assert "idempotent-replayed" not in again.headers
    assert blueprint_keys() == [again.data["blueprint_s3_key"]]
    assert (items("JOB"), items("IDEMPOTENCY")) == (1, 1)


@pytest.mark.parametrize("entrypoint", sorted(CLIENTS))
def test_a_create_from_an_upload_that_runs_out_of_time(
    aws: Settings, fake: FakeMonotonic, entrypoint: str
) -> None:
    client = client_for(entrypoint, aws, fake)
    opened = client.request(
        "POST", "/api/v1/uploads", json_body={"format": "png", "size_bytes": len(png())}
    )
    assert opened.status == 201
    s3().put_object(Bucket=BUCKET, Key=opened.data["fields"]["key"], Body=png())
    body = {"upload_id": opened.data["upload_id"]}
    # Every call is answered just before its timeout. The owner's quota, the claim, the
    # session, the copy, its size and its signature take 19.5 s; hashing it would pass into
    # the reserve, so it is not started: the copy is removed and the key released.
    calls = [
        Slow(seconds=3.0, clock=fake).install(dynamodb()),
        Slow(seconds=3.5, clock=fake).install(s3()),
    ]
    started = fake()
    reply = client.request("POST", "/api/v1/jobs", headers={"Idempotency-Key": KEY}, json_body=body)
    assert_unavailable_in_time(reply, fake() - started)
    # quota, claim, session, release; copy, size, signature, delete
    assert [slow.calls for slow in calls] == [4, 4]
    assert blueprint_keys() == []
    assert (items("JOB"), items("IDEMPOTENCY")) == (0, 0)

    for slow in calls:
        slow.stop()
    again = client.request("POST", "/api/v1/jobs", headers={"Idempotency-Key": KEY}, json_body=body)
    assert again.status == 201, again.body
    assert blueprint_keys() == [again.data["blueprint_s3_key"]]
    assert (items("JOB"), items("IDEMPOTENCY")) == (1, 1)


def test_memory_storage_pays_no_attention_to_the_deadline(fake: FakeMonotonic) -> None:
    service = memory_service(MemoryJobStore())
    client = LambdaClient(service, Settings(), monotonic=fake, timeout_seconds=0.5)
    assert create(client).status == 201
