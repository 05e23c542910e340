"""What only the AWS adapters have: multipart uploads, checksums, faults and retries."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.aws import DYNAMODB_POLICY, S3_POLICY
from adapters.dynamodb import DynamoDBApiKeyStore, DynamoDBJobStore, DynamoDBRateCounter, Table
from adapters.s3 import S3BlobStore
from domain import api_keys
from domain.api_keys import ApiKey
from domain.errors import ServiceUnavailable
from domain.job import JobStatus
from domain.principals import JOBS_READ
from domain.use_cases import UseCases
from tests.aws import BUCKET, dynamodb_use_cases, moto_in_process, new_blob_store, new_job_store
from tests.blueprints import pdf, png
from tests.faults import Fault
from tests.helpers import ORIGIN, OWNER, SETTINGS, a_job, a_session, assert_error, feedback_for
from tests.http.clients import CLIENTS

MIB = 1024 * 1024
KEY = "blueprints/job_01jdz5k3a1b2c3d4e5f6g7h8j9/source.pdf"


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with moto_in_process(monkeypatch):
        yield


@pytest.fixture
def stores(moto: None) -> tuple[DynamoDBJobStore, S3BlobStore]:
    return new_job_store(), new_blob_store(part_bytes=5 * MIB)


def _chunks(data: bytes, size: int = MIB) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def pending_uploads(blobs: S3BlobStore) -> list[Any]:
    uploads: list[Any] = blobs.client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    return uploads


def test_a_small_put_carries_the_whole_files_sha256(stores: Any) -> None:
    _, blobs = stores
    blobs.put(KEY, [pdf()], max_bytes=MIB)
    expected = base64.b64encode(hashlib.sha256(pdf()).digest()).decode()
    assert blobs.checksum_sha256(KEY) == expected


def test_a_large_put_goes_in_checksummed_parts(stores: Any) -> None:
    _, blobs = stores
    data = pdf() + bytes(range(256)) * (12 * MIB // 256)
    assert blobs.put(KEY, _chunks(data), max_bytes=50 * MIB) == len(data)
    assert blobs.size(KEY) == len(data)
    assert blobs.read_range(KEY, len(data) - 100, 100) == data[-100:]
    # S3's checksum of a multipart object: the SHA-256 of the parts' SHA-256 digests.
    parts = [data[i : i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
    assert len(parts) == 3
    composite = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
    assert blobs.checksum_sha256(KEY).split("-")[0] == base64.b64encode(composite).decode()
    assert pending_uploads(blobs) == []


def test_a_large_put_that_fails_is_aborted(stores: Any) -> None:
    _, blobs = stores

    def stream() -> Iterator[bytes]:
        yield from _chunks(pdf() + b"\x00" * (11 * MIB))
        raise OSError("client went away")

    with pytest.raises(OSError, match="went away"):
        blobs.put(KEY, stream(), max_bytes=50 * MIB)
    assert blobs.size(KEY) is None
    assert pending_uploads(blobs) == []


def test_a_large_put_over_the_limit_is_aborted(stores: Any) -> None:
    _, blobs = stores
    from domain.errors import FileTooLarge

    with pytest.raises(FileTooLarge):
        blobs.put(KEY, _chunks(b"\x00" * (12 * MIB)), max_bytes=11 * MIB)
    assert blobs.size(KEY) is None
    assert pending_uploads(blobs) == []


def test_worst_case_of_one_create_fits_in_api_gateways_30_seconds() -> None:
    assert DYNAMODB_POLICY.worst_case_seconds + S3_POLICY.worst_case_seconds < 29


# -- faults ---------------------------------------------------------------------------------


def service_over(stores: Any) -> UseCases:
    """The use cases on these stores, the keys and quotas in the same table."""
    jobs, blobs = stores
    return dynamodb_use_cases(jobs, blobs)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("ProvisionedThroughputExceededException", 400),
        ("InternalServerError", 500),
    ],
)
def test_dynamodb_faults_within_the_retries_are_invisible(
    stores: Any, code: str, status: int
) -> None:
    jobs, _ = stores
    # A new job is written in one transaction with its owner's count.
    fault = Fault("dynamodb", code, status, times=2).install(
        jobs.table.client, "TransactWriteItems"
    )
    job = service_over(stores).intake.create_job([png()], origin())
    assert fault.injected == 2
    assert jobs.get(job.job_id) == job


@pytest.mark.parametrize(("code", "status"), [("SlowDown", 503), ("InternalError", 500)])
def test_s3_faults_within_the_retries_are_invisible(stores: Any, code: str, status: int) -> None:
    _, blobs = stores
    fault = Fault("s3", code, status, times=2).install(blobs.client, "PutObject")
    job = service_over(stores).intake.create_job([png()], origin())
    assert fault.injected == 2
    assert blobs.size(job.blueprint_s3_key) == len(png())


def origin() -> Any:
    from tests.helpers import ORIGIN

    return ORIGIN


def _bucket_keys(blobs: S3BlobStore) -> list[str]:
    listed = blobs.client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return [entry["Key"] for entry in listed]


def _job_count(jobs: DynamoDBJobStore) -> int:
    items = jobs.table.client.scan(TableName=jobs.table.name)["Items"]
    return sum(1 for item in items if item["sk"]["S"] == "JOB")


@pytest.mark.parametrize("entrypoint", sorted(CLIENTS))
def test_persistent_dynamodb_throttling_is_503_and_leaves_no_blob(
    stores: Any, entrypoint: str
) -> None:
    jobs, blobs = stores
    client = CLIENTS[entrypoint](service_over(stores), SETTINGS)
    fault = Fault("dynamodb", "ProvisionedThroughputExceededException", 400).install(
        jobs.table.client, "TransactWriteItems"
    )
    reply = client.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=png()
    )
    assert assert_error(reply, 503, "SERVICE_UNAVAILABLE") == {}
    assert reply.headers["retry-after"] == "1"
    assert fault.injected == DYNAMODB_POLICY.max_attempts
    assert _bucket_keys(blobs) == []
    assert _job_count(jobs) == 0


@pytest.mark.parametrize("entrypoint", sorted(CLIENTS))
@pytest.mark.parametrize(("code", "status"), [("SlowDown", 503), ("ServiceUnavailable", 503)])
def test_persistent_s3_faults_are_503_and_record_no_job(
    stores: Any, entrypoint: str, code: str, status: int
) -> None:
    jobs, blobs = stores
    fault = Fault("s3", code, status).install(blobs.client, "PutObject")
    client = CLIENTS[entrypoint](service_over(stores), SETTINGS)
    reply = client.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=png()
    )
    assert_error(reply, 503, "SERVICE_UNAVAILABLE")
    assert fault.injected == S3_POLICY.max_attempts
    assert _bucket_keys(blobs) == []
    assert _job_count(jobs) == 0


@pytest.mark.parametrize("entrypoint", sorted(CLIENTS))
def test_throttled_reads_are_503(stores: Any, entrypoint: str) -> None:
    jobs, _ = stores
    service = service_over(stores)
    job = service.intake.create_job([png()], origin())
    Fault("dynamodb", "ThrottlingException", 400).install(jobs.table.client, "GetItem")
    client = CLIENTS[entrypoint](service, SETTINGS)
    reply = client.request("GET", f"/api/v1/jobs/{job.job_id}")
    assert_error(reply, 503, "SERVICE_UNAVAILABLE")


def test_a_request_error_is_not_called_unavailable(stores: Any) -> None:
    jobs, _ = stores
    Fault("dynamodb", "ValidationException", 400).install(jobs.table.client, "GetItem")
    with pytest.raises(Exception) as caught:
        jobs.get("job_01jdz5k3a1b2c3d4e5f6g7h8j9")
    assert not isinstance(caught.value, ServiceUnavailable)
    assert caught.value.__cause__ is not caught.value  # re-raised as it is, not its own cause


def test_readiness_reports_a_missing_table_and_bucket(moto: None) -> None:
    from tests.aws import REGION, s3_client

    jobs = DynamoDBJobStore(Table.build("no-such-table", region=REGION))
    blobs = S3BlobStore(s3_client(), "no-such-bucket")
    with pytest.raises(ServiceUnavailable, match="does not exist"):
        jobs.ping()
    with pytest.raises(ServiceUnavailable, match="not reachable"):
        blobs.ping()
    readiness = service_over((jobs, blobs)).lifecycle.readiness()
    assert (readiness.job_store, readiness.blob_store) == (False, False)


def test_unreachable_endpoints_are_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.aws import aws_credentials
    from tests.e2e.servers import free_port

    aws_credentials(monkeypatch)
    endpoint = f"http://127.0.0.1:{free_port()}"
    from entrypoints.aws import blob_store, job_store
    from entrypoints.settings import Settings

    settings = Settings(storage="aws", region="eu-west-1", endpoint_url=endpoint)
    with pytest.raises(ServiceUnavailable):
        job_store(settings).get("job_01jdz5k3a1b2c3d4e5f6g7h8j9")
    with pytest.raises(ServiceUnavailable):
        blob_store(settings).size("x")


def test_the_result_cache_is_a_limited_query_of_a_sparse_index(stores: Any) -> None:
    jobs, _ = stores
    calls: list[dict[str, Any]] = []
    jobs.table.client.meta.events.register(
        "provide-client-params.dynamodb.*",
        lambda params, model, **_: calls.append({"op": model.name, **params}),
    )
    assert jobs.find_completed_by_hash(OWNER, "e" * 64) is None
    assert [call["op"] for call in calls] == ["Query"]
    assert calls[0]["IndexName"] == "completed-by-blueprint-hash"
    assert calls[0]["Limit"] == 1
    assert calls[0]["ExpressionAttributeValues"][":0"] == {"S": f"{'e' * 64}#{OWNER}"}
    description = jobs.table.client.describe_table(TableName=jobs.table.name)["Table"]
    assert {index["IndexName"] for index in description["GlobalSecondaryIndexes"]} == {
        "completed-by-blueprint-hash",
        "jobs-by-owner",
        "jobs-by-owner-status",
        "unfinished-jobs",
    }


def test_only_completed_jobs_enter_the_result_cache_index(stores: Any) -> None:
    jobs, _ = stores
    service = service_over(stores)
    pending = service.intake.create_job([png()], ORIGIN, use_cache=False)
    cancelled = service.lifecycle.cancel_job(
        OWNER, service.intake.create_job([pdf()], ORIGIN, use_cache=False).job_id
    )
    failed = service.intake.create_job([pdf() + b"x"], ORIGIN, use_cache=False).job_id
    service.lifecycle.start_processing(failed)
    service.lifecycle.fail_job(failed, "DETECTION_FAILED", "no walls")

    def indexed() -> list[str]:
        items = jobs.table.client.scan(
            TableName=jobs.table.name, IndexName="completed-by-blueprint-hash"
        )
        return sorted(item["pk"]["S"] for item in items["Items"])

    assert indexed() == []
    service.lifecycle.start_processing(pending.job_id)
    service.lifecycle.complete_job(pending.job_id, "results/r.json")
    assert indexed() == [pending.job_id]
    assert cancelled.status.value == "cancelled"


# -- every operation maps a persistent fault to ServiceUnavailable ---------------------------

JOB = "job_01jdz5k3a1b2c3d4e5f6g7h8j9"
UPLOAD = "upl_01jdz5k3a1b2c3d4e5f6g7h8j9"


def _s3_calls(blobs: S3BlobStore) -> dict[str, Any]:
    return {
        "GetObject": lambda: blobs.read_range(KEY, 0, 10),
        "HeadObject": lambda: blobs.size(KEY),
        "DeleteObject": lambda: blobs.delete(KEY),
        "CopyObject": lambda: blobs.copy(KEY, "elsewhere"),
        "PutObject": lambda: blobs.put(KEY, [b"%PDF-1"], 100),
    }


@pytest.mark.parametrize(
    "operation", ["GetObject", "HeadObject", "DeleteObject", "CopyObject", "PutObject"]
)
def test_s3_operations_under_a_persistent_fault(stores: Any, operation: str) -> None:
    _, blobs = stores
    Fault("s3", "InternalError", 500).install(blobs.client, operation)
    with pytest.raises(ServiceUnavailable):
        _s3_calls(blobs)[operation]()


def test_s3_stream_under_a_persistent_fault(stores: Any) -> None:
    _, blobs = stores
    Fault("s3", "SlowDown", 503).install(blobs.client, "GetObject")
    with pytest.raises(ServiceUnavailable):
        list(blobs.stream(KEY, 1024))


def test_s3_ping_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    from entrypoints.aws import blob_store
    from entrypoints.settings import Settings
    from tests.aws import aws_credentials
    from tests.e2e.servers import free_port

    aws_credentials(monkeypatch)
    settings = Settings(
        storage="aws", region="eu-west-1", endpoint_url=f"http://127.0.0.1:{free_port()}"
    )
    with pytest.raises(ServiceUnavailable):
        blob_store(settings).ping()


def test_s3_reads_past_the_end_and_of_nothing(stores: Any) -> None:
    _, blobs = stores
    blobs.put(KEY, [b"%PDF-1.7"], 100)
    assert blobs.read_range(KEY, 100, 10) == b""
    assert blobs.read_range(KEY, 0, 0) == b""
    with pytest.raises(ValueError, match="negative"):
        blobs.read_range(KEY, -1, 1)


def _key() -> ApiKey:
    from tests.fakes import START

    secret = api_keys.new_secret(bytes(api_keys.RANDOM_BYTES))
    key_id = api_keys.new_key_id(START, bytes(10))
    return ApiKey(key_id, api_keys.digest_of(secret), OWNER, "k", {JOBS_READ}, START)


def _dynamodb_calls(jobs: DynamoDBJobStore) -> dict[str, Any]:
    from domain.upload import UploadSession
    from tests.fakes import START

    return {
        "Query": lambda: jobs.list_feedback(JOB),
        "QueryIndex": lambda: jobs.find_completed_by_hash(OWNER, "f" * 64),
        "QueryListing": lambda: jobs.list_jobs(OWNER, None, 10, None),
        "GetItem": lambda: jobs.get_upload(UPLOAD),
        "GetCount": lambda: jobs.unfinished_jobs(OWNER),
        "PutItem": lambda: jobs.add_upload(UploadSession.open(UPLOAD, OWNER, "pdf", 10, START)),
        "TransactWriteItems": lambda: jobs.add_feedback(feedback_for(a_job()), 5),
        "TransactUpload": lambda: jobs.add_job_from_upload(a_job(), UPLOAD),
        "TransactJob": lambda: jobs.add(a_job(), unfinished_limit=5),
        "TransactKey": lambda: DynamoDBApiKeyStore(jobs.table).add_key(_key()),
        "UpdateItem": lambda: DynamoDBRateCounter(jobs.table).hit("c", 5, START),
        "DescribeTable": jobs.ping,
    }


@pytest.mark.parametrize(
    ("name", "operation"),
    [
        ("Query", "Query"),
        ("QueryIndex", "Query"),
        ("QueryListing", "Query"),
        ("GetItem", "GetItem"),
        ("GetCount", "GetItem"),
        ("PutItem", "PutItem"),
        ("TransactWriteItems", "TransactWriteItems"),
        ("TransactUpload", "TransactWriteItems"),
        ("TransactJob", "TransactWriteItems"),
        ("TransactKey", "TransactWriteItems"),
        ("UpdateItem", "UpdateItem"),
        ("DescribeTable", "DescribeTable"),
    ],
)
def test_dynamodb_operations_under_a_persistent_fault(
    stores: Any, name: str, operation: str
) -> None:
    jobs, _ = stores
    Fault("dynamodb", "InternalServerError", 500).install(jobs.table.client, operation)
    with pytest.raises(ServiceUnavailable):
        _dynamodb_calls(jobs)[name]()


def test_feedback_transaction_conflicts_are_retried_then_reported(stores: Any) -> None:
    from domain.errors import ConcurrentModification

    jobs, _ = stores
    job = a_job()
    jobs.add(job)
    conflict = Fault("dynamodb", "TransactionCanceledException", 400, times=1)
    conflict.cancellation = ["None", "TransactionConflict", "None"]
    conflict.install(jobs.table.client, "TransactWriteItems")
    jobs.add_feedback(feedback_for(job), 5)  # one conflict, retried
    assert len(jobs.list_feedback(job.job_id)) == 1
    Fault("dynamodb", "TransactionCanceledException", 400).install(
        jobs.table.client, "TransactWriteItems"
    ).cancellation = ["None", "TransactionConflict", "None"]
    with pytest.raises(ConcurrentModification):
        jobs.add_feedback(feedback_for(job), 5)


def test_a_job_from_an_upload_with_a_taken_id(stores: Any) -> None:
    from domain.errors import JobAlreadyExists
    from domain.upload import UploadSession
    from tests.fakes import START

    jobs, _ = stores
    job = a_job()
    jobs.add(job)
    jobs.add_upload(UploadSession.open(UPLOAD, OWNER, "pdf", 10, START))
    with pytest.raises(JobAlreadyExists):
        jobs.add_job_from_upload(job, UPLOAD)


def test_idempotency_records_under_a_persistent_fault(stores: Any) -> None:
    from adapters.dynamodb import DynamoDBIdempotencyStore
    from ports.idempotency import IdempotencyRecord
    from tests.fakes import START

    jobs, _ = stores
    store = DynamoDBIdempotencyStore(jobs.table)
    record = IdempotencyRecord.claim("a" * 64, "t", START)
    Fault("dynamodb", "InternalServerError", 500).install(jobs.table.client, "PutItem")
    Fault("dynamodb", "InternalServerError", 500).install(jobs.table.client, "DeleteItem")
    with pytest.raises(ServiceUnavailable):
        store.claim(record, START)
    with pytest.raises(ServiceUnavailable):
        store.complete(record.completed("f", "r"))
    with pytest.raises(ServiceUnavailable):
        store.release(record.scope, "t")


# -- tenancy: listings, counts, keys --------------------------------------------------------


def _queries(jobs: DynamoDBJobStore) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    jobs.table.client.meta.events.register(
        "provide-client-params.dynamodb.Query",
        lambda params, **_: calls.append(dict(params)),
    )
    return calls


def test_a_listing_is_a_newest_first_query_of_one_job_more_than_the_page(stores: Any) -> None:
    jobs, _ = stores
    calls = _queries(jobs)
    jobs.list_jobs(OWNER, None, 20, None)
    jobs.list_jobs(OWNER, JobStatus.PENDING, 5, JOB)
    every, pending = calls
    assert every["IndexName"] == "jobs-by-owner"
    assert every["ExpressionAttributeValues"][":0"] == {"S": OWNER}
    assert (every["ScanIndexForward"], every["Limit"]) == (False, 21)
    assert "ExclusiveStartKey" not in every
    assert pending["IndexName"] == "jobs-by-owner-status"
    assert pending["ExpressionAttributeValues"][":0"] == {"S": f"{OWNER}#pending"}
    assert (pending["ScanIndexForward"], pending["Limit"]) == (False, 6)
    # The position: the index's key and the table's, of the job the page starts after.
    assert pending["ExclusiveStartKey"] == {
        "owner_status": {"S": f"{OWNER}#pending"},
        "pk": {"S": JOB},
        "sk": {"S": "JOB"},
    }
    assert not any(call.get("ConsistentRead") for call in calls)  # indexes cannot be


def test_only_jobs_enter_the_listing_indexes(stores: Any) -> None:
    """Sessions, keys, counts and counters carry their owner under other names."""
    jobs, _ = stores
    job = a_job()
    jobs.add(job)
    session = a_session()
    jobs.add_upload(session)
    jobs.add_feedback(feedback_for(job), 5)
    DynamoDBApiKeyStore(jobs.table).add_key(_key())
    from tests.fakes import START

    DynamoDBRateCounter(jobs.table).hit(f"jobs#60#0#{OWNER}", 5, START)
    assert jobs.unfinished_jobs(OWNER) == 1

    def indexed(index: str) -> list[str]:
        items = jobs.table.client.scan(TableName=jobs.table.name, IndexName=index)["Items"]
        return [item["pk"]["S"] for item in items]

    assert indexed("jobs-by-owner") == [job.job_id]
    assert indexed("jobs-by-owner-status") == [job.job_id]
    assert indexed("completed-by-blueprint-hash") == []


def test_conflicts_on_an_owners_count_are_retried_then_reported(stores: Any) -> None:
    """Contention on the count is no version conflict of the client's (not a 409 or 412):
    it is retried, then reported as a moment's unavailability (503, Retry-After)."""
    from domain.errors import ConcurrentModification, JobNotFound, ServiceUnavailable

    jobs, _ = stores
    conflict = Fault("dynamodb", "TransactionCanceledException", 400, times=1)
    conflict.cancellation = ["None", "TransactionConflict"]
    conflict.install(jobs.table.client, "TransactWriteItems")
    job = a_job()
    jobs.add(job, unfinished_limit=5)  # one conflict, retried
    assert (jobs.get(job.job_id), jobs.unfinished_jobs(OWNER)) == (job, 1)
    Fault("dynamodb", "TransactionCanceledException", 400).install(
        jobs.table.client, "TransactWriteItems"
    ).cancellation = ["None", "TransactionConflict"]
    refused = a_job()
    with pytest.raises(ServiceUnavailable) as caught:
        jobs.add(refused, unfinished_limit=5)
    assert not isinstance(caught.value, ConcurrentModification)
    assert caught.value.retry_after == 1
    with pytest.raises(ServiceUnavailable):
        jobs.save(job.cancel(job.created_at), expected_version=1)
    with pytest.raises(JobNotFound):
        jobs.get(refused.job_id)
    assert (jobs.get(job.job_id), jobs.unfinished_jobs(OWNER)) == (job, 1)


def test_a_job_stored_before_owners_is_nobodys(stores: Any) -> None:
    """An item written before jobs had owners is answered as no job (404), never a 500."""
    from domain.errors import JobNotFound

    jobs, _ = stores
    job = a_job()
    jobs.add(job)
    jobs.table.client.update_item(
        TableName=jobs.table.name,
        Key={"pk": {"S": job.job_id}, "sk": {"S": "JOB"}},
        UpdateExpression="REMOVE #o, owner_status",
        ExpressionAttributeNames={"#o": "owner"},
    )
    with pytest.raises(JobNotFound):
        jobs.get(job.job_id)
