"""Feedback: ratings of finished jobs, validated before the job is read."""

from __future__ import annotations

from typing import Any

from domain import ids
from domain.errors import JobNotFinished
from domain.feedback import MAX_FEEDBACK_PER_JOB, Feedback, Rating
from domain.job import JobStatus
from domain.use_cases.shared import check_job_id, check_version, owned
from ports.jobs import JobStore
from ports.system import Clock, Entropy


class FeedbackDesk:
    def __init__(self, jobs: JobStore, clock: Clock, entropy: Entropy) -> None:
        self._jobs = jobs
        self._clock = clock
        self._entropy = entropy

    def add_feedback(
        self,
        owner: str,
        job_id: str,
        rating: Any,
        comment: Any = None,
        expected_version: int | None = None,
    ) -> Feedback:
        """Validate the feedback first, then attach it to the owner's completed or failed job."""
        parsed = Rating.parse(rating, comment)
        check_job_id(job_id)
        job = owned(self._jobs.get(job_id), owner)
        check_version(job, expected_version)
        if job.status not in (JobStatus.COMPLETED, JobStatus.FAILED):
            raise JobNotFinished(
                "Feedback is accepted once a job has completed or failed; "
                f"this job is {job.status.value}.",
                job_id=job_id,
                status=job.status.value,
            )
        now = self._clock.now()
        feedback_id = ids.new_feedback_id(now, self._entropy.random_bytes(ids.ULID_RANDOM_BYTES))
        feedback = Feedback.create(feedback_id, job_id, parsed, now)
        self._jobs.add_feedback(feedback, MAX_FEEDBACK_PER_JOB)
        return feedback

    def list_feedback(self, owner: str, job_id: str) -> list[Feedback]:
        check_job_id(job_id)
        owned(self._jobs.get(job_id), owner)
        return self._jobs.list_feedback(job_id)
