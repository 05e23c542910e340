"""The pipeline's functions' policies in template.yaml grant what each calls, and nothing more.

Each function runs a workload on moto in process, through its production handler and the AWS
composition root, with stand-ins for its event source mapping that make the mapping's calls
with the function's role (``tests/pipeline.py``): the outbox reads the jobs table's stream and
sends to the pipeline's queue (and its mapping, giving up on a batch, to the on-failure queue);
the progress consumer's mapping receives and deletes updates, which the function applies to
jobs; the sweeper queries the index of unfinished jobs, fails a stuck job and re-sends a
forgotten one. Every call is recorded and compared, both ways, with that function's policy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from attrs import frozen

from entrypoints import outbox, progress_consumer, sweeper
from entrypoints.aws import aws_service, init_storage, outbox_parts, progress
from entrypoints.aws import sweeper as build_sweeper
from entrypoints.settings import Settings
from tests.aws import BUCKET, FAULTS, REGION, TABLE, moto_in_process
from tests.blueprints import pdf, png
from tests.faults import Fault
from tests.helpers import ORIGIN
from tests.iam import Call, Names, Recorder, compare, function_statements, on_behalf_of_the_function
from tests.pipeline import (
    ACCOUNT,
    Context,
    QueuePoller,
    StreamPoller,
    create_queue,
    receive_all,
    stream_event,
)

QUEUES = {
    "PipelineQueue": "iam-pipeline",
    "UpdatesQueue": "iam-updates",
    "OutboxFailuresQueue": "iam-outbox-failures",
}


def url(logical: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{QUEUES[logical]}"


SETTINGS = Settings.from_env(
    {
        "AWS_REGION": REGION,
        "BLUEPRINT_JOBS_TABLE": TABLE,
        "BLUEPRINT_JOBS_BUCKET": BUCKET,
        "BLUEPRINT_JOBS_PIPELINE_QUEUE_URL": url("PipelineQueue"),
        "BLUEPRINT_JOBS_PROCESSING_TIMEOUT_SECONDS": "0.05",
        "BLUEPRINT_JOBS_RESEND_AFTER_SECONDS": "0.05",
    },
    profile="lambda",
)
SCHEDULED = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": ACCOUNT,
    "time": "2026-11-26T03:15:00Z",
    "region": REGION,
    "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/blueprint-jobs-sweeper"],
    "detail": {},
}


@frozen
class Recording:
    calls: list[Call]
    names: Names

    @property
    def function_calls(self) -> list[Call]:
        return [call for call in self.calls if call.issuer is not None]


@pytest.fixture(scope="module")
def storage() -> Iterator[Recorder]:
    """One moto for the module: the table (with its stream), the bucket and the queues."""
    with pytest.MonkeyPatch.context() as monkeypatch, moto_in_process(monkeypatch) as recorder:
        init_storage(SETTINGS)
        sqs = boto3.client("sqs", region_name=REGION)
        for logical in QUEUES:
            create_queue(sqs, QUEUES[logical])
        yield recorder


def _recorded(recorder: Recorder) -> Recording:
    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=TABLE)
    label = table["Table"]["LatestStreamLabel"]
    calls = list(recorder.calls)
    recorder.calls.clear()
    return Recording(calls, Names(TABLE, BUCKET, REGION, queues=QUEUES, stream_label=label))


@on_behalf_of_the_function
def give_up(records: list[dict[str, Any]], destination: str) -> None:
    """What the outbox's mapping does once its retries are spent: a record of the batch (its
    shard and sequence numbers, not its jobs) goes to the on-failure destination."""
    first, last = records[0], records[-1]
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=destination,
        MessageBody=json.dumps(
            {
                "requestContext": {
                    "condition": "RetryAttemptsExhausted",
                    "approximateInvokeCount": 11,
                },
                "DDBStreamBatchInfo": {
                    "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                    "endSequenceNumber": last["dynamodb"]["SequenceNumber"],
                    "batchSize": len(records),
                    "streamArn": first["eventSourceARN"],
                },
            }
        ),
    )


@pytest.fixture(scope="module")
def outbox_recording(storage: Recorder) -> Recording:
    recorder = storage
    with recorder.paused():  # the API's work, with its own role
        api = aws_service(SETTINGS)
        job = api.intake.create_job([png()], ORIGIN, use_cache=False)
        api.lifecycle.cancel_job(ORIGIN.owner, job.job_id)
    handler = outbox.make_handler(outbox.Outbox(*outbox_parts(SETTINGS)))
    poller = StreamPoller(TABLE)
    records = poller.poll()
    assert handler(stream_event(records), Context()) == {"batchItemFailures": []}
    sent = receive_all(boto3.client("sqs", region_name=REGION), url("PipelineQueue"))
    assert [json.loads(m["Body"])["type"] for m in sent] == ["job.created", "job.cancelled"]

    # A batch that cannot be sent (the queue fails throughout), given up on by the mapping.
    with recorder.paused():
        second = api.intake.create_job([pdf()], ORIGIN, use_cache=False)
    records = poller.poll()
    Fault("sqs", "InternalError", 500).install(
        boto3.client("sqs", region_name=REGION), "SendMessage"
    )
    result = handler(stream_event(records), Context())
    FAULTS.clear()
    assert result["batchItemFailures"] == [
        {"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}
    ], second.job_id
    give_up(records, url("OutboxFailuresQueue"))
    return _recorded(recorder)


@pytest.fixture(scope="module")
def progress_recording(storage: Recorder, outbox_recording: Recording) -> Recording:
    recorder = storage
    sqs = boto3.client("sqs", region_name=REGION)
    with recorder.paused():
        api = aws_service(SETTINGS)
        first = api.intake.create_job([pdf() + b"1"], ORIGIN, use_cache=False)
        second = api.intake.create_job([pdf() + b"2"], ORIGIN, use_cache=False)
    updates = [
        {"event_id": "e1", "job_id": first.job_id, "type": "started"},
        {
            "event_id": "e2",
            "job_id": second.job_id,
            "type": "completed",
            "result_key": f"results/{second.job_id}.json",
        },
        {"event_id": "e3", "job_id": "not-a-job", "type": "started"},
    ]
    for update in updates:  # the pipeline sends them, with its own role
        sqs.send_message(QueueUrl=url("UpdatesQueue"), MessageBody=json.dumps(update))
    handler = progress_consumer.make_handler(progress_consumer.ProgressConsumer(progress(SETTINGS)))
    poller = QueuePoller(sqs, url("UpdatesQueue"))
    records = poller.receive()
    result = handler({"Records": records}, Context())
    poller.settle(records, result)
    assert len(result["batchItemFailures"]) == 1  # the malformed one
    assert aws_service(SETTINGS).lifecycle.pipeline_job(second.job_id).status.value == "completed"
    return _recorded(recorder)


@pytest.fixture(scope="module")
def sweeper_recording(storage: Recorder, progress_recording: Recording) -> Recording:
    recorder = storage
    with recorder.paused():
        api = aws_service(SETTINGS)
        stuck = api.intake.create_job([pdf() + b"stuck"], ORIGIN, use_cache=False)
        api.lifecycle.start_processing(stuck.job_id)
    time.sleep(0.1)  # past both (tiny) timeouts
    handler = sweeper.make_handler(build_sweeper(SETTINGS))
    report = handler(SCHEDULED, Context())
    assert stuck.job_id in report["failed"]
    assert report["resent"]  # pending jobs of the workloads before
    return _recorded(recorder)


@pytest.mark.parametrize(
    ("function", "recording"),
    [
        ("OutboxFunction", "outbox_recording"),
        ("ProgressFunction", "progress_recording"),
        ("SweeperFunction", "sweeper_recording"),
    ],
)
def test_each_function_is_granted_what_it_calls_and_nothing_more(
    function: str, recording: str, request: pytest.FixtureRequest
) -> None:
    recorded: Recording = request.getfixturevalue(recording)
    statements = function_statements(recorded.names, function=function)
    findings = compare(recorded.function_calls, statements, function)
    assert findings.ok, f"\n{findings}"


def test_the_outbox_never_touches_the_table_and_its_mapping_only_reads_the_stream(
    outbox_recording: Recording,
) -> None:
    issued = {
        (call.issuer, call.service, call.operation) for call in outbox_recording.function_calls
    }
    assert issued == {
        ("StreamPoller._start", "dynamodbstreams", "ListStreams"),
        ("StreamPoller._start", "dynamodbstreams", "DescribeStream"),
        ("StreamPoller._start", "dynamodbstreams", "GetShardIterator"),
        ("StreamPoller.poll", "dynamodbstreams", "GetRecords"),
        ("SqsPipelineQueue.send", "sqs", "SendMessage"),
        ("give_up", "sqs", "SendMessage"),
    }


def test_the_template_resolves_the_pipelines_resources(outbox_recording: Recording) -> None:
    names = outbox_recording.names
    resources = {
        function: {r for s in function_statements(names, function=function) for r in s.resources}
        for function in ("OutboxFunction", "ProgressFunction", "SweeperFunction")
    }
    table = names.table_arn()
    assert resources == {
        "OutboxFunction": {
            names.stream_arn(),
            "*",  # ListStreams only: it takes no resource-level permission
            names.queue_arn("PipelineQueue"),
            names.queue_arn("OutboxFailuresQueue"),
        },
        "ProgressFunction": {names.queue_arn("UpdatesQueue"), table},
        "SweeperFunction": {
            f"{table}/index/unfinished-jobs",
            table,
            names.queue_arn("PipelineQueue"),
        },
    }
