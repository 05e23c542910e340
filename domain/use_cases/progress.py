"""Progress: the pipeline's updates applied to jobs, in any order and any number of times.

A job's state only moves forward (pending, processing, then one terminal state), so an update
is applied only if it moves the job forward: a repeated update finds the job already where it
leads (``DUPLICATE``), an older one finds it further on (``BEHIND``), and one for a job that
ended otherwise, cancelled meanwhile say, is ignored with a log line (``TERMINAL``). A
``completed`` or ``failed`` that arrives before its ``started`` moves the job through
``processing`` first.
"""

from __future__ import annotations

import enum
import logging

from domain.errors import InvalidTransition
from domain.job import Job, JobStatus
from domain.pipeline import ProgressUpdate, UpdateKind
from domain.use_cases.lifecycle import Lifecycle

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    BEHIND = "behind"
    TERMINAL = "terminal"


_LEADS_TO = {
    UpdateKind.STARTED: JobStatus.PROCESSING,
    UpdateKind.COMPLETED: JobStatus.COMPLETED,
    UpdateKind.FAILED: JobStatus.FAILED,
}


class Progress:
    def __init__(self, lifecycle: Lifecycle) -> None:
        self._lifecycle = lifecycle

    def apply(self, update: ProgressUpdate) -> Outcome:
        """Apply ``update`` if it moves its job forward. Raises ``JobNotFound`` for a job that
        does not exist (such an update can never apply)."""
        job = self._lifecycle.pipeline_job(update.job_id)
        target = _LEADS_TO[update.kind]
        if job.status is JobStatus.PENDING:
            if update.kind is not UpdateKind.STARTED:
                job = self._step(job, UpdateKind.STARTED, update)  # its "started" is late
            return self._settle(self._step(job, update.kind, update), update, target)
        if job.status is JobStatus.PROCESSING:
            if update.kind is UpdateKind.STARTED:
                return Outcome.DUPLICATE
            return self._settle(self._step(job, update.kind, update), update, target)
        return self._ignored(job, update, target)

    def _step(self, job: Job, kind: UpdateKind, update: ProgressUpdate) -> Job:
        """One transition, through the lifecycle's conditional write; a job that has moved on
        meanwhile is returned as it now is."""
        try:
            if kind is UpdateKind.STARTED:
                return self._lifecycle.start_processing(job.job_id)
            if kind is UpdateKind.COMPLETED:
                assert update.result_key is not None
                return self._lifecycle.complete_job(job.job_id, update.result_key)
            assert update.error_code is not None
            assert update.error_message is not None
            return self._lifecycle.fail_job(job.job_id, update.error_code, update.error_message)
        except InvalidTransition:
            return self._lifecycle.pipeline_job(job.job_id)

    def _settle(self, job: Job, update: ProgressUpdate, target: JobStatus) -> Outcome:
        if job.status is target:
            return Outcome.APPLIED
        return self._ignored(job, update, target)

    @staticmethod
    def _ignored(job: Job, update: ProgressUpdate, target: JobStatus) -> Outcome:
        if job.status is target:
            return Outcome.DUPLICATE
        if target is JobStatus.PROCESSING:
            return Outcome.BEHIND  # a "started" after the job has gone further
        log.info(
            "a late update for a finished job was ignored",
            extra={
                "job_id": job.job_id,
                "event_id": update.event_id,
                "status": job.status.value,
                "update": update.kind.value,
            },
        )
        return Outcome.TERMINAL
