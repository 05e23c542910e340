from __future__ import annotations

import pytest

from adapters.memory import MemoryBlobStore, MemoryJobStore
from ports.blobs import BlobStore
from ports.jobs import JobStore

RACE_STORES = ["memory_stores"]


@pytest.fixture
def memory_stores() -> tuple[JobStore, BlobStore]:
    return MemoryJobStore(), MemoryBlobStore()


@pytest.fixture(params=RACE_STORES)
def stores(request: pytest.FixtureRequest) -> tuple[JobStore, BlobStore]:
    pair: tuple[JobStore, BlobStore] = request.getfixturevalue(request.param)
    return pair
