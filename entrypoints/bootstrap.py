"""The composition root: the one place where ports meet their adapters.

Nothing here runs at import time. The AWS adapters are imported only when configured, so a
process serving from memory never loads boto3.
"""

from __future__ import annotations

from adapters.memory import MemoryBlobStore, MemoryJobStore
from adapters.system import OsEntropy, SystemClock
from domain.service import JobService
from entrypoints.http.api import Api
from entrypoints.logs import configure_logging
from entrypoints.settings import Settings


def memory_service(settings: Settings | None = None) -> JobService:
    """A service over in-memory storage, for the local server and tests."""
    clock, entropy = SystemClock(), OsEntropy()
    # The secret signs the local server's upload forms; a new one each process is enough.
    blobs = MemoryBlobStore(upload_secret=entropy.random_bytes(32), clock=clock)
    result_cache = settings.result_cache if settings else True
    return JobService(MemoryJobStore(), blobs, clock, entropy, result_cache=result_cache)


def build_service(settings: Settings) -> JobService:
    if settings.storage == "memory":
        return memory_service(settings)
    from entrypoints.aws import aws_service  # keeps boto3 off the memory path

    return aws_service(settings)


def build_api(settings: Settings, *, configure_logs: bool = True) -> Api:
    if configure_logs:
        configure_logging(settings.log_level)
    return Api(build_service(settings), settings)
