"""Thread-safe in-memory stores with exactly the semantics the ports promise.

Used by the local server and the tests; the port contract suite holds them to the same
behaviour as the DynamoDB and S3 adapters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from domain.errors import (
    BlobNotFound,
    ConcurrentModification,
    FeedbackLimitReached,
    FileTooLarge,
    JobAlreadyExists,
    JobNotFound,
)
from domain.feedback import Feedback
from domain.job import Job


class MemoryJobStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._feedback: dict[str, list[Feedback]] = {}

    def add(self, job: Job) -> None:
        with self._lock:
            if job.job_id in self._jobs:
                raise JobAlreadyExists("A job with this id exists.", job_id=job.job_id)
            self._jobs[job.job_id] = job

    def get(self, job_id: str) -> Job:
        with self._lock:
            return self._get(job_id)

    def save(self, job: Job, expected_version: int) -> None:
        if job.version != expected_version + 1:
            raise ValueError("a saved job's version must be expected_version + 1")
        with self._lock:
            current = self._get(job.job_id)
            if current.version != expected_version:
                raise ConcurrentModification(
                    "The job changed concurrently.",
                    job_id=job.job_id,
                    expected_version=expected_version,
                )
            self._jobs[job.job_id] = job

    def add_feedback(self, feedback: Feedback, limit: int) -> None:
        with self._lock:
            self._get(feedback.job_id)
            entries = self._feedback.setdefault(feedback.job_id, [])
            if len(entries) >= limit:
                raise FeedbackLimitReached(
                    f"A job takes at most {limit} feedback entries.",
                    limit=limit,
                )
            entries.append(feedback)

    def list_feedback(self, job_id: str) -> list[Feedback]:
        with self._lock:
            return list(self._feedback.get(job_id, ()))

    def ping(self) -> None:
        return None

    def _get(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFound("No job has this id.", job_id=job_id) from None


class MemoryBlobStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # bytearray, not bytes: converting would copy a 50 MiB file once more.
        self._objects: dict[str, bytearray] = {}

    def put(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> int:
        buffer = bytearray()
        for chunk in chunks:  # an exception here leaves nothing behind
            buffer += chunk
            if len(buffer) > max_bytes:
                raise FileTooLarge(
                    f"The object is larger than {max_bytes} bytes.", max_bytes=max_bytes
                )
        with self._lock:
            self._objects[key] = buffer
        return len(buffer)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise ValueError("start and length must not be negative")
        with self._lock:
            try:
                data = self._objects[key]
            except KeyError:
                raise BlobNotFound("No object under this key.", key=key) from None
            return bytes(data[start : start + length])

    def size(self, key: str) -> int | None:
        with self._lock:
            data = self._objects.get(key)
            return None if data is None else len(data)

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)

    def ping(self) -> None:
        return None

    def keys(self) -> list[str]:
        """Every stored key; lets tests and the local server see what is kept."""
        with self._lock:
            return sorted(self._objects)
