"""The job store on DynamoDB: jobs, their owners' unfinished counts and listings, and (through
``feedback`` and ``uploads``) the feedback on jobs and the upload sessions jobs are made from.
The items and keys are in ``schema``, the calls in ``table``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import NoReturn

from adapters.aws import finishing
from adapters.dynamodb.counts import Counted, released, unfinished
from adapters.dynamodb.feedback import FeedbackEntries
from adapters.dynamodb.mapping import has_owner, to_item, to_job
from adapters.dynamodb.outcomes import (
    TRANSACTION_ATTEMPTS,
    ConditionFailed,
    TransactionCancelled,
    pause_after_conflict,
)
from adapters.dynamodb.schema import (
    BY_HASH_INDEX,
    BY_OWNER_INDEX,
    BY_OWNER_STATUS_INDEX,
    JOB_SK,
    UNFINISHED_INDEX,
    Item,
    JobItem,
)
from adapters.dynamodb.table import Table
from adapters.dynamodb.uploads import UploadSessions
from domain.errors import (
    ConcurrentModification,
    JobAlreadyExists,
    JobNotFound,
    ServiceUnavailable,
    WriteOutcomeUnknown,
)
from domain.feedback import Feedback
from domain.job import TERMINAL, Job, JobStatus
from domain.timestamps import format_timestamp
from domain.upload import UploadSession
from ports.jobs import JobPage

_UNFINISHED = [status.value for status in JobStatus if status not in TERMINAL]


log = logging.getLogger(__name__)


class DynamoDBJobStore:
    """The ``JobStore`` port on ``table``."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._feedback = FeedbackEntries(table)
        self._uploads = UploadSessions(table)

    # -- jobs -------------------------------------------------------------------------------

    def add(self, job: Job, unfinished_limit: int | None = None) -> None:
        """A finished job (the result cache's) is one conditioned put; an unfinished one, one
        transaction with its owner's count."""
        item = to_item(job)
        if job.done:
            self._settled(item, lambda: self._put_new(item))
        else:
            counted = Counted(job.owner, unfinished_limit)
            self._settled(item, lambda: self._add_counted(item, counted))

    def _put_new(self, item: JobItem) -> None:
        try:
            self.table.put_item(item, condition=Item.pk.does_not_exist())
        except ConditionFailed:
            # botocore retries a call whose answer was lost; if the first attempt landed, the
            # retry finds the job there. Only another job under this id is a conflict.
            if not self._landed(item):
                raise JobAlreadyExists("A job with this id exists.", job_id=item.pk) from None

    def _add_counted(self, item: JobItem, counted: Counted) -> None:
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                # The write's own token: DynamoDB takes a retry of a transaction that landed
                # as done, and no other write can be mistaken for this one.
                self.table.transact_write(
                    item.write_token,
                    puts=[(item, Item.pk.does_not_exist())],
                    updates=[counted.update()],
                )
                return
            except TransactionCancelled as cancelled:
                # Items in the order sent: the job, its owner's count.
                if cancelled.condition_failed(0):
                    if self._landed(item):  # an earlier attempt of this write landed
                        return
                    raise JobAlreadyExists("A job with this id exists.", job_id=item.pk) from None
                counted.raise_if_refused(cancelled, 1)
                if not cancelled.conflicted:
                    raise
                pause_after_conflict(attempt)
        # Only the owner's count is contended (the job's own conditions held): not the
        # client's conflict to resolve, but a moment's unavailability (503, Retry-After).
        raise ServiceUnavailable(
            "This owner's jobs are being written concurrently; try again.", retry_after=1
        )

    def _settled(self, item: JobItem, write: Callable[[], None]) -> None:
        """Run ``write``, which creates ``item``. A write that failed as unavailable may have
        landed all the same (a timeout whose request was carried out): it is read back, as
        part of finishing the request. Landed, it succeeded; absent, its error stands (a
        ``WriteOutcomeUnknown`` stays unknown: that write may still land); and if even the read
        fails, the outcome is unknown."""
        try:
            write()
        except ServiceUnavailable as failed:
            with finishing():
                try:
                    landed = self._landed(item)
                except ServiceUnavailable:
                    raise WriteOutcomeUnknown(
                        "The job store did not say whether the job was stored.",
                        retry_after=failed.retry_after,
                    ) from failed
            if not landed:
                raise

    def _landed(self, item: JobItem) -> bool:
        """Whether the stored job is the one ``item`` wrote: a write reported as failed (its
        answer lost, botocore's retry refused by the condition) may have landed."""
        stored = self.table.get_item(JobItem, item.pk, JOB_SK)
        return stored is not None and stored.write_token == item.write_token

    def unfinished_jobs(self, owner: str) -> int:
        return unfinished(self.table, owner)

    def get(self, job_id: str) -> Job:
        item = self.table.get_item(JobItem, job_id, JOB_SK)
        if item is None:
            raise JobNotFound("No job has this id.", job_id=job_id)
        if not has_owner(item):
            # Written before jobs had owners: nobody's, so nobody may reach it (README,
            # Deploy, says how to give such jobs an owner).
            log.warning("a job without an owner was asked for", extra={"job_id": job_id})
            raise JobNotFound("No job has this id.", job_id=job_id)
        return to_job(item)

    def save(self, job: Job, expected_version: int) -> None:
        """A conditioned put; one that finishes the job is a transaction that also takes it
        off its owner's unfinished count."""
        if job.version != expected_version + 1:
            raise ValueError("a saved job's version must be expected_version + 1")
        item = to_item(job)
        if job.done:
            self._finish(item, expected_version)
        else:
            self._replace(item, expected_version)

    def _replace(self, item: JobItem, expected_version: int) -> None:
        try:
            self.table.put_item(item, condition=JobItem.version == expected_version)
        except ConditionFailed:
            if not self._landed(item):
                self._refuse(item.pk, expected_version)

    def _finish(self, item: JobItem, expected_version: int) -> None:
        # Only a job that was unfinished is taken off the count: one finished already (saved
        # again, finished) is replaced alone.
        unfinished_before = (JobItem.version == expected_version) & JobItem.status.is_in(
            *_UNFINISHED
        )
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                self.table.transact_write(
                    item.write_token,
                    puts=[(item, unfinished_before)],
                    updates=[released(item.owner)],
                )
                return
            except TransactionCancelled as cancelled:
                if cancelled.condition_failed(0):
                    if self._landed(item):  # an earlier attempt of this write landed
                        return
                    stored = self.get(item.pk)  # raises JobNotFound if it is not there at all
                    if stored.version == expected_version and stored.done:
                        self._replace(item, expected_version)
                        return
                    self._refuse(item.pk, expected_version)
                if not cancelled.conflicted:
                    raise
                pause_after_conflict(attempt)
        # Only the owner's count is contended (the job's own conditions held): not the
        # client's conflict to resolve, but a moment's unavailability (503, Retry-After).
        raise ServiceUnavailable(
            "This owner's jobs are being written concurrently; try again.", retry_after=1
        )

    def _refuse(self, job_id: str, expected_version: int) -> NoReturn:
        self.get(job_id)  # raises JobNotFound if the job is not there at all
        raise ConcurrentModification(
            "The job changed concurrently.", job_id=job_id, expected_version=expected_version
        ) from None

    def list_jobs(
        self, owner: str, status: JobStatus | None, limit: int, after: str | None
    ) -> JobPage:
        """A query of ``jobs-by-owner`` (or ``jobs-by-owner-status``), newest first, for one
        job more than asked: whether it is there says whether more follow. Eventually
        consistent, as every global secondary index: a job written a moment ago may be
        missing, or listed as it was, for a short while."""
        if status is None:
            index, name, key = BY_OWNER_INDEX, "owner", owner
        else:
            index, name, key = BY_OWNER_STATUS_INDEX, "owner_status", f"{owner}#{status.value}"
        if after == "":
            return JobPage([], more=False)  # no job id sorts before "" (and DynamoDB refuses it)
        start = None if after is None else {name: key, "pk": after, "sk": JOB_SK}
        items = self.table.query(
            JobItem, key, index=index, limit=max(limit, 0) + 1, descending=True, after=start
        )
        jobs = [to_job(item) for item in items]
        return JobPage(jobs[:limit], more=len(jobs) > limit)

    def stale_jobs(self, status: JobStatus, changed_before: datetime, limit: int) -> list[Job]:
        """A query of the sparse index of unfinished jobs, by status, for those last changed
        before ``changed_before`` (``updated_at`` is RFC 3339 text to the millisecond, which
        sorts as the instants do), oldest first: eventually consistent."""
        if status in TERMINAL or limit <= 0:
            return []  # no finished job is in the index
        cutoff = format_timestamp(changed_before)
        items = self.table.query(
            JobItem,
            status.value,
            JobItem.updated_at < cutoff,
            index=UNFINISHED_INDEX,
            limit=limit,
        )
        return [to_job(item) for item in items if has_owner(item)]

    def find_completed_by_hash(self, owner: str, sha256: str) -> Job | None:
        """A query of the sparse index of completed jobs, by ``"<sha256>#<owner>"``:
        eventually consistent."""
        found = self.table.query(JobItem, f"{sha256}#{owner}", index=BY_HASH_INDEX, limit=1)
        return to_job(found[0]) if found else None

    # -- feedback ---------------------------------------------------------------------------

    def add_feedback(self, feedback: Feedback, limit: int) -> None:
        self._feedback.add(feedback, limit)

    def list_feedback(self, job_id: str) -> list[Feedback]:
        return self._feedback.list(job_id)

    # -- upload sessions --------------------------------------------------------------------

    def add_upload(self, session: UploadSession) -> None:
        self._uploads.add(session)

    def get_upload(self, upload_id: str) -> UploadSession:
        return self._uploads.get(upload_id)

    def add_job_from_upload(
        self, job: Job, upload_id: str, unfinished_limit: int | None = None
    ) -> None:
        """The job, the session's mark and (an unfinished job) its owner's count, all or
        none (see ``UploadSessions.take``)."""
        item = to_item(job)
        counted = None if job.done else Counted(job.owner, unfinished_limit)
        self._settled(item, lambda: self._uploads.take(upload_id, item, self._landed, counted))

    def ping(self) -> None:
        self.table.ping()
