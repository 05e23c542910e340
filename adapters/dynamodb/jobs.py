"""The job store on DynamoDB: jobs and their feedback, and (through ``uploads``) the upload
sessions jobs are made from. The items and keys are in ``schema``, the calls in ``table``."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from adapters.aws import finishing
from adapters.dynamodb.schema import (
    BY_HASH_INDEX,
    COUNTER_SK,
    FEEDBACK_PREFIX,
    JOB_SK,
    CounterItem,
    FeedbackItem,
    Item,
    JobItem,
)
from adapters.dynamodb.table import (
    TRANSACTION_ATTEMPTS,
    ConditionFailed,
    Table,
    TransactionCancelled,
    pause_after_conflict,
)
from adapters.dynamodb.uploads import UploadSessions
from domain.blueprint import BlueprintFormat
from domain.errors import (
    ConcurrentModification,
    FeedbackLimitReached,
    JobAlreadyExists,
    JobNotFound,
    ServiceUnavailable,
    WriteOutcomeUnknown,
)
from domain.feedback import Feedback
from domain.job import Job, JobError, JobStatus
from domain.timestamps import format_timestamp, parse_timestamp
from domain.upload import UploadSession


class DynamoDBJobStore:
    """The ``JobStore`` port on ``table``."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._uploads = UploadSessions(table)

    # -- mapping, both ways, explicitly -----------------------------------------------------

    @staticmethod
    def _to_item(job: Job) -> JobItem:
        return JobItem(
            write_token=secrets.token_hex(8),
            pk=job.job_id,
            sk=JOB_SK,
            status=job.status.value,
            created_at=format_timestamp(job.created_at),
            updated_at=format_timestamp(job.updated_at),
            blueprint_format=job.blueprint_format.value,
            blueprint_hash=job.blueprint_hash,
            completed_hash=job.blueprint_hash if job.status is JobStatus.COMPLETED else None,
            blueprint_size_bytes=job.blueprint_size_bytes,
            blueprint_key=job.blueprint_s3_key,
            result_key=job.result_s3_key,
            error_code=job.error.code if job.error else None,
            error_message=job.error.message if job.error else None,
            request_id=job.request_id,
            correlation_id=job.correlation_id,
            api_version=job.api_version,
            cached_from=job.cached_from,
            version=job.version,
        )

    @staticmethod
    def _to_job(item: JobItem) -> Job:
        return Job(
            job_id=item.pk,
            status=JobStatus(item.status),
            created_at=parse_timestamp(item.created_at),
            updated_at=parse_timestamp(item.updated_at),
            blueprint_format=BlueprintFormat(item.blueprint_format),
            blueprint_hash=item.blueprint_hash,
            blueprint_size_bytes=int(item.blueprint_size_bytes),
            blueprint_s3_key=item.blueprint_key,
            result_s3_key=item.result_key,
            error=JobError(item.error_code, item.error_message) if item.error_code else None,
            request_id=item.request_id,
            correlation_id=item.correlation_id,
            api_version=item.api_version,
            version=int(item.version),
            cached_from=item.cached_from,
        )

    # -- jobs -------------------------------------------------------------------------------

    def add(self, job: Job) -> None:
        item = self._to_item(job)

        def write() -> None:
            try:
                self.table.put_item(item, condition=Item.pk.does_not_exist())
            except ConditionFailed:
                # botocore retries a call whose answer was lost; if the first attempt landed,
                # the retry finds the job there. Only another job under this id is a conflict.
                if not self._landed(item):
                    raise JobAlreadyExists(
                        "A job with this id exists.", job_id=job.job_id
                    ) from None

        self._settled(item, write)

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

    def get(self, job_id: str) -> Job:
        item = self.table.get_item(JobItem, job_id, JOB_SK)
        if item is None:
            raise JobNotFound("No job has this id.", job_id=job_id)
        return self._to_job(item)

    def save(self, job: Job, expected_version: int) -> None:
        if job.version != expected_version + 1:
            raise ValueError("a saved job's version must be expected_version + 1")
        item = self._to_item(job)
        try:
            self.table.put_item(item, condition=JobItem.version == expected_version)
        except ConditionFailed:
            if self._landed(item):
                return
            self.get(job.job_id)  # raises JobNotFound if the job is not there at all
            raise ConcurrentModification(
                "The job changed concurrently.",
                job_id=job.job_id,
                expected_version=expected_version,
            ) from None

    def find_completed_by_hash(self, sha256: str) -> Job | None:
        found = self.table.query(JobItem, sha256, index=BY_HASH_INDEX, limit=1)
        return self._to_job(found[0]) if found else None

    # -- feedback ---------------------------------------------------------------------------

    def add_feedback(self, feedback: Feedback, limit: int) -> None:
        """One transaction: the job exists, the counter stays within ``limit``, the entry is
        new. Conflicting transactions on the counter are retried a few times."""
        created = format_timestamp(feedback.created_at)
        entry = FeedbackItem(
            pk=feedback.job_id,
            sk=f"{FEEDBACK_PREFIX}{created}#{feedback.feedback_id}",
            feedback_id=feedback.feedback_id,
            rating=feedback.rating,
            comment=feedback.comment,
            created_at=created,
        )
        counter = CounterItem(pk=feedback.job_id, sk=COUNTER_SK)
        within_limit = (CounterItem.entries < limit) | CounterItem.entries.does_not_exist()
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                # The token makes DynamoDB take a retry of a transaction that landed as done.
                self.table.transact_write(
                    feedback.feedback_id,
                    checks=[(feedback.job_id, JOB_SK, Item.pk.exists())],
                    puts=[(entry, Item.pk.does_not_exist())],
                    updates=[
                        (
                            counter,
                            [CounterItem.entries.add(1), CounterItem.kind.set(CounterItem)],
                            within_limit,
                        )
                    ],
                )
                return
            except TransactionCancelled as cancelled:
                # Items in the order sent: the job's check, the entry, the counter.
                if cancelled.condition_failed(1):  # the entry, with its unique id, is there
                    return  # this write landed
                if cancelled.condition_failed(0):
                    raise JobNotFound("No job has this id.", job_id=feedback.job_id) from None
                if cancelled.condition_failed(2):
                    raise FeedbackLimitReached(
                        f"A job takes at most {limit} feedback entries.", limit=limit
                    ) from None
                if not cancelled.conflicted:
                    raise
                pause_after_conflict(attempt)
        raise ConcurrentModification(
            "Feedback for this job is being written concurrently; try again.",
            job_id=feedback.job_id,
        )

    def list_feedback(self, job_id: str) -> list[Feedback]:
        items = self.table.query(FeedbackItem, job_id, Item.sk.startswith(FEEDBACK_PREFIX))
        return [
            Feedback(
                feedback_id=item.feedback_id,
                job_id=item.pk,
                rating=int(item.rating),
                comment=item.comment,
                created_at=parse_timestamp(item.created_at),
            )
            for item in items
        ]

    # -- upload sessions --------------------------------------------------------------------

    def add_upload(self, session: UploadSession) -> None:
        self._uploads.add(session)

    def get_upload(self, upload_id: str) -> UploadSession:
        return self._uploads.get(upload_id)

    def add_job_from_upload(self, job: Job, upload_id: str) -> None:
        """The job and the session's mark, both or neither (see ``UploadSessions.take``)."""
        item = self._to_item(job)
        self._settled(item, lambda: self._uploads.take(upload_id, item, self._landed))

    def ping(self) -> None:
        self.table.ping()
