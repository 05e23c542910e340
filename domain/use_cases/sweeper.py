"""The sweeper: nothing stays stuck. Jobs processing for longer than the timeout are failed
(``PROCESSING_TIMEOUT``), and pending jobs the pipeline has not started within the re-send
delay are sent to it again. It finds both through the store's index of unfinished jobs."""

from __future__ import annotations

import logging
from datetime import timedelta

from attrs import frozen

from domain.errors import DomainError, InvalidTransition
from domain.job import JobStatus
from domain.pipeline import JobMessage, MessageKind
from domain.use_cases.lifecycle import Lifecycle
from ports.jobs import JobStore
from ports.pipeline import PipelineQueue
from ports.system import Clock

log = logging.getLogger(__name__)

TIMEOUT_CODE = "PROCESSING_TIMEOUT"
# Jobs of each kind per pass, oldest first (the next pass takes the rest).
SWEEP_BATCH = 500


@frozen
class SweepReport:
    failed: list[str]
    resent: list[str]


class Sweeper:
    def __init__(
        self,
        jobs: JobStore,
        lifecycle: Lifecycle,
        queue: PipelineQueue,
        clock: Clock,
        *,
        processing_timeout: timedelta,
        resend_after: timedelta,
        batch: int = SWEEP_BATCH,
    ) -> None:
        self._jobs = jobs
        self._lifecycle = lifecycle
        self._queue = queue
        self._clock = clock
        self._timeout = processing_timeout
        self._resend_after = resend_after
        self._batch = batch

    def sweep(self) -> SweepReport:
        """One pass: at most ``batch`` jobs of each kind (the next pass takes the rest)."""
        now = self._clock.now()
        failed: list[str] = []
        minutes = int(self._timeout.total_seconds() // 60)
        reason = f"The detection did not finish within {minutes} minutes."
        for job in self._jobs.stale_jobs(JobStatus.PROCESSING, now - self._timeout, self._batch):
            try:
                self._lifecycle.fail_job(job.job_id, TIMEOUT_CODE, reason)
            except InvalidTransition:
                continue  # it finished meanwhile (the index lags the table)
            failed.append(job.job_id)
        resent: list[str] = []
        for stale in self._jobs.stale_jobs(
            JobStatus.PENDING, now - self._resend_after, self._batch
        ):
            # The index lags its table: a job cancelled or started meanwhile is not sent.
            job = self._jobs.get(stale.job_id)
            if job.status is not JobStatus.PENDING:
                continue
            try:
                self._queue.send(JobMessage.of(job, MessageKind.CREATED, resent_at=now))
            except DomainError:
                log.warning("could not re-send a pending job", extra={"job_id": job.job_id})
                continue
            resent.append(job.job_id)
        if failed or resent:
            log.info("sweep", extra={"failed": len(failed), "resent": len(resent)})
        return SweepReport(failed, resent)
