from __future__ import annotations

import pytest

from adapters.memory import MemoryIdempotencyStore
from domain.use_cases import UseCases
from entrypoints.settings import LOCAL_CORS_ORIGINS, Settings
from tests.fakes import SteppingClock
from tests.http.clients import CLIENTS, Client

SETTINGS = Settings(cors_origins=LOCAL_CORS_ORIGINS)


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
