from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.use_cases import Origin, UseCases
from tests.fakes import SeededEntropy, SteppingClock

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

ORIGIN = Origin(
    request_id="req_20261126_031500_k3j9x2m1q8zp", correlation_id="corr-1", api_version="v1"
)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def jobs() -> MemoryJobStore:
    return MemoryJobStore()


@pytest.fixture
def blobs(clock: SteppingClock) -> MemoryBlobStore:
    return MemoryBlobStore(upload_secret=b"test-secret", clock=clock)


@pytest.fixture
def service(jobs: MemoryJobStore, blobs: MemoryBlobStore, clock: SteppingClock) -> UseCases:
    return UseCases.over(jobs, blobs, clock, SeededEntropy())
