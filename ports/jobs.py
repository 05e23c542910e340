"""Where jobs and their feedback are kept."""

from __future__ import annotations

from typing import Protocol

from domain.feedback import Feedback
from domain.job import Job
from domain.upload import UploadSession


class JobStore(Protocol):
    def add(self, job: Job) -> None:
        """Store a new job. Create-only: an existing id raises ``JobAlreadyExists``.

        Any error means the job was not stored, except ``WriteOutcomeUnknown``: the store
        could not tell (a write timed out, and reading it back failed too)."""

    def get(self, job_id: str) -> Job:
        """The current job. Raises ``JobNotFound``."""

    def save(self, job: Job, expected_version: int) -> None:
        """Replace the job if its stored version is still ``expected_version``.

        ``job.version`` must be ``expected_version + 1``. Raises ``ConcurrentModification``
        when the stored version differs, ``JobNotFound`` when there is no such job.
        """

    def find_completed_by_hash(self, sha256: str) -> Job | None:
        """A completed job whose blueprint has this SHA-256, if there is one (the result
        cache; an index lookup, never a scan of every job).

        Eventually consistent: a job completed a moment ago may not be found yet (DynamoDB's
        global secondary indexes lag their table). What is found is always a completed job,
        and since completion is final it is never stale. Callers must not depend on a
        completion being visible at once.
        """

    def add_feedback(self, feedback: Feedback, limit: int) -> None:
        """Append feedback to its job, atomically refusing the entry past ``limit``.

        Raises ``FeedbackLimitReached`` at the limit and ``JobNotFound`` without the job.
        """

    def list_feedback(self, job_id: str) -> list[Feedback]:
        """The job's feedback, oldest first (entries of one millisecond in id order)."""

    def add_upload(self, session: UploadSession) -> None:
        """Record a new upload session."""

    def get_upload(self, upload_id: str) -> UploadSession:
        """The session. Raises ``UploadNotFound``."""

    def add_job_from_upload(self, job: Job, upload_id: str) -> None:
        """Add ``job`` and mark the session used by it, both or neither.

        Raises ``UploadAlreadyUsed`` if the session has a job, ``UploadNotFound`` without it.
        As for ``add``, any error means neither was stored, except ``WriteOutcomeUnknown``.
        """

    def ping(self) -> None:
        """Return if the store can serve requests; raise ``ServiceUnavailable`` if not."""
