"""The outbox over the records moto's DynamoDB Streams gives for what the service really
writes: every kind of item and every kind of write (puts, transactions, updates, deletes), so
that the mapping from record to message is checked on the table's own images, not on records
written by hand. The messages are then read from moto's SQS, as the pipeline reads them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from adapters.dynamodb import DynamoDBIdempotencyStore, job_of_image
from adapters.sqs import SqsPipelineQueue
from domain.use_cases import UseCases
from entrypoints import outbox
from entrypoints.aws import sqs_client
from entrypoints.settings import Settings
from ports.idempotency import IdempotencyRecord
from tests.aws import (
    BUCKET,
    REGION,
    TABLE,
    dynamodb_use_cases,
    moto_in_process,
    new_blob_store,
    new_job_store,
)
from tests.blueprints import pdf, png
from tests.fakes import START
from tests.helpers import ORIGIN
from tests.pipeline import Context, StreamPoller, create_queue, receive_all, stream_event


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[UseCases, Any, str]]:
    """The use cases on moto (the table streams its changes), the jobs' store, and the
    pipeline's queue."""
    with moto_in_process(monkeypatch):
        jobs = new_job_store()
        service = dynamodb_use_cases(jobs, new_blob_store())
        url = create_queue(boto3.client("sqs", region_name=REGION), "pipeline")
        yield service, jobs, url


def test_what_the_service_writes_sends_exactly_the_new_and_the_cancelled_jobs(
    world: tuple[UseCases, Any, str],
) -> None:
    service, jobs, url = world
    kept = service.intake.create_job([png()], ORIGIN, use_cache=False)
    dropped = service.intake.create_job([pdf()], ORIGIN, use_cache=False)
    service.lifecycle.cancel_job(ORIGIN.owner, dropped.job_id)
    service.lifecycle.cancel_job(ORIGIN.owner, dropped.job_id)  # again: nothing written
    service.lifecycle.start_processing(kept.job_id)
    service.lifecycle.complete_job(kept.job_id, f"results/{kept.job_id}.json")
    cached = service.intake.create_job([png()], ORIGIN)  # the result cache completes it
    assert cached.cached_from == kept.job_id
    service.feedback.add_feedback(ORIGIN.owner, kept.job_id, 5, "ok")
    idempotency = DynamoDBIdempotencyStore(jobs.table)
    record = IdempotencyRecord.claim("a" * 64, "token", START)
    assert idempotency.claim(record, START) is None
    idempotency.release(record.scope, "token")  # a REMOVE

    poller = StreamPoller(TABLE)
    records = poller.poll()
    names = {record["eventName"] for record in records}
    assert names == {"INSERT", "MODIFY", "REMOVE"}
    queue = SqsPipelineQueue(sqs_client(Settings(region=REGION)), url)
    handler = outbox.make_handler(outbox.Outbox(queue, job_of_image))
    assert handler(stream_event(records), Context()) == {"batchItemFailures": []}

    messages = receive_all(boto3.client("sqs", region_name=REGION), url)
    bodies = [json.loads(message["Body"]) for message in messages]
    assert [(body["job_id"], body["type"]) for body in bodies] == [
        (kept.job_id, "job.created"),
        (dropped.job_id, "job.created"),
        (dropped.job_id, "job.cancelled"),
    ]
    assert bodies[0] == {
        "schema_version": 1,
        "type": "job.created",
        "job_id": kept.job_id,
        "owner": ORIGIN.owner,
        "blueprint": {
            "key": kept.blueprint_s3_key,
            "format": "png",
            "sha256": kept.blueprint_hash,
            "size_bytes": kept.blueprint_size_bytes,
        },
        "created_at": bodies[0]["created_at"],
        "correlation_id": ORIGIN.correlation_id,
    }
    attributes = messages[2]["MessageAttributes"]
    assert attributes == {
        "type": {"DataType": "String", "StringValue": "job.cancelled"},
        "schema_version": {"DataType": "Number", "StringValue": "1"},
        "deduplication_id": {
            "DataType": "String",
            "StringValue": f"{dropped.job_id}:job.cancelled",
        },
    }
    assert poller.poll() == []


def test_a_job_made_from_an_upload_session_is_sent_once(world: tuple[UseCases, Any, str]) -> None:
    """The job of an upload is written in a transaction with its session's mark: the session's
    change sends nothing, the job's sends it."""
    service, _, url = world
    session, _ = service.intake.open_upload(ORIGIN.owner, "pdf", len(pdf()))
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=session.key, Body=pdf())
    job = service.intake.create_job_from_upload(session.upload_id, ORIGIN)
    records = StreamPoller(TABLE).poll()
    queue = SqsPipelineQueue(sqs_client(Settings(region=REGION)), url)
    outbox.Outbox(queue, job_of_image).handle(stream_event(records))
    bodies = [
        json.loads(m["Body"]) for m in receive_all(boto3.client("sqs", region_name=REGION), url)
    ]
    assert [(body["job_id"], body["type"]) for body in bodies] == [(job.job_id, "job.created")]
