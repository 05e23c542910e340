"""Upload sessions in the jobs table (``pk`` = the upload id, ``sk = "UPLOAD"``), for the job
store: a session is recorded when it is opened, and marked with the one job made from it. Its
owner is ``upload_owner``: an attribute ``owner`` would put it in the listings' index."""

from __future__ import annotations

from collections.abc import Callable

from adapters.dynamodb.counts import Counted
from adapters.dynamodb.outcomes import (
    TRANSACTION_ATTEMPTS,
    TransactionCancelled,
    pause_after_conflict,
)
from adapters.dynamodb.schema import UPLOAD_SK, Item, JobItem, UploadItem
from adapters.dynamodb.table import Table
from domain.blueprint import BlueprintFormat
from domain.errors import (
    ConcurrentModification,
    JobAlreadyExists,
    UploadAlreadyUsed,
    UploadNotFound,
)
from domain.timestamps import format_timestamp, parse_timestamp
from domain.upload import UploadSession


class UploadSessions:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, session: UploadSession) -> None:
        item = UploadItem(
            pk=session.upload_id,
            sk=UPLOAD_SK,
            upload_owner=session.owner,
            key=session.key,
            format=session.format.value,
            size_bytes=session.size_bytes,
            created_at=format_timestamp(session.created_at),
            expires_at=format_timestamp(session.expires_at),
            job_id=session.job_id,
            expires=session.expires_at,
        )
        self._table.put_item(item, condition=Item.pk.does_not_exist())

    def get(self, upload_id: str) -> UploadSession:
        item = self._table.get_item(UploadItem, upload_id, UPLOAD_SK)
        # A session opened before sessions had owners is nobody's: none may use it.
        if item is None or item.attribute_values.get("upload_owner") is None:
            raise UploadNotFound("No upload session has this id.", upload_id=upload_id)
        return UploadSession(
            upload_id=item.pk,
            owner=item.upload_owner,
            key=item.key,
            format=BlueprintFormat(item.format),
            size_bytes=int(item.size_bytes),
            created_at=parse_timestamp(item.created_at),
            expires_at=parse_timestamp(item.expires_at),
            job_id=item.job_id,
        )

    def take(
        self,
        upload_id: str,
        job: JobItem,
        landed: Callable[[JobItem], bool],
        counted: Counted | None = None,
    ) -> None:
        """One transaction: ``job`` is new, the session exists and has no job yet; it records
        the job, marks the session with it and, given ``counted``, counts the job as its
        owner's (within the limit). ``landed`` tells whether the stored job is the one ``job``
        wrote.

        Concurrent creations from one session conflict on it; a conflict is tried again, and
        then the session's condition decides which request made the job.
        """
        session = UploadItem(pk=upload_id, sk=UPLOAD_SK)
        mark = (
            session,
            [UploadItem.job_id.set(job.pk)],
            Item.pk.exists() & UploadItem.job_id.does_not_exist(),
        )
        updates = [mark] if counted is None else [mark, counted.update()]
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                # The write's own token: DynamoDB takes a retry of a transaction that landed
                # as done, and no other write can be mistaken for this one.
                self._table.transact_write(
                    job.write_token, puts=[(job, Item.pk.does_not_exist())], updates=updates
                )
                return
            except TransactionCancelled as cancelled:
                if cancelled.any_condition_failed:
                    self._explain_refusal(upload_id, job, cancelled, landed, counted)
                    return  # an earlier attempt of this transaction landed
                if not cancelled.conflicted:
                    raise
                pause_after_conflict(attempt)
        # Still conflicting: if another request has made the session's job meanwhile, that is
        # the answer, as it is when the session's condition decides.
        current = self.get(upload_id)
        if current.job_id is not None and current.job_id != job.pk:
            raise UploadAlreadyUsed("This upload has already created a job.", job_id=current.job_id)
        raise ConcurrentModification(
            "This upload is being used concurrently; try again.", upload_id=upload_id
        )

    def _explain_refusal(
        self,
        upload_id: str,
        job: JobItem,
        cancelled: TransactionCancelled,
        landed: Callable[[JobItem], bool],
        counted: Counted | None,
    ) -> None:
        """Return if ``job`` is stored and holds the session (the transaction landed on an
        earlier attempt); raise what refused it otherwise."""
        current = self.get(upload_id)  # raises UploadNotFound if missing
        if current.job_id == job.pk and landed(job):
            return
        # Items in the order sent: the job's put, the session's mark, the owner's count.
        if cancelled.condition_failed(0):
            raise JobAlreadyExists("A job with this id exists.", job_id=job.pk)
        if counted is not None and not cancelled.condition_failed(1):
            counted.raise_if_refused(cancelled, 2)
        raise UploadAlreadyUsed("This upload has already created a job.", job_id=current.job_id)
