"""Deterministic clock and entropy, and stores that fail on purpose. Fakes hold state that
tests assert on; nothing here patches domain code."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.errors import ServiceUnavailable, WriteOutcomeUnknown
from domain.job import Job

START = datetime(2026, 11, 26, 3, 15, 0, 123000, tzinfo=UTC)


class SteppingClock:
    """Starts at ``START`` and moves on by ``step`` on every reading."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(milliseconds=1)):
        self._now = start
        self._step = step
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            moment = self._now
            self._now += self._step
            return moment

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment


class FakeMonotonic:
    """A monotonic clock that moves only when told: a slow fake endpoint advances it."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class SeededEntropy:
    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def random_bytes(self, n: int) -> bytes:
        with self._lock:
            return self._random.randbytes(n)


class BrokenJobStore(MemoryJobStore):
    """Refuses every write of a new job, as a throttled or unreachable table would."""

    def add(self, job: Job, unfinished_limit: int | None = None) -> None:
        raise ServiceUnavailable("job store down")

    def ping(self) -> None:
        raise ServiceUnavailable("job store down")


class CrashingJobStore(MemoryJobStore):
    """Fails a new job's write with an unexpected error."""

    def add(self, job: Job, unfinished_limit: int | None = None) -> None:
        raise RuntimeError("connection reset")


class BrokenBlobStore(MemoryBlobStore):
    """Consumes part of the stream, then fails, as an upload cut off half-way would.

    Unlike a well-behaved adapter it leaves the partial object behind, so the service's own
    clean-up is what the tests observe.
    """

    def __init__(self, fail_after_chunks: int = 1) -> None:
        super().__init__()
        self._fail_after = fail_after_chunks

    def put(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> int:
        taken = bytearray()
        for index, chunk in enumerate(chunks):
            if index >= self._fail_after:
                super().put(key, [bytes(taken)], max_bytes)  # the part left behind
                raise ServiceUnavailable("blob store down")
            taken += chunk
        return super().put(key, [bytes(taken)], max_bytes)

    def ping(self) -> None:
        raise ServiceUnavailable("blob store down")


class UndeletableBlobStore(MemoryBlobStore):
    def delete(self, key: str) -> None:
        raise RuntimeError("delete refused")


class UnknownOutcomeJobStore(MemoryJobStore):
    """A store that cannot tell whether a new job was written: the write times out, and so
    does the read that would tell. ``lands`` says what really happened."""

    def __init__(self, lands: bool) -> None:
        super().__init__()
        self._lands = lands
        self.attempted: list[Job] = []

    def add(self, job: Job, unfinished_limit: int | None = None) -> None:
        self.attempted.append(job)
        if self._lands:
            super().add(job, unfinished_limit)
        raise WriteOutcomeUnknown("job store timed out")

    def add_job_from_upload(
        self, job: Job, upload_id: str, unfinished_limit: int | None = None
    ) -> None:
        self.attempted.append(job)
        if self._lands:
            super().add_job_from_upload(job, upload_id, unfinished_limit)
        raise WriteOutcomeUnknown("job store timed out")


class SwappingBlobStore(MemoryBlobStore):
    """A client replacing its upload while the service works on it: before the named
    operation runs, the object under ``key`` is replaced by ``replacement``."""

    def __init__(self, operation: str, replacement: bytes) -> None:
        super().__init__(upload_secret=b"test-secret")
        self.operation = operation
        self.replacement = replacement
        self.key: str | None = None
        self.swapped = False

    def _swap(self, operation: str) -> None:
        if operation == self.operation and self.key is not None and not self.swapped:
            self.swapped = True
            self.put(self.key, [self.replacement], len(self.replacement))

    def size(self, key: str) -> int | None:
        self._swap("size")
        return super().size(key)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        self._swap("read_range")
        return super().read_range(key, start, length)

    def stream(self, key: str, chunk_bytes: int) -> Iterator[bytes]:
        self._swap("stream")
        return super().stream(key, chunk_bytes)

    def copy(self, source: str, target: str) -> None:
        self._swap("copy")
        super().copy(source, target)
        self._swap("after_copy")


# The owners tests act as: every HTTP test client authenticates as OWNER unless told otherwise.
OWNER = "owner-a"
OTHER_OWNER = "owner-b"
