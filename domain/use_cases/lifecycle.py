"""Lifecycle: reading jobs and moving them through their states, safely under concurrency."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from attrs import frozen

from domain.errors import (
    ConcurrentModification,
    DomainError,
    JobNotFinished,
    PreconditionFailed,
    UnusableResult,
)
from domain.job import Job, JobStatus
from domain.pipeline import MAX_RESULT_BYTES, read_result
from domain.use_cases.shared import check_job_id, check_version, owned
from ports.blobs import BlobStore
from ports.jobs import JobPage, JobStore
from ports.system import Clock

log = logging.getLogger(__name__)

DEFAULT_UPDATE_ATTEMPTS = 5


@frozen
class Readiness:
    job_store: bool
    blob_store: bool

    @property
    def ready(self) -> bool:
        return self.job_store and self.blob_store


class Lifecycle:
    def __init__(
        self,
        jobs: JobStore,
        blobs: BlobStore,
        clock: Clock,
        *,
        update_attempts: int = DEFAULT_UPDATE_ATTEMPTS,
    ) -> None:
        self._jobs = jobs
        self._blobs = blobs
        self._clock = clock
        self._update_attempts = update_attempts

    def get_job(self, owner: str, job_id: str) -> Job:
        check_job_id(job_id)
        return owned(self._jobs.get(job_id), owner)

    def get_result(self, owner: str, job_id: str) -> tuple[Job, object]:
        """The owner's completed job and its result: the JSON document the pipeline stored
        (``read_result``). Before completion ``JobNotFinished``; a stored document the service
        cannot serve is ``UnusableResult``."""
        job = self.get_job(owner, job_id)
        if job.status is not JobStatus.COMPLETED or job.result_s3_key is None:
            raise JobNotFinished(
                f"A result is there once the job has completed; this job is {job.status.value}.",
                job_id=job_id,
                status=job.status.value,
            )
        data = self._blobs.read_range(job.result_s3_key, 0, MAX_RESULT_BYTES + 1)
        try:
            return job, read_result(data)
        except ValueError as error:
            raise UnusableResult(
                f"The pipeline stored a result that is {error}", job_id=job_id
            ) from None

    def pipeline_job(self, job_id: str) -> Job:
        """A job as the pipeline sees it: any owner's (the pipeline works for all of them)."""
        check_job_id(job_id)
        return self._jobs.get(job_id)

    def list_jobs(
        self, owner: str, status: JobStatus | None, limit: int, after: str | None
    ) -> JobPage:
        """The owner's jobs, newest first (see ``JobStore.list_jobs``)."""
        return self._jobs.list_jobs(owner, status, limit, after)

    def readiness(self) -> Readiness:
        return Readiness(job_store=_pings(self._jobs.ping), blob_store=_pings(self._blobs.ping))

    def cancel_job(self, owner: str, job_id: str, expected_version: int | None = None) -> Job:
        return self._update(job_id, lambda job, now: job.cancel(now), expected_version, owner=owner)

    def start_processing(self, job_id: str) -> Job:
        return self._update(job_id, lambda job, now: job.start_processing(now))

    def complete_job(self, job_id: str, result_key: str) -> Job:
        return self._update(job_id, lambda job, now: job.complete(result_key, now))

    def fail_job(self, job_id: str, code: str, message: str) -> Job:
        return self._update(job_id, lambda job, now: job.fail(code, message, now))

    def _update(
        self,
        job_id: str,
        change: Callable[[Job, Any], Job],
        expected_version: int | None = None,
        *,
        owner: str | None = None,
    ) -> Job:
        """Read, apply ``change``, write conditioned on the version read.

        With ``expected_version`` a concurrent change is the client's to resolve (412).
        Without it the change is re-applied to the fresh job, a bounded number of times.
        With ``owner``, only that owner's job is changed (the pipeline's changes name none).
        """
        check_job_id(job_id)
        for _ in range(self._update_attempts):
            job = self._jobs.get(job_id)
            if owner is not None:
                owned(job, owner)
            check_version(job, expected_version)
            changed = change(job, self._clock.now())
            if changed is job:
                return job
            try:
                self._jobs.save(changed, expected_version=job.version)
            except ConcurrentModification:
                if expected_version is not None:
                    raise PreconditionFailed(
                        "The job changed after the version you sent.",
                        job_id=job_id,
                        expected_version=expected_version,
                    ) from None
                continue
            return changed
        raise ConcurrentModification(
            "The job was changed by others at the same time; try again.", job_id=job_id
        )


def _pings(ping: Callable[[], None]) -> bool:
    try:
        ping()
    except DomainError:
        return False
    except Exception:
        log.exception("readiness ping failed")
        return False
    return True
