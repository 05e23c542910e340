"""Where jobs and their feedback are kept."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from attrs import frozen

from domain.feedback import Feedback
from domain.job import Job, JobStatus
from domain.upload import UploadSession


@frozen
class JobPage:
    """Some of an owner's jobs, newest first; ``more`` when older ones follow the last."""

    jobs: list[Job]
    more: bool


class JobStore(Protocol):
    def add(self, job: Job, unfinished_limit: int | None = None) -> None:
        """Store a new job. Create-only: an existing id raises ``JobAlreadyExists``.

        The store counts each owner's unfinished jobs: an unfinished job is counted as it is
        added, and stops counting when a ``save`` finishes it. With ``unfinished_limit``, a
        new unfinished job that would make the owner's count exceed it is refused with
        ``RateLimited``, atomically (concurrent adds never pass the limit together).

        Any error means the job was not stored, except ``WriteOutcomeUnknown``: the store
        could not tell (a write timed out, and reading it back failed too). Writes of one
        owner's jobs that keep contending for its count are ``ServiceUnavailable`` (retry)."""

    def unfinished_jobs(self, owner: str) -> int:
        """How many of the owner's jobs are counted as unfinished now."""

    def get(self, job_id: str) -> Job:
        """The current job. Raises ``JobNotFound``."""

    def save(self, job: Job, expected_version: int) -> None:
        """Replace the job if its stored version is still ``expected_version``.

        ``job.version`` must be ``expected_version + 1``. Raises ``ConcurrentModification``
        when the stored version differs, ``JobNotFound`` when there is no such job. Saving a
        finished job (a terminal status: a finished job never changes again) releases its
        owner's unfinished count, in the same atomic write.
        """

    def list_jobs(
        self, owner: str, status: JobStatus | None, limit: int, after: str | None
    ) -> JobPage:
        """The owner's jobs (of ``status`` if given), newest first, at most ``limit`` of them,
        starting after the job ``after`` (a job id) if given. An index query, never a scan.

        Eventually consistent on DynamoDB: a job created or changed a moment ago may be
        missing from the listing, or listed in its former status, for a short while.
        """

    def stale_jobs(self, status: JobStatus, changed_before: datetime, limit: int) -> list[Job]:
        """Unfinished jobs in ``status`` (pending or processing) last changed before
        ``changed_before``, oldest change first, at most ``limit``: for the sweeper. An index of
        unfinished jobs only, queried, never a scan; eventually consistent on DynamoDB."""

    def find_completed_by_hash(self, owner: str, sha256: str) -> Job | None:
        """A completed job of ``owner`` whose blueprint has this SHA-256, if there is one (the
        result cache, scoped to the owner; an index lookup, never a scan of every job).

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

    def add_job_from_upload(
        self, job: Job, upload_id: str, unfinished_limit: int | None = None
    ) -> None:
        """Add ``job`` and mark the session used by it, both or neither (the unfinished count
        and its limit as for ``add``).

        Raises ``UploadAlreadyUsed`` if the session has a job, ``UploadNotFound`` without it.
        As for ``add``, any error means neither was stored, except ``WriteOutcomeUnknown``.
        """

    def ping(self) -> None:
        """Return if the store can serve requests; raise ``ServiceUnavailable`` if not."""
