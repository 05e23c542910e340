"""The job store on DynamoDB, through PynamoDB.

One table, keyed ``pk`` (the job id) and ``sk``: the job item (``sk = "JOB"``), one item per
feedback entry (``sk = "FB#<created_at>#<feedback_id>"``, so a query returns them oldest first)
and a feedback counter (``sk = "FEEDBACK_COUNT"``). Keeping feedback out of the job item keeps
every item a few KB, whatever the number of entries, and keeps the job's version for the job.

The persistence models are built per store, from the table, region and endpoint given, so no
connection state is shared between stores, tables or tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import (
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PynamoDBException, TableDoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from adapters.aws import (
    DYNAMODB_POLICY,
    AttemptGuard,
    CallPolicy,
    error_code,
    finishing,
    raise_translated,
)
from domain.blueprint import BlueprintFormat
from domain.errors import (
    ConcurrentModification,
    FeedbackLimitReached,
    JobAlreadyExists,
    JobNotFound,
    ServiceUnavailable,
    UploadAlreadyUsed,
    UploadNotFound,
    WriteOutcomeUnknown,
)
from domain.feedback import Feedback
from domain.job import Job, JobError, JobStatus
from domain.timestamps import format_timestamp, parse_timestamp
from domain.upload import UploadSession
from ports.idempotency import IdempotencyRecord, RecordState

JOB_SK = "JOB"
IDEMPOTENCY_PREFIX = "IDEM#"
IDEMPOTENCY_SK = "IDEMPOTENCY"
_CLAIM_ATTEMPTS = 3
_WHAT = "The job store"
# Sparse: only completed jobs carry ``completed_hash``, so the index holds just what the
# result cache may reuse. Like every global secondary index, it is eventually consistent.
BY_HASH_INDEX = "completed-by-blueprint-hash"
UPLOAD_SK = "UPLOAD"
COUNTER_SK = "FEEDBACK_COUNT"
FEEDBACK_PREFIX = "FB#"
_CONDITION_FAILED = "ConditionalCheckFailedException"
_TRANSACTION_ATTEMPTS = 4


def _models(table: str, region: str | None, host: str | None, policy: CallPolicy) -> Any:
    table_name_, region_, host_ = table, region, host

    class TableMeta:
        table_name = table_name_
        region = region_
        host = host_
        billing_mode = "PAY_PER_REQUEST"
        connect_timeout_seconds = policy.connect_timeout
        read_timeout_seconds = policy.read_timeout
        # PynamoDB turns this into botocore's "standard" retry mode, 1 + n attempts in all.
        max_retry_attempts = policy.max_attempts - 1

    class Item(Model):
        Meta = TableMeta  # type: ignore[assignment]
        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        kind = DiscriminatorAttribute()

    class ByBlueprintHash(GlobalSecondaryIndex["JobItem"]):  # type: ignore[no-untyped-call]
        """The result cache's lookup: completed jobs by their blueprint's SHA-256."""

        class Meta:
            index_name = BY_HASH_INDEX
            projection = AllProjection()

        completed_hash = UnicodeAttribute(hash_key=True)

    class JobItem(Item, discriminator="job"):
        by_hash = ByBlueprintHash()
        status = UnicodeAttribute()
        created_at = UnicodeAttribute()
        updated_at = UnicodeAttribute()
        blueprint_format = UnicodeAttribute()
        blueprint_hash = UnicodeAttribute()
        completed_hash = UnicodeAttribute(null=True)  # the index key: set once completed
        blueprint_size_bytes = NumberAttribute()
        blueprint_key = UnicodeAttribute()
        result_key = UnicodeAttribute(null=True)
        error_code = UnicodeAttribute(null=True)
        error_message = UnicodeAttribute(null=True)
        request_id = UnicodeAttribute()
        correlation_id = UnicodeAttribute()
        api_version = UnicodeAttribute()
        cached_from = UnicodeAttribute(null=True)
        # A fresh token per write: after a write whose answer was lost and whose retry failed
        # its condition, the token tells whether the stored item is this write or another's.
        write_token = UnicodeAttribute(null=True)
        version = VersionAttribute()

    class FeedbackItem(Item, discriminator="feedback"):
        feedback_id = UnicodeAttribute()
        rating = NumberAttribute()
        comment = UnicodeAttribute(null=True)
        created_at = UnicodeAttribute()

    class CounterItem(Item, discriminator="feedback_count"):
        entries = NumberAttribute(default=0)

    class UploadItem(Item, discriminator="upload"):
        key = UnicodeAttribute()
        format = UnicodeAttribute()
        size_bytes = NumberAttribute()
        created_at = UnicodeAttribute()
        expires_at = UnicodeAttribute()
        job_id = UnicodeAttribute(null=True)
        # DynamoDB deletes the session some time after this (TTL lags); reads check expires_at.
        expires = TTLAttribute(null=True)

    class IdempotencyItem(Item, discriminator="idempotency"):
        token = UnicodeAttribute()
        state = UnicodeAttribute()
        created_at = UnicodeAttribute()
        lease_until = UnicodeAttribute()
        expires_at = UnicodeAttribute()
        fingerprint = UnicodeAttribute(null=True)
        response = UnicodeAttribute(null=True)
        # DynamoDB deletes the record some time after this (TTL lags); claims check expires_at.
        expires = TTLAttribute(null=True)

    # One connection (one botocore client) for the table, made from the job model (whose
    # schema has the index) and shared through Item by every model.
    Item._connection = JobItem._get_connection()

    class Models:
        pass

    Models.Item = Item  # type: ignore[attr-defined]
    Models.JobItem = JobItem  # type: ignore[attr-defined]
    Models.FeedbackItem = FeedbackItem  # type: ignore[attr-defined]
    Models.CounterItem = CounterItem  # type: ignore[attr-defined]
    Models.UploadItem = UploadItem  # type: ignore[attr-defined]
    Models.IdempotencyItem = IdempotencyItem  # type: ignore[attr-defined]
    return Models


class DynamoDBJobStore:
    """``guard``, if given, keeps every call inside the request's deadline."""

    def __init__(
        self,
        table: str,
        *,
        region: str | None = None,
        host: str | None = None,
        policy: CallPolicy = DYNAMODB_POLICY,
        guard: AttemptGuard | None = None,
    ) -> None:
        self.table = table
        self._models = _models(table, region, host, policy)
        self._guard = guard
        self._guarded_client: Any = None

    @property
    def _m(self) -> Any:
        """The models, with the guard on the client they will call through. PynamoDB makes
        its client on first use (and makes a new one if it had found no credentials), so the
        guard is checked here, before every operation, rather than once."""
        if self._guard is not None:
            client = self._connection.client
            if client is not self._guarded_client:
                self._guard.install(client)
                self._guarded_client = client
        return self._models

    @property
    def client(self) -> Any:
        """The botocore client underneath (for instrumentation: metrics, fault injection)."""
        return self._connection.client

    @property
    def _connection(self) -> Connection:
        connection: Connection = self._models.Item._get_connection().connection
        return connection

    # -- mapping, both ways, explicitly -----------------------------------------------------

    def _to_item(self, job: Job) -> Any:
        return self._m.JobItem(
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
        )

    @staticmethod
    def _to_job(item: Any) -> Job:
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

    # -- the port ---------------------------------------------------------------------------

    def add(self, job: Job) -> None:
        item = self._to_item(job)
        item.version = job.version - 1  # PynamoDB writes it + 1: the job's own version

        def write() -> None:
            try:
                item.save(condition=self._m.Item.pk.does_not_exist(), add_version_condition=False)
            except PynamoDBException as error:
                if error_code(error) != _CONDITION_FAILED:
                    raise_translated(error, _WHAT)
                # botocore retries a call whose answer was lost; if the first attempt landed,
                # the retry finds the job there. Only another job under this id is a conflict.
                if not self._landed(item):
                    raise JobAlreadyExists(
                        "A job with this id exists.", job_id=job.job_id
                    ) from None

        self._settled(item, write)

    def _settled(self, item: Any, write: Callable[[], None]) -> None:
        """Run ``write``, which creates ``item``. A write that failed as unavailable may have
        landed all the same (a timeout whose request was carried out): it is read back, as
        part of finishing the request. Landed, it succeeded; absent, its error stands; and if
        even that cannot be learnt, the outcome is unknown."""
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

    def _landed(self, item: Any) -> bool:
        """Whether the stored job is the one ``item`` wrote: a write reported as failed (its
        answer lost, botocore's retry refused by the condition) may have landed."""
        try:
            stored = self._m.JobItem.get(item.pk, JOB_SK, consistent_read=True)
        except DoesNotExist:
            return False
        except PynamoDBException as error:
            raise_translated(error, _WHAT)
        return bool(stored.write_token == item.write_token)

    def get(self, job_id: str) -> Job:
        try:
            item = self._m.JobItem.get(job_id, JOB_SK, consistent_read=True)
        except DoesNotExist:
            raise JobNotFound("No job has this id.", job_id=job_id) from None
        except PynamoDBException as error:
            raise_translated(error, _WHAT)
        return self._to_job(item)

    def save(self, job: Job, expected_version: int) -> None:
        if job.version != expected_version + 1:
            raise ValueError("a saved job's version must be expected_version + 1")
        item = self._to_item(job)
        item.version = expected_version  # PynamoDB conditions on it and writes it + 1
        try:
            item.save()
        except PynamoDBException as error:
            if error_code(error) != _CONDITION_FAILED:
                raise_translated(error, _WHAT)
            if self._landed(item):
                return
            self.get(job.job_id)  # raises JobNotFound if the job is not there at all
            raise ConcurrentModification(
                "The job changed concurrently.",
                job_id=job.job_id,
                expected_version=expected_version,
            ) from None

    def find_completed_by_hash(self, sha256: str) -> Job | None:
        try:
            for item in self._m.JobItem.by_hash.query(sha256, limit=1):
                return self._to_job(item)
        except PynamoDBException as error:
            raise_translated(error, _WHAT)
        return None

    def add_feedback(self, feedback: Feedback, limit: int) -> None:
        """One transaction: the job exists, the counter stays within ``limit``, the entry is
        new. Conflicting transactions on the counter are retried a few times."""
        m = self._m
        created = format_timestamp(feedback.created_at)
        entry = m.FeedbackItem(
            pk=feedback.job_id,
            sk=f"{FEEDBACK_PREFIX}{created}#{feedback.feedback_id}",
            feedback_id=feedback.feedback_id,
            rating=feedback.rating,
            comment=feedback.comment,
            created_at=created,
        )
        counter = m.CounterItem(pk=feedback.job_id, sk=COUNTER_SK)
        for _ in range(_TRANSACTION_ATTEMPTS):
            try:
                # The token makes DynamoDB take a retry of a transaction that landed as done.
                with TransactWrite(
                    connection=self._connection, client_request_token=feedback.feedback_id
                ) as transaction:
                    transaction.condition_check(
                        m.JobItem, feedback.job_id, JOB_SK, condition=m.Item.pk.exists()
                    )
                    transaction.update(
                        counter,
                        actions=[
                            m.CounterItem.entries.add(1),
                            m.CounterItem.kind.set(m.CounterItem),
                        ],
                        condition=(m.CounterItem.entries < limit)
                        | m.CounterItem.entries.does_not_exist(),
                    )
                    transaction.save(entry, condition=m.Item.pk.does_not_exist())
                return
            except PynamoDBException as error:
                reasons = _cancellation_reasons(error)
                # PynamoDB sends condition checks, then puts, then updates: that is the order
                # of the cancellation reasons.
                failed = [r == "ConditionalCheckFailed" for r in reasons] + [False] * 3
                if failed[1]:  # the entry, with its unique id, is there: this write landed
                    return
                if failed[0]:
                    raise JobNotFound("No job has this id.", job_id=feedback.job_id) from None
                if failed[2]:
                    raise FeedbackLimitReached(
                        f"A job takes at most {limit} feedback entries.", limit=limit
                    ) from None
                if "TransactionConflict" in reasons:
                    continue
                raise_translated(error, _WHAT)
        raise ConcurrentModification(
            "Feedback for this job is being written concurrently; try again.",
            job_id=feedback.job_id,
        )

    def list_feedback(self, job_id: str) -> list[Feedback]:
        m = self._m
        try:
            items = list(
                m.FeedbackItem.query(
                    job_id, m.Item.sk.startswith(FEEDBACK_PREFIX), consistent_read=True
                )
            )
        except PynamoDBException as error:
            raise_translated(error, _WHAT)
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

    def add_upload(self, session: UploadSession) -> None:
        item = self._m.UploadItem(
            pk=session.upload_id,
            sk=UPLOAD_SK,
            key=session.key,
            format=session.format.value,
            size_bytes=session.size_bytes,
            created_at=format_timestamp(session.created_at),
            expires_at=format_timestamp(session.expires_at),
            job_id=session.job_id,
            expires=session.expires_at,
        )
        try:
            item.save(condition=self._m.Item.pk.does_not_exist())
        except PynamoDBException as error:
            raise_translated(error, _WHAT)

    def get_upload(self, upload_id: str) -> UploadSession:
        try:
            item = self._m.UploadItem.get(upload_id, UPLOAD_SK, consistent_read=True)
        except DoesNotExist:
            raise UploadNotFound("No upload session has this id.", upload_id=upload_id) from None
        except PynamoDBException as error:
            raise_translated(error, _WHAT)
        return UploadSession(
            upload_id=item.pk,
            key=item.key,
            format=BlueprintFormat(item.format),
            size_bytes=int(item.size_bytes),
            created_at=parse_timestamp(item.created_at),
            expires_at=parse_timestamp(item.expires_at),
            job_id=item.job_id,
        )

    def add_job_from_upload(self, job: Job, upload_id: str) -> None:
        """One transaction: the job is new, the session exists and has no job yet.

        Concurrent creations from one session conflict on it; a conflict is tried again, and
        then the session's condition decides which request made the job.
        """
        m = self._m
        item = self._to_item(job)  # version None: PynamoDB writes 1, if no version exists
        session = m.UploadItem(pk=upload_id, sk=UPLOAD_SK)
        self._settled(item, lambda: self._transact_job_from_upload(item, session, upload_id))

    def _transact_job_from_upload(self, item: Any, session: Any, upload_id: str) -> None:
        m = self._m
        for _ in range(_TRANSACTION_ATTEMPTS):
            try:
                # The token makes DynamoDB take a retry of a transaction that landed as done.
                with TransactWrite(
                    connection=self._connection, client_request_token=item.pk
                ) as transaction:
                    transaction.save(item, condition=m.Item.pk.does_not_exist())
                    transaction.update(
                        session,
                        actions=[m.UploadItem.job_id.set(item.pk)],
                        condition=m.Item.pk.exists() & m.UploadItem.job_id.does_not_exist(),
                    )
                return
            except PynamoDBException as error:
                reasons = _cancellation_reasons(error)
                if "ConditionalCheckFailed" in reasons:
                    self._explain_refused_upload(item, upload_id, reasons)
                    return  # an earlier attempt of this transaction landed
                if "TransactionConflict" not in reasons:
                    raise_translated(error, _WHAT)
        raise ConcurrentModification(
            "This upload is being used concurrently; try again.", upload_id=upload_id
        )

    def _explain_refused_upload(self, item: Any, upload_id: str, reasons: list[str | None]) -> None:
        """Return if ``item`` is stored and holds the session (the transaction landed on an
        earlier attempt); raise what refused it otherwise."""
        current = self.get_upload(upload_id)  # raises UploadNotFound if missing
        if current.job_id == item.pk and self._landed(item):
            return
        # Puts come before updates in PynamoDB's transaction.
        if reasons[:1] == ["ConditionalCheckFailed"]:
            raise JobAlreadyExists("A job with this id exists.", job_id=item.pk)
        raise UploadAlreadyUsed("This upload has already created a job.", job_id=current.job_id)

    def ping(self) -> None:
        try:
            self._m.Item.describe_table()
        except TableDoesNotExist:
            raise ServiceUnavailable(f"The job table {self.table!r} does not exist.") from None
        except (PynamoDBException, ClientError, BotoCoreError) as error:
            # PynamoDB lets some botocore errors of DescribeTable through unwrapped.
            raise_translated(error, _WHAT)

    # -- administration ---------------------------------------------------------------------

    def create_table(self) -> None:
        """Create the table as template.yaml declares it, if it does not exist: on-demand
        capacity, the result cache's index, and expiry (TTL) on ``expires``."""
        if not self._m.JobItem.exists():
            self._m.JobItem.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        answer = self.client.describe_time_to_live(TableName=self.table)
        if answer["TimeToLiveDescription"].get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            # The job model has no TTL attribute; the models that expire share ``expires``.
            self._m.UploadItem.update_ttl(ignore_update_ttl_errors=False)


