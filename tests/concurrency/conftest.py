from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.memory import MemoryBlobStore, MemoryJobStore
from ports.blobs import BlobStore
from ports.jobs import JobStore
from tests.aws import moto_in_process, new_blob_store, new_job_store

# Each entry: a fixture yielding (job store, blob store), and how many rounds to race.
RACE_STORES = {"memory_stores": 25, "dynamodb_stores": 25}


@pytest.fixture
def memory_stores() -> tuple[JobStore, BlobStore]:
    return MemoryJobStore(), MemoryBlobStore()


@pytest.fixture
def dynamodb_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[JobStore, BlobStore]]:
    with moto_in_process(monkeypatch):
        yield new_job_store(), new_blob_store()


@pytest.fixture(params=sorted(RACE_STORES))
def stores(request: pytest.FixtureRequest) -> tuple[JobStore, BlobStore, int]:
    jobs, blobs = request.getfixturevalue(request.param)
    return jobs, blobs, RACE_STORES[request.param]
