"""The pipeline's three functions, run from the built artifact by the runtime's Python with
nothing else on its path, on moto.server: each handler serves its events, and each loads only
what it calls (never the HTTP layer, only its own services' botocore data)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.artifact.running import Function
from tests.e2e.servers import REGION, aws_env_for, init_storage
from tests.fakes import OWNER
from tools.artifact import BOTOCORE_COMMON, BOTOCORE_DYNAMODB, BOTOCORE_SQS, Interpreter

pytestmark = pytest.mark.slow

HANDLERS = {
    "outbox": "entrypoints.outbox.handler",
    "progress": "entrypoints.progress_consumer.handler",
    "sweeper": "entrypoints.sweeper.handler",
}


@pytest.fixture(scope="module")
def world(moto_server: str) -> dict[str, Any]:
    """The table (streaming), the bucket and the pipeline's queues on moto.server."""
    env = aws_env_for(moto_server, "artifact-pipeline")
    done = init_storage(env)
    assert done.returncode == 0, done.stderr
    sqs = boto3.client(
        "sqs",
        region_name=REGION,
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    jobs_queue = sqs.create_queue(QueueName="artifact-pipeline-jobs")["QueueUrl"]
    env = {
        **env,
        "BLUEPRINT_JOBS_PIPELINE_QUEUE_URL": jobs_queue,
        "BLUEPRINT_JOBS_PROCESSING_TIMEOUT_SECONDS": "3600",
        "BLUEPRINT_JOBS_RESEND_AFTER_SECONDS": "900",
    }
    return {"env": env, "sqs": sqs, "jobs_queue": jobs_queue, "endpoint": moto_server}


@pytest.fixture
def function(
    request: pytest.FixtureRequest,
    lambda_python: Interpreter,
    artifact: Path,
    world: dict[str, Any],
) -> Iterator[Function]:
    """A process of its own per test: what it loaded is that function's alone."""
    running = Function(lambda_python, artifact, "aws", world["env"], key="")
    try:
        yield running
    finally:
        running.close()


def _job_item(job_id: str, status: str = "pending") -> dict[str, Any]:
    return {
        "pk": {"S": job_id},
        "sk": {"S": "JOB"},
        "kind": {"S": "job"},
        "owner": {"S": OWNER},
        "owner_status": {"S": f"{OWNER}#{status}"},
        "status": {"S": status},
        "unfinished_status": {"S": status},
        "created_at": {"S": "2026-11-26T03:15:00.123Z"},
        "updated_at": {"S": "2026-11-26T03:15:00.123Z"},
        "blueprint_format": {"S": "png"},
        "blueprint_hash": {"S": "b" * 64},
        "blueprint_size_bytes": {"N": "1234"},
        "blueprint_key": {"S": f"blueprints/{job_id}/source.png"},
        "request_id": {"S": "req_20261126_031500_k3j9x2m1q8zp"},
        "correlation_id": {"S": "artifact"},
        "api_version": {"S": "v1"},
        "version": {"N": "1"},
    }


def _loaded(function: Function, artifact: Path) -> dict[str, Any]:
    report = function.report()
    assert report["sources_read"] == [], "modules compiled at run time"
    allowed = (f"{artifact}/", *(f"{path}/" for path in report["stdlib"]))
    outside = {n: p for n, p in report["modules"].items() if p and not p.startswith(allowed)}
    assert outside == {}
    for heavy in ("falcon", "cheroot", "boto3", "entrypoints.http", "entrypoints.bootstrap"):
        assert heavy not in report["modules"], heavy
    return report


def test_the_outbox_sends_a_new_job_and_loads_only_sqs(
    function: Function, artifact: Path, world: dict[str, Any]
) -> None:
    job_id = "job_01jdz5k3a1b2c3d4e5f6g7h8j9"
    record = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": 1795662900,
            "Keys": {"pk": {"S": job_id}, "sk": {"S": "JOB"}},
            "NewImage": _job_item(job_id),
            "SequenceNumber": "111",
            "SizeBytes": 26,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": f"arn:aws:dynamodb:{REGION}:123456789012:table/t/stream/2026-11-26T00:00:00.000",
    }
    assert function.invoke({"Records": [record]}, HANDLERS["outbox"]) == {"batchItemFailures": []}
    answer = world["sqs"].receive_message(QueueUrl=world["jobs_queue"])
    [message] = answer["Messages"]
    world["sqs"].delete_message(
        QueueUrl=world["jobs_queue"], ReceiptHandle=message["ReceiptHandle"]
    )
    assert json.loads(message["Body"])["job_id"] == job_id
    report = _loaded(function, artifact)
    # PynamoDB is loaded (the stream's images read with the job store's own mapping), but no
    # DynamoDB client is made.
    assert report["data_opened"] == sorted(BOTOCORE_COMMON + BOTOCORE_SQS)


def test_the_progress_consumer_applies_an_update_and_loads_only_dynamodb(
    function: Function, artifact: Path, world: dict[str, Any]
) -> None:
    job_id = "job_01jdz5k3a1b2c3d4e5f6g7h8ja"
    dynamodb = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=world["endpoint"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    table = world["env"]["BLUEPRINT_JOBS_TABLE"]
    dynamodb.put_item(TableName=table, Item=_job_item(job_id))
    bodies = [
        json.dumps({"event_id": "e1", "job_id": job_id, "type": "started"}),
        "not json",
    ]
    records = [
        {
            "messageId": f"m{n}",
            "receiptHandle": "r",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:updates",
            "awsRegion": REGION,
        }
        for n, body in enumerate(bodies)
    ]
    result = function.invoke({"Records": records}, HANDLERS["progress"])
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": job_id}, "sk": {"S": "JOB"}})
    assert item["Item"]["status"] == {"S": "processing"}
    assert [line.get("outcome") for line in function.logs if "outcome" in line] == [
        "applied",
        "malformed",
    ]
    report = _loaded(function, artifact)
    assert report["data_opened"] == sorted(BOTOCORE_COMMON + BOTOCORE_DYNAMODB)


def test_the_sweeper_sweeps_and_loads_dynamodb_and_sqs(function: Function, artifact: Path) -> None:
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    result = function.invoke(event, HANDLERS["sweeper"])
    assert set(result) == {"failed", "resent"}
    report = _loaded(function, artifact)
    # No job was old enough to send: the queue's client was never made.
    assert set(report["data_opened"]) <= set(BOTOCORE_COMMON + BOTOCORE_DYNAMODB + BOTOCORE_SQS)
    assert set(BOTOCORE_DYNAMODB) <= set(report["data_opened"])