def _cancellation_reasons(error: PynamoDBException) -> list[str | None]:
    """The per-item reason codes of a cancelled transaction, in the order of its items."""
    return [
        reason.code if reason else None
        for reason in getattr(error, "cancellation_reasons", None) or []
    ]


class DynamoDBIdempotencyStore:
    """Idempotency records in the jobs table (``pk = "IDEM#<scope>"``), on its connection.

    Timestamps are stored in one fixed RFC 3339 form, so they compare correctly as strings in
    condition expressions.
    """

    def __init__(self, jobs: DynamoDBJobStore) -> None:
        self._jobs = jobs

    @property
    def _m(self) -> Any:
        return self._jobs._m

    def claim(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord | None:
        m = self._m
        moment = format_timestamp(now)
        free = (
            m.Item.pk.does_not_exist()
            | (m.IdempotencyItem.expires_at <= moment)
            | (
                (m.IdempotencyItem.state == RecordState.IN_FLIGHT.value)
                & (m.IdempotencyItem.lease_until <= moment)
            )
        )
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                self._to_item(record).save(condition=free)
                return None
            except PynamoDBException as error:
                if error_code(error) != _CONDITION_FAILED:
                    raise_translated(error, _WHAT)
            current = self._get(record.scope)
            if current is not None:
                # botocore retries a write whose answer was lost; if the first attempt had
                # landed, the retry finds this very claim, which is ours.
                return None if current.token == record.token else current
            # Released between our write and our read: try to claim again.
        raise ConcurrentModification("The idempotency key is contended; try again.")

    def complete(self, record: IdempotencyRecord) -> bool:
        # Recording the outcome finishes the request: it may use the reserve.
        try:
            with finishing():
                self._to_item(record).save(condition=self._m.IdempotencyItem.token == record.token)
        except PynamoDBException as error:
            if error_code(error) == _CONDITION_FAILED:
                return False
            raise_translated(error, _WHAT)
        return True

    def release(self, scope: str, token: str) -> None:
        item = self._m.IdempotencyItem(pk=IDEMPOTENCY_PREFIX + scope, sk=IDEMPOTENCY_SK)
        # Letting the key go is what a request that failed still owes: it may use the reserve.
        try:
            with finishing():
                item.delete(condition=self._m.IdempotencyItem.token == token)
        except PynamoDBException as error:
            if error_code(error) != _CONDITION_FAILED:
                raise_translated(error, _WHAT)

    def _to_item(self, record: IdempotencyRecord) -> Any:
        return self._m.IdempotencyItem(
            pk=IDEMPOTENCY_PREFIX + record.scope,
            sk=IDEMPOTENCY_SK,
            token=record.token,
            state=record.state.value,
            created_at=format_timestamp(record.created_at),
            lease_until=format_timestamp(record.lease_until),
            expires_at=format_timestamp(record.expires_at),
            fingerprint=record.fingerprint,
            response=record.response,
            expires=record.expires_at,
        )

    def _get(self, scope: str) -> IdempotencyRecord | None:
        try:
            item = self._m.IdempotencyItem.get(
                IDEMPOTENCY_PREFIX + scope, IDEMPOTENCY_SK, consistent_read=True
            )
        except DoesNotExist:
            return None
        except PynamoDBException as error:
            raise_translated(error, _WHAT)
        return IdempotencyRecord(
            scope=scope,
            token=item.token,
            state=RecordState(item.state),
            created_at=parse_timestamp(item.created_at),
            lease_until=parse_timestamp(item.lease_until),
            expires_at=parse_timestamp(item.expires_at),
            fingerprint=item.fingerprint,
            response=item.response,
        )
