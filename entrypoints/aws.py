"""The AWS half of the composition root: clients, adapters and storage set-up, for the API and
for the pipeline's three functions (the outbox, the progress consumer and the sweeper).

Imported only when storage is ``aws``, so the in-memory paths never load botocore. The S3 and
SQS clients come from botocore directly (boto3 adds nothing we use, and 15 ms to a cold start)
and are made on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import botocore.session
from botocore.config import Config

from adapters.aws import (
    DYNAMODB_POLICY,
    FINISHING_RESERVE_SECONDS,
    S3_POLICY,
    SQS_POLICY,
    AttemptGuard,
    CallPolicy,
)
from adapters.dynamodb import (
    DynamoDBApiKeyStore,
    DynamoDBIdempotencyStore,
    DynamoDBJobStore,
    DynamoDBRateCounter,
    Table,
    job_of_image,
)
from adapters.s3 import S3BlobStore
from adapters.sqs import SqsPipelineQueue
from adapters.system import OsEntropy, SystemClock
from domain.job import Job
from domain.use_cases import Lifecycle, Progress, UseCases
from domain.use_cases.sweeper import Sweeper
from entrypoints import deadline
from entrypoints.settings import ConfigurationError, Settings
from ports.system import Clock, Entropy

DEFAULT_REGION = "us-east-1"
# A budget smaller than this would refuse every S3 call: the reserve and one attempt.
MIN_REQUEST_BUDGET_SECONDS = FINISHING_RESERVE_SECONDS + max(
    S3_POLICY.attempt_seconds, DYNAMODB_POLICY.attempt_seconds
)

# Every call stops in time for the request to answer by its deadline. Ordinary calls leave the
# finishing reserve; a request that ran out first removes a blob it wrote (S3), keeping
# DynamoDB's share, then releases its idempotency key (DynamoDB) with what is left.
DYNAMODB_GUARD = AttemptGuard(
    deadline.remaining, DYNAMODB_POLICY, reserve=FINISHING_RESERVE_SECONDS, what="The job store"
)
S3_GUARD = AttemptGuard(
    deadline.remaining,
    S3_POLICY,
    reserve=FINISHING_RESERVE_SECONDS,
    finishing_reserve=DYNAMODB_POLICY.attempt_seconds,
    what="The blob store",
)
# The pipeline's functions finish nothing after their deadline: no reserve is held.
SQS_GUARD = AttemptGuard(deadline.remaining, SQS_POLICY, reserve=0.0, what="The pipeline queue")


def botocore_config(policy: CallPolicy) -> Config:
    return Config(
        connect_timeout=policy.connect_timeout,
        read_timeout=policy.read_timeout,
        retries={"mode": "standard", "total_max_attempts": policy.max_attempts},
        max_pool_connections=16,
    )


def s3_config(settings: Settings) -> Config:
    """Signature Version 4 and the regional virtual-hosted endpoint, in every region.

    Left to itself botocore presigns POST forms with SigV2 and the global endpoint in many
    regions (us-east-1, eu-west-1, us-west-2, ...), which S3 refuses for buckets created since
    June 2020 and for KMS-encrypted objects. An endpoint of one's own (moto, LocalStack) gets
    path-style addresses, which work whatever its host name.
    """
    return botocore_config(S3_POLICY).merge(
        Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"}
            if settings.endpoint_url
            else {"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
        )
    )


def _client(service: str, settings: Settings, config: Config) -> Any:
    # botocore reads AWS_ENDPOINT_URL itself; passing it keeps Settings the one source of truth.
    return botocore.session.get_session().create_client(
        service,
        region_name=settings.region or DEFAULT_REGION,
        endpoint_url=settings.endpoint_url,
        config=config,
    )


def s3_client(settings: Settings) -> Any:
    return _client("s3", settings, s3_config(settings))


def jobs_table(settings: Settings) -> Table:
    """The jobs table, through one connection that the stores keeping items in it share."""
    return Table.build(
        settings.table,
        region=settings.region or DEFAULT_REGION,
        host=settings.endpoint_url,
        policy=DYNAMODB_POLICY,
        guard=DYNAMODB_GUARD,
    )


def job_store(settings: Settings) -> DynamoDBJobStore:
    return DynamoDBJobStore(jobs_table(settings))


def blob_store(settings: Settings) -> S3BlobStore:
    return S3BlobStore(lambda: s3_client(settings), settings.bucket, guard=S3_GUARD)


def aws_components(
    settings: Settings, clock: Clock, entropy: Entropy
) -> tuple[UseCases, DynamoDBIdempotencyStore]:
    """The use cases on DynamoDB and S3, and the idempotency store sharing its table."""
    if settings.request_budget_seconds < MIN_REQUEST_BUDGET_SECONDS:
        raise ConfigurationError(
            f"BLUEPRINT_JOBS_REQUEST_BUDGET_SECONDS must be at least "
            f"{MIN_REQUEST_BUDGET_SECONDS:g} with AWS storage: {FINISHING_RESERVE_SECONDS:g} s "
            "are held for finishing, and one attempt may take "
            f"{MIN_REQUEST_BUDGET_SECONDS - FINISHING_RESERVE_SECONDS:g} s."
        )
    table = jobs_table(settings)
    service = UseCases.over(
        DynamoDBJobStore(table),
        blob_store(settings),
        clock,
        entropy,
        keys=DynamoDBApiKeyStore(table),
        counter=DynamoDBRateCounter(table),
        rate_policies=settings.rate_policies,
        unfinished_limit=settings.max_unfinished_jobs,
        result_cache=settings.result_cache,
    )
    return service, DynamoDBIdempotencyStore(table)


def aws_service(settings: Settings) -> UseCases:
    """The use cases alone (the detection pipeline's side, tools), on the real clock."""
    return aws_components(settings, SystemClock(), OsEntropy())[0]


def init_storage(settings: Settings) -> None:
    """Create the table and the bucket if they are missing (local endpoints, tests)."""
    jobs_table(settings).create()
    blob_store(settings).create_bucket(settings.region or DEFAULT_REGION)


# -- the pipeline's functions ---------------------------------------------------------------

ImageReader = Callable[[Mapping[str, Any] | None], Job | None]


def sqs_client(settings: Settings) -> Any:
    return _client("sqs", settings, botocore_config(SQS_POLICY))


def pipeline_queue(settings: Settings) -> SqsPipelineQueue:
    """The queue jobs are sent to for the pipeline (``BLUEPRINT_JOBS_PIPELINE_QUEUE_URL``)."""
    url = settings.pipeline_queue_url
    if not url:
        raise ConfigurationError("BLUEPRINT_JOBS_PIPELINE_QUEUE_URL is not set")
    return SqsPipelineQueue(lambda: sqs_client(settings), url, guard=SQS_GUARD)


def outbox_parts(settings: Settings) -> tuple[SqsPipelineQueue, ImageReader]:
    """What the outbox needs: the pipeline's queue, and how a stream record's image reads as a
    job (the job store's own mapping)."""
    return pipeline_queue(settings), job_of_image


def _lifecycle(settings: Settings) -> tuple[DynamoDBJobStore, Lifecycle, SystemClock]:
    jobs, clock = job_store(settings), SystemClock()
    # The blob store is never called by what the pipeline's functions do; its client is made
    # on first use only, so building it costs nothing.
    return jobs, Lifecycle(jobs, blob_store(settings), clock), clock


def progress(settings: Settings) -> Progress:
    """The pipeline's updates, applied to jobs in the table."""
    return Progress(_lifecycle(settings)[1])


def sweeper(settings: Settings) -> Sweeper:
    """The sweeper over the table's index of unfinished jobs and the pipeline's queue."""
    jobs, lifecycle, clock = _lifecycle(settings)
    return Sweeper(
        jobs,
        lifecycle,
        pipeline_queue(settings),
        clock,
        processing_timeout=timedelta(seconds=settings.processing_timeout_seconds),
        resend_after=timedelta(seconds=settings.resend_after_seconds),
    )
