"""The composition root: the one place where ports meet their adapters.

Nothing here runs at import time. The AWS adapters are imported only when configured, so a
process serving from memory never loads boto3.
"""

from __future__ import annotations

from adapters.memory import MemoryBlobStore, MemoryIdempotencyStore, MemoryJobStore
from adapters.system import OsEntropy, SystemClock
from domain.service import JobService
from entrypoints.http.api import Api
from entrypoints.logs import configure_logging
from entrypoints.settings import Settings
from ports.idempotency import IdempotencyStore


def memory_service(settings: Settings | None = None) -> JobService:
    """A service over in-memory storage, for the local server and tests."""
    clock, entropy = SystemClock(), OsEntropy()
    # The secret signs the local server's upload forms; a new one each process is enough.
    blobs = MemoryBlobStore(upload_secret=entropy.random_bytes(32), clock=clock)
    result_cache = settings.result_cache if settings else True
    return JobService(MemoryJobStore(), blobs, clock, entropy, result_cache=result_cache)


def build(settings: Settings) -> tuple[JobService, IdempotencyStore]:
    """The service and the idempotency store, on the storage the settings name."""
    if settings.storage == "memory":
        return memory_service(settings), MemoryIdempotencyStore()
    from entrypoints.aws import aws_components  # keeps boto3 off the memory path

    return aws_components(settings)


def build_service(settings: Settings) -> JobService:
    return build(settings)[0]


def build_api(settings: Settings, *, configure_logs: bool = True) -> Api:
    if configure_logs:
        configure_logging(settings.log_level)
    service, idempotency = build(settings)
    return Api(service, settings, idempotency=idempotency)
