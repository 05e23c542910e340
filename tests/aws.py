"""moto for the AWS adapters: in process (``mock_aws``), made atomic per request as DynamoDB
and S3 are (moto's backends take no locks, so concurrent conditional writes could interleave
inside moto and show lost updates that the real services never allow)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from adapters.dynamodb import DynamoDBApiKeyStore, DynamoDBJobStore, DynamoDBRateCounter, Table
from adapters.s3 import S3BlobStore
from domain.use_cases import UseCases
from entrypoints.aws import s3_config
from entrypoints.settings import Settings
from tests.iam import (
    FUNCTIONS,
    Names,
    Recorder,
    Statement,
    function_statements,
    ungranted_actions,
)

REGION = "eu-west-1"
TABLE = "blueprint-jobs-test"
BUCKET = "blueprint-jobs-test"

_moto_lock = threading.RLock()
_original_call = BotocoreStubber.__call__
# Faults answer in moto's place (see tests/faults.py). botocore calls every before-send
# handler and keeps the first answer, so a fault registered beside moto would not stop moto
# from carrying the request out: the fault has to stand where moto stands. A fault is called
# with the event, the request and a function that has moto carry the request out (for an
# answer lost after the work was done).
FAULTS: list[Callable[[str, Any, Callable[[], Any]], Any]] = []


def _atomic_call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
    def carry_out() -> Any:
        with _moto_lock:
            return _original_call(self, event_name, request, **kwargs)

    for fault in list(FAULTS):
        answer = fault(event_name, request, carry_out)
        if answer is not None:
            return answer
    return carry_out()


def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@contextmanager
def moto_in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """moto for the block. Every client made in it is recorded; when the block ends, each
    operation a port method issued must need only actions that a function's policy in
    template.yaml grants (on some resource: these tests' keys and names are not always the
    service's; tests/test_iam_policy.py checks each function's resources, and unused grants,
    on its workload)."""
    aws_credentials(monkeypatch)
    monkeypatch.setattr(BotocoreStubber, "__call__", _atomic_call)
    recorder = Recorder()
    try:
        with mock_aws(), recorder.on_new_clients():
            yield recorder
    finally:
        FAULTS.clear()
    problems = ungranted_actions(recorder.function_calls(), _statements())
    assert not problems, "\n".join(problems)


@functools.cache
def _statements() -> list[Statement]:
    names = Names(TABLE, BUCKET, REGION)
    return [s for function in FUNCTIONS for s in function_statements(names, function=function)]


def s3_client(endpoint_url: str | None = None) -> Any:
    """A client configured exactly as production's (timeouts, retries, SigV4, addressing)."""
    settings = Settings(storage="aws", region=REGION, endpoint_url=endpoint_url)
    return boto3.client(
        "s3", region_name=REGION, endpoint_url=endpoint_url, config=s3_config(settings)
    )


def new_job_store() -> DynamoDBJobStore:
    table = Table.build(TABLE, region=REGION)
    table.create()
    return DynamoDBJobStore(table)


def new_blob_store(**kwargs: Any) -> S3BlobStore:
    store = S3BlobStore(s3_client(), BUCKET, **kwargs)
    store.create_bucket(REGION)
    return store


def dynamodb_use_cases(jobs: DynamoDBJobStore, blobs: S3BlobStore, **options: Any) -> UseCases:
    """The use cases on these stores, with the keys and the quotas in the jobs' table."""
    from tests.fakes import SeededEntropy, SteppingClock

    return UseCases.over(
        jobs,
        blobs,
        options.pop("clock", SteppingClock()),
        SeededEntropy(),
        keys=DynamoDBApiKeyStore(jobs.table),
        counter=DynamoDBRateCounter(jobs.table),
        **options,
    )
