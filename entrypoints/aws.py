"""The AWS half of the composition root: clients, adapters and storage set-up.

Imported only when storage is ``aws``, so the in-memory paths never load botocore. The S3
client comes from botocore directly (boto3 adds nothing we use, and 15 ms to a cold start) and
is made on first use.
"""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.config import Config

from adapters.aws import (
    DYNAMODB_POLICY,
    FINISHING_RESERVE_SECONDS,
    S3_POLICY,
    AttemptGuard,
    CallPolicy,
)
from adapters.dynamodb import (
    DynamoDBApiKeyStore,
    DynamoDBIdempotencyStore,
    DynamoDBJobStore,
    DynamoDBRateCounter,
    Table,
)
from adapters.s3 import S3BlobStore
from adapters.system import OsEntropy, SystemClock
from domain.use_cases import UseCases
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


def s3_client(settings: Settings) -> Any:
    # botocore reads AWS_ENDPOINT_URL itself; passing it keeps Settings the one source of truth.
    return botocore.session.get_session().create_client(
        "s3",
        region_name=settings.region or DEFAULT_REGION,
        endpoint_url=settings.endpoint_url,
        config=s3_config(settings),
    )


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
