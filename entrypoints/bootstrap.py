"""The composition root: the one place where ports meet their adapters."""

from __future__ import annotations

from adapters.memory import MemoryBlobStore, MemoryJobStore
from adapters.system import OsEntropy, SystemClock
from domain.service import JobService


def memory_service() -> JobService:
    """A service over in-memory storage, for the local server and tests."""
    return JobService(MemoryJobStore(), MemoryBlobStore(), SystemClock(), OsEntropy())
