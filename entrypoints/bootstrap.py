"""The composition root: the one place where ports meet their adapters.

Nothing here runs at import time. Adapters are imported only when configured: a process
serving from memory never loads botocore, one serving from AWS never loads the memory stores.
"""

from __future__ import annotations

from domain.service import JobService
from entrypoints.http.api import Api
from entrypoints.logs import configure_logging
from entrypoints.settings import Settings
from ports.idempotency import IdempotencyStore


def memory_service(settings: Settings | None = None) -> JobService:
    """A service over in-memory storage, for the local server and tests."""
    from adapters.memory import MemoryBlobStore, MemoryJobStore
    from adapters.system import OsEntropy, SystemClock

    clock, entropy = SystemClock(), OsEntropy()
    # The secret signs the local server's upload forms; a new one each process is enough.
    blobs = MemoryBlobStore(upload_secret=entropy.random_bytes(32), clock=clock)
    result_cache = settings.result_cache if settings else True
    return JobService(MemoryJobStore(), blobs, clock, entropy, result_cache=result_cache)


def build(settings: Settings) -> tuple[JobService, IdempotencyStore]:
    """The service and the idempotency store, on the storage the settings name."""
    if settings.storage == "memory":
        from adapters.memory import MemoryIdempotencyStore

        return memory_service(settings), MemoryIdempotencyStore()
    from entrypoints.aws import aws_components  # keeps boto3 off the memory path

    return aws_components(settings)


def build_service(settings: Settings) -> JobService:
    return build(settings)[0]


def build_api(settings: Settings, *, configure_logs: bool = True) -> Api:
    if configure_logs:
        configure_logging(settings.log_level)
    from adapters.system import SystemClock

    service, idempotency = build(settings)
    return Api(service, settings, idempotency=idempotency, clock=SystemClock())
