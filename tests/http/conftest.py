from __future__ import annotations

import pytest

from domain.service import JobService
from entrypoints.settings import LOCAL_CORS_ORIGINS, Settings
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
def client(entrypoint: str, service: JobService, settings: Settings) -> Client:
    made: Client = CLIENTS[entrypoint](service, settings)
    return made
