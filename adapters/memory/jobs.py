"""Jobs, their feedback and upload sessions in memory, with the semantics the port promises:
create-only adds, version-conditioned saves, per-owner unfinished counts and listings."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from datetime import datetime

from domain.errors import (
    ConcurrentModification,
    FeedbackLimitReached,
    JobAlreadyExists,
    JobNotFound,
    UploadAlreadyUsed,
    UploadNotFound,
)
from domain.feedback import Feedback
from domain.job import Job, JobStatus
from domain.quotas import unfinished_limit_reached
from domain.upload import UploadSession
from ports.jobs import JobPage


class MemoryJobStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._feedback: dict[str, list[Feedback]] = {}
        self._uploads: dict[str, UploadSession] = {}
        self._by_hash: dict[tuple[str, str], list[str]] = {}
        self._by_owner: dict[str, list[str]] = {}  # job ids, ascending (oldest first)
        self._unfinished: dict[str, int] = {}
        # The change feed: called with (before, after) of every job written, under the store's
        # lock, so that what follows a change (a message for the pipeline) is as sure as it
        # is: the local equivalent of a DynamoDB stream.
        self._listeners: list[Callable[[Job | None, Job], None]] = []

    def subscribe(self, listener: Callable[[Job | None, Job], None]) -> None:
        """Call ``listener(before, after)`` for every job added (before None) or saved."""
        with self._lock:
            self._listeners.append(listener)

    def _changed(self, before: Job | None, after: Job) -> None:
        for listener in self._listeners:
            listener(before, after)

    def add(self, job: Job, unfinished_limit: int | None = None) -> None:
        with self._lock:
            self._add(job, unfinished_limit)

    def _add(self, job: Job, unfinished_limit: int | None) -> None:
        if job.job_id in self._jobs:
            raise JobAlreadyExists("A job with this id exists.", job_id=job.job_id)
        if not job.done:
            count = self._unfinished.get(job.owner, 0)
            if unfinished_limit is not None and count >= unfinished_limit:
                raise unfinished_limit_reached(unfinished_limit)
            self._unfinished[job.owner] = count + 1
        self._jobs[job.job_id] = job
        self._by_hash.setdefault((job.owner, job.blueprint_hash), []).append(job.job_id)
        bisect.insort(self._by_owner.setdefault(job.owner, []), job.job_id)
        self._changed(None, job)

    def unfinished_jobs(self, owner: str) -> int:
        with self._lock:
            return self._unfinished.get(owner, 0)

    def list_jobs(
        self, owner: str, status: JobStatus | None, limit: int, after: str | None
    ) -> JobPage:
        with self._lock:
            ids = self._by_owner.get(owner, [])
            end = len(ids) if after is None else bisect.bisect_left(ids, after)
            found: list[Job] = []
            for job_id in reversed(ids[:end]):
                job = self._jobs[job_id]
                if status is None or job.status is status:
                    if len(found) == limit:
                        return JobPage(found, more=True)
                    found.append(job)
            return JobPage(found, more=False)

    def stale_jobs(self, status: JobStatus, changed_before: datetime, limit: int) -> list[Job]:
        with self._lock:
            stale = [
                job
                for job in self._jobs.values()
                if job.status is status and not job.done and job.updated_at < changed_before
            ]
        return sorted(stale, key=lambda job: (job.updated_at, job.job_id))[:limit]

    def find_completed_by_hash(self, owner: str, sha256: str) -> Job | None:
        with self._lock:
            for job_id in self._by_hash.get((owner, sha256), ()):
                job = self._jobs[job_id]
                if job.status is JobStatus.COMPLETED:
                    return job
        return None

    def add_upload(self, session: UploadSession) -> None:
        with self._lock:
            self._uploads[session.upload_id] = session

    def get_upload(self, upload_id: str) -> UploadSession:
        with self._lock:
            return self._get_upload(upload_id)

    def add_job_from_upload(
        self, job: Job, upload_id: str, unfinished_limit: int | None = None
    ) -> None:
        with self._lock:
            session = self._get_upload(upload_id)
            if session.job_id is not None:
                raise UploadAlreadyUsed(
                    "This upload has already created a job.", job_id=session.job_id
                )
            self._add(job, unfinished_limit)
            self._uploads[upload_id] = session.used_by(job.job_id)

    def _get_upload(self, upload_id: str) -> UploadSession:
        try:
            return self._uploads[upload_id]
        except KeyError:
            raise UploadNotFound("No upload session has this id.", upload_id=upload_id) from None

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
            if job.done and not current.done:
                self._unfinished[job.owner] -= 1
            self._jobs[job.job_id] = job
            self._changed(current, job)

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
            entries = list(self._feedback.get(job_id, ()))
        return sorted(entries, key=lambda entry: (entry.created_at, entry.feedback_id))

    def ping(self) -> None:
        return None

    def job_ids(self) -> list[str]:
        """Every stored job's id; lets tests see what is kept, as ``MemoryBlobStore.keys``."""
        with self._lock:
            return sorted(self._jobs)

    def _get(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFound("No job has this id.", job_id=job_id) from None
