from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from adapters.memory import MemoryIdempotencyStore
from domain.use_cases import UseCases
from entrypoints.logs import configure_logging
from entrypoints.settings import Settings
from tests.fakes import SteppingClock
from tests.helpers import SETTINGS
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
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("INFO", stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
