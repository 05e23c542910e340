"""Adapters under contract. Each name is a fixture that yields a fresh store; every test in
this folder runs once per adapter, so no fake can drift from the real thing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.dynamodb import DynamoDBApiKeyStore, DynamoDBIdempotencyStore, DynamoDBRateCounter
from adapters.memory import (
    MemoryApiKeyStore,
    MemoryBlobStore,
    MemoryIdempotencyStore,
    MemoryJobStore,
    MemoryRateCounter,
)
from ports.access import ApiKeyStore
from ports.blobs import BlobStore
from ports.idempotency import IdempotencyStore
from ports.jobs import JobStore
from ports.quotas import RateCounter
from tests.aws import moto_in_process, new_blob_store, new_job_store
from tests.fakes import SteppingClock

JOB_STORES = ["memory_job_store", "dynamodb_job_store"]
IDEMPOTENCY_STORES = ["memory_idempotency_store", "dynamodb_idempotency_store"]
BLOB_STORES = ["memory_blob_store", "s3_blob_store"]
KEY_STORES = ["memory_key_store", "dynamodb_key_store"]
RATE_COUNTERS = ["memory_rate_counter", "dynamodb_rate_counter"]


@pytest.fixture
def memory_job_store() -> MemoryJobStore:
    return MemoryJobStore()


@pytest.fixture
def memory_blob_store() -> MemoryBlobStore:
    return MemoryBlobStore(upload_secret=b"contract-secret", clock=SteppingClock())


@pytest.fixture
def dynamodb_job_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[JobStore]:
    with moto_in_process(monkeypatch):
        yield new_job_store()


@pytest.fixture
def s3_blob_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[BlobStore]:
    with moto_in_process(monkeypatch):
        yield new_blob_store()


@pytest.fixture
def memory_idempotency_store() -> IdempotencyStore:
    return MemoryIdempotencyStore()


@pytest.fixture
def dynamodb_idempotency_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[IdempotencyStore]:
    with moto_in_process(monkeypatch):
        yield DynamoDBIdempotencyStore(new_job_store().table)


@pytest.fixture(params=IDEMPOTENCY_STORES)
def idempotency_store(request: pytest.FixtureRequest) -> IdempotencyStore:
    store: IdempotencyStore = request.getfixturevalue(request.param)
    return store


@pytest.fixture(params=JOB_STORES)
def job_store(request: pytest.FixtureRequest) -> JobStore:
    store: JobStore = request.getfixturevalue(request.param)
    return store


@pytest.fixture(params=BLOB_STORES)
def blob_store(request: pytest.FixtureRequest) -> BlobStore:
    store: BlobStore = request.getfixturevalue(request.param)
    return store


@pytest.fixture
def memory_key_store() -> ApiKeyStore:
    return MemoryApiKeyStore()


@pytest.fixture
def dynamodb_key_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiKeyStore]:
    with moto_in_process(monkeypatch):
        yield DynamoDBApiKeyStore(new_job_store().table)


@pytest.fixture(params=KEY_STORES)
def key_store(request: pytest.FixtureRequest) -> ApiKeyStore:
    store: ApiKeyStore = request.getfixturevalue(request.param)
    return store


@pytest.fixture
def memory_rate_counter() -> RateCounter:
    return MemoryRateCounter(SteppingClock())


@pytest.fixture
def dynamodb_rate_counter(monkeypatch: pytest.MonkeyPatch) -> Iterator[RateCounter]:
    with moto_in_process(monkeypatch):
        yield DynamoDBRateCounter(new_job_store().table)


@pytest.fixture(params=RATE_COUNTERS)
def rate_counter(request: pytest.FixtureRequest) -> RateCounter:
    counter: RateCounter = request.getfixturevalue(request.param)
    return counter
