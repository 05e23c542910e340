from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from adapters.memory import MemoryIdempotencyStore
from domain.use_cases import UseCases
from entrypoints.settings import Settings
from tests.fakes import SteppingClock
from tests.helpers import SETTINGS, captured_logs
from tests.http.clients import CLIENTS, Client


@pytest.fixture
def settings() -> Settings:
    return SETTINGS


@pytest.fixture(params=sorted(CLIENTS))
def entrypoint(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def idempotency() -> MemoryIdempotencyStore:
    return MemoryIdempotencyStore()


@pytest.fixture
def client(
    entrypoint: str,
    service: UseCases,
    settings: Settings,
    clock: SteppingClock,
    idempotency: MemoryIdempotencyStore,
) -> Client:
    made: Client = CLIENTS[entrypoint](service, settings, clock, idempotency)
    return made


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What is logged at INFO and above while the test runs, as the service writes it."""
    with captured_logs("INFO") as stream:
        yield stream


@pytest.fixture
def warning_lines() -> Iterator[io.StringIO]:
    """What is logged at WARNING and above (no access lines) while the test runs."""
    with captured_logs("WARNING") as stream:
        yield stream
