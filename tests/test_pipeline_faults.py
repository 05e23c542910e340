"""Faults of the pipeline's functions on moto: a crash between steps loses nothing, repeated
and reordered updates are harmless, and a poison message ends in the dead-letter queue.

The stand-ins of the event source mappings (``tests/pipeline.py``) do what Lambda does with a
function's answer: the outbox's batch is given again from the first sequence number reported;
the consumer's messages are deleted unless reported, and come again (here at once: the
visibility timeout is 0) if the invocation died.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.dynamodb import DynamoDBJobStore, job_of_image
from adapters.sqs import SqsPipelineQueue
from domain.errors import JobAlreadyCompleted
from domain.job import TERMINAL, JobStatus
from domain.use_cases import UseCases
from entrypoints import outbox, progress_consumer
from entrypoints.aws import sqs_client
from entrypoints.settings import Settings
from tests.aws import (
    FAULTS,
    REGION,
    TABLE,
    dynamodb_use_cases,
    moto_in_process,
    new_blob_store,
    new_job_store,
)
from tests.blueprints import pdf, png
from tests.fakes import OWNER
from tests.faults import Fault
from tests.helpers import ORIGIN, a_job
from tests.pipeline import (
    Context,
    QueuePoller,
    StreamPoller,
    create_queue,
    from_sequence,
    receive_all,
    sqs_record,
    stream_event,
)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[UseCases, DynamoDBJobStore, Any]]:
    with moto_in_process(monkeypatch):
        jobs = new_job_store()
        yield (
            dynamodb_use_cases(jobs, new_blob_store()),
            jobs,
            boto3.client("sqs", region_name=REGION),
        )


def consumer(service: UseCases) -> Any:
    return progress_consumer.make_handler(progress_consumer.ProgressConsumer(service.progress))


def update(job_id: str, kind: str, event_id: str) -> str:
    data: dict[str, Any] = {"event_id": event_id, "job_id": job_id, "type": kind}
    if kind == "completed":
        data["result_key"] = f"results/{job_id}.json"
    if kind == "failed":
        data["error"] = {"code": "NO_WALLS", "message": "No walls found."}
    return json.dumps(data)


def deliver(poller: QueuePoller, handler: Any) -> dict[str, Any]:
    """One receive, one invocation, and the mapping's deletes."""
    records = poller.receive()
    result: dict[str, Any] = handler({"Records": records}, Context())
    poller.settle(records, result)
    return result


# -- a crash between steps loses nothing ------------------------------------------------------


def test_a_send_that_fails_is_reported_and_its_redelivery_arrives(world: Any) -> None:
    service, _, sqs = world
    url = create_queue(sqs, "pipeline")
    first = service.intake.create_job([png()], ORIGIN, use_cache=False)
    second = service.intake.create_job([pdf()], ORIGIN, use_cache=False)
    records = StreamPoller(TABLE).poll()
    jobs = [r for r in records if r["dynamodb"]["Keys"]["sk"] == {"S": "JOB"}]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in jobs] == [first.job_id, second.job_id]
    handler = outbox.make_handler(
        outbox.Outbox(SqsPipelineQueue(sqs_client(Settings(region=REGION)), url), job_of_image)
    )
    # The second job's send fails on every attempt botocore makes.
    sent = 0

    def fail_the_second(event_name: str, request: Any, carry_out: Any) -> Any:
        nonlocal sent
        if event_name == "before-send.sqs.SendMessage" and second.job_id in request.body.decode():
            sent += 1
            return fault("before-send.sqs.SendMessage", request)
        return None

    fault = Fault("sqs", "InternalError", 500)
    fault.event = "before-send.sqs.SendMessage"
    FAULTS.append(fail_the_second)
    result = handler(stream_event(records), Context())
    FAULTS.clear()
    assert sent == 3  # botocore's attempts, then the record is reported
    assert result == {
        "batchItemFailures": [{"itemIdentifier": jobs[1]["dynamodb"]["SequenceNumber"]}]
    }
    assert [json.loads(m["Body"])["job_id"] for m in receive_all(sqs, url)] == [first.job_id]

    again = from_sequence(records, result)
    assert handler(stream_event(again), Context()) == {"batchItemFailures": []}
    assert [json.loads(m["Body"])["job_id"] for m in receive_all(sqs, url)] == [second.job_id]


def test_a_store_failure_after_started_is_redelivered_and_completes_the_job(world: Any) -> None:
    service, jobs, sqs = world
    url = create_queue(sqs, "updates")
    job = a_job()
    jobs.add(job)
    for kind in ("started", "completed"):
        sqs.send_message(QueueUrl=url, MessageBody=update(job.job_id, kind, f"e-{kind}"))
    poller, handler = QueuePoller(sqs, url), consumer(service)
    # Completing writes one transaction; the table refuses it on every attempt.
    Fault("dynamodb", "InternalServerError", 500, times=3).install(
        boto3.client("dynamodb", region_name=REGION), "TransactWriteItems"
    )
    result = deliver(poller, handler)
    assert len(result["batchItemFailures"]) == 1
    assert jobs.get(job.job_id).status is JobStatus.PROCESSING
    assert deliver(poller, handler) == {"batchItemFailures": []}
    assert jobs.get(job.job_id).status is JobStatus.COMPLETED
    assert poller.receive() == []


class Crash(BaseException):
    """The invocation dies (out of memory, a timeout): nothing is answered, nothing deleted."""


