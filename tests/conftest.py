from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.use_cases import UseCases
from tests.e2e.servers import free_port, running
from tests.fakes import SeededEntropy, SteppingClock
from tests.helpers import use_cases_over

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


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
    return use_cases_over(jobs, blobs, clock, SeededEntropy())


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with running(command, f"{endpoint}/moto-api/"):
        yield endpoint