def test_an_invocation_that_dies_after_started_is_given_again_and_completes_the_job(
    world: Any,
) -> None:
    service, jobs, sqs = world
    url = create_queue(sqs, "updates")
    job = a_job()
    jobs.add(job)
    for kind in ("started", "completed"):
        sqs.send_message(QueueUrl=url, MessageBody=update(job.job_id, kind, f"e-{kind}"))

    def crash(event_name: str, request: Any, carry_out: Any) -> Any:
        if event_name == "before-send.dynamodb.TransactWriteItems":
            raise Crash
        return None

    poller, handler = QueuePoller(sqs, url), consumer(service)
    FAULTS.append(crash)
    records = poller.receive()
    with pytest.raises(Crash):
        handler({"Records": records}, Context())
    FAULTS.clear()
    assert jobs.get(job.job_id).status is JobStatus.PROCESSING  # "started" had been applied
    assert deliver(poller, handler) == {"batchItemFailures": []}  # both again
    assert jobs.get(job.job_id).status is JobStatus.COMPLETED
    assert jobs.get(job.job_id).version == 3


# -- a poison message ends in the dead-letter queue -------------------------------------------


def test_a_poison_message_ends_in_the_dead_letter_queue_and_never_blocks_the_others(
    world: Any,
) -> None:
    service, jobs, sqs = world
    receives = 3
    dead_letters = create_queue(sqs, "updates-dlq")
    url = create_queue(sqs, "updates", dead_letter=dead_letters, receives=receives)
    job = a_job()
    jobs.add(job)
    sqs.send_message(QueueUrl=url, MessageBody='{"event_id": "poison", "type": "exploded"}')
    sqs.send_message(QueueUrl=url, MessageBody=update(job.job_id, "started", "e1"))
    poller, handler = QueuePoller(sqs, url), consumer(service)

    reported = [len(deliver(poller, handler)["batchItemFailures"]) for _ in range(receives)]
    assert reported == [1, 1, 1]  # the poison, each time; the good update went at once
    assert jobs.get(job.job_id).status is JobStatus.PROCESSING
    assert poller.receive() == []  # past maxReceiveCount: SQS moved it
    [dead] = receive_all(sqs, dead_letters)
    assert json.loads(dead["Body"])["event_id"] == "poison"


# -- repeated and reordered updates are harmless ----------------------------------------------

RANK = {JobStatus.PENDING: 0, JobStatus.PROCESSING: 1}


def _model(events: list[str]) -> tuple[JobStatus, int]:
    """Where the events leave a job, and how many changes it took: pending, processing, then
    the first terminal state it reaches; an update never moves it back."""
    status, changes = JobStatus.PENDING, 0
    for event in events:
        if status in TERMINAL:
            continue
        if event == "cancel":
            status, changes = JobStatus.CANCELLED, changes + 1
        elif event == "started":
            if status is JobStatus.PENDING:
                status, changes = JobStatus.PROCESSING, changes + 1
        else:
            changes += 2 if status is JobStatus.PENDING else 1
            status = JobStatus.COMPLETED if event == "completed" else JobStatus.FAILED
    return status, changes


@st.composite
def deliveries(draw: st.DrawFn) -> list[list[str]]:
    """What the pipeline sends about one job (started, then one end, or not yet), each update
    delivered one to three times, in any order, in batches; perhaps a cancel in between."""
    end = draw(st.sampled_from([None, "completed", "failed"]))
    sent = [kind for kind in ("started", end) if kind is not None and draw(st.booleans())]
    events = [kind for kind in sent for _ in range(draw(st.integers(1, 3)))]
    order = draw(st.permutations(events))
    if draw(st.booleans()):
        order.insert(draw(st.integers(0, len(order))), "cancel")
    batches: list[list[str]] = []
    while order:
        size = draw(st.integers(1, 3))
        batches.append(order[:size])
        order = order[size:]
    return batches


def test_any_sequence_of_repeated_reordered_updates_ends_in_the_furthest_legal_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with moto_in_process(monkeypatch):
        jobs = new_job_store()
        service = dynamodb_use_cases(jobs, new_blob_store())
        handler = consumer(service)

        @settings(deadline=None)
        @given(deliveries())
        def check(batches: list[list[str]]) -> None:
            job = a_job()
            jobs.add(job)
            seen: list[str] = []
            rank, version = 0, 1

            def observe() -> None:
                nonlocal rank, version
                now = jobs.get(job.job_id)
                now_rank = RANK.get(now.status, 2)
                assert now_rank >= rank  # never backwards
                assert now.version >= version
                if rank == 2:
                    assert now.version == version  # a finished job never changes again
                rank, version = now_rank, now.version

            for batch in batches:
                records: list[dict[str, Any]] = []
                for event in [*batch, None]:
                    if event in ("cancel", None) and records:  # the batch so far, delivered
                        result = handler({"Records": records}, Context())
                        assert result == {"batchItemFailures": []}
                        records = []
                        observe()
                    if event == "cancel":  # the owner cancels meanwhile
                        with contextlib.suppress(JobAlreadyCompleted):
                            service.lifecycle.cancel_job(OWNER, job.job_id)
                        observe()
                    elif event is not None:
                        records.append(sqs_record(update(job.job_id, event, f"{event}-1")))
                    if event is not None:
                        seen.append(event)
            status, changes = _model(seen)
            final = jobs.get(job.job_id)
            assert (final.status, final.version) == (status, 1 + changes)

        check()
