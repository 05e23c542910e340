"""The progress consumer: each SQS record (shaped as AWS documents it) is one update, applied
through the use cases; what cannot be applied is that record's batch item failure, and one bad
record never blocks the others. A log line per record says what became of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.errors import ConcurrentModification, ServiceUnavailable
from domain.job import Job, JobStatus
from domain.use_cases import UseCases
from entrypoints import progress_consumer
from entrypoints.progress_consumer import ProgressConsumer
from tests.fakes import OWNER
from tests.helpers import UNKNOWN, a_job, captured_logs, parsed, use_cases_over
from tests.pipeline import Context, sqs_event, sqs_record


def body(job_id: str, kind: str, event_id: str = "", **extra: Any) -> str:
    data = {"event_id": event_id or f"ev-{kind}", "job_id": job_id, "type": kind, **extra}
    return json.dumps(data)


def started(job_id: str, event_id: str = "") -> str:
    return body(job_id, "started", event_id)


def completed(job_id: str, event_id: str = "") -> str:
    return body(job_id, "completed", event_id, result_key=f"results/{job_id}.json")


def failed(job_id: str, event_id: str = "") -> str:
    return body(job_id, "failed", event_id, error={"code": "NO_WALLS", "message": "No walls."})


def consume(
    service: UseCases, *bodies: str
) -> tuple[dict[str, Any], list[str], list[dict[str, Any]]]:
    """The handler's answer for one batch of ``bodies``, the batch's message ids, and the
    log lines it wrote."""
    records = [sqs_record(text) for text in bodies]
    handler = progress_consumer.make_handler(ProgressConsumer(service.progress))
    with captured_logs("INFO") as logs:
        result = handler(sqs_event(records), Context())
    return result, [record["messageId"] for record in records], parsed(logs)


def failures(result: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in result["batchItemFailures"]]


@pytest.fixture
def job(service: UseCases, jobs: MemoryJobStore) -> Job:
    added = a_job()
    jobs.add(added)
    return added


def test_started_then_completed_are_applied_with_a_line_each(
    service: UseCases, jobs: MemoryJobStore, job: Job
) -> None:
    result, ids, lines = consume(service, started(job.job_id), completed(job.job_id))
    assert failures(result) == []
    assert jobs.get(job.job_id).status is JobStatus.COMPLETED
    assert jobs.get(job.job_id).result_s3_key == f"results/{job.job_id}.json"
    assert [
        (line["outcome"], line["message_id"], line["event_id"], line["job_id"]) for line in lines
    ] == [
        ("applied", ids[0], "ev-started", job.job_id),
        ("applied", ids[1], "ev-completed", job.job_id),
    ]
    assert [line["update"] for line in lines] == ["started", "completed"]


def test_repeats_and_late_updates_are_done_with(
    service: UseCases, jobs: MemoryJobStore, job: Job
) -> None:
    result, _, lines = consume(
        service,
        completed(job.job_id),
        started(job.job_id),
        completed(job.job_id),
        failed(job.job_id),
    )
    assert failures(result) == []
    assert jobs.get(job.job_id).status is JobStatus.COMPLETED
    assert [line["outcome"] for line in lines if "outcome" in line] == [
        "applied",
        "behind",
        "duplicate",
        "terminal",
    ]


def test_a_cancelled_job_ignores_the_pipeline_with_a_log_line(
    service: UseCases, jobs: MemoryJobStore, job: Job
) -> None:
    service.lifecycle.cancel_job(OWNER, job.job_id)
    result, _, lines = consume(service, started(job.job_id), completed(job.job_id))
    assert failures(result) == []
    assert jobs.get(job.job_id).status is JobStatus.CANCELLED
    ignored = [line for line in lines if line["message"].startswith("a late update")]
    assert [(line["status"], line["update"]) for line in ignored] == [("cancelled", "completed")]
    # A "started" finds the job further on already; the consumer's line says so.
    assert [line["outcome"] for line in lines if "outcome" in line] == ["behind", "terminal"]


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        "[1, 2]",
        json.dumps({"event_id": "e", "job_id": "job_1", "type": "started"}),
        json.dumps({"event_id": "e", "job_id": UNKNOWN, "type": "finished"}),
        json.dumps({"event_id": "e", "job_id": UNKNOWN, "type": "completed"}),
        json.dumps(
            {"event_id": "e", "job_id": UNKNOWN, "type": "completed", "result_key": "blueprints/x"}
        ),
        json.dumps({"event_id": "e", "job_id": UNKNOWN, "type": "failed", "error": {"code": "x"}}),
        json.dumps({"job_id": UNKNOWN, "type": "started"}),
        "[" * 100_000,
    ],
)
def test_a_malformed_update_is_reported_and_never_blocks_the_others(
    service: UseCases, jobs: MemoryJobStore, job: Job, bad: str
) -> None:
    result, ids, lines = consume(service, started(job.job_id), bad, completed(job.job_id))
    assert failures(result) == [ids[1]]
    assert jobs.get(job.job_id).status is JobStatus.COMPLETED
    [refused] = [line for line in lines if line.get("outcome") == "malformed"]
    assert refused["message_id"] == ids[1]
    assert refused["level"] == "WARNING"


def test_a_record_without_a_body_is_malformed(service: UseCases) -> None:
    record = sqs_record("x")
    del record["body"]
    result = ProgressConsumer(service.progress).handle({"Records": [record]})
    assert failures(result) == [record["messageId"]]


def test_an_update_of_an_unknown_job_is_reported(service: UseCases, job: Job) -> None:
    result, ids, lines = consume(service, started(UNKNOWN), started(job.job_id))
    assert failures(result) == [ids[0]]
    assert [line["outcome"] for line in lines] == ["not_found", "applied"]


class Unavailable(MemoryJobStore):
    def get(self, job_id: str) -> Job:
        raise ServiceUnavailable("The job store is unavailable (injected).")


class Conflicting(MemoryJobStore):
    def save(self, job: Job, expected_version: int) -> None:
        raise ConcurrentModification("The job changed concurrently (injected).")


class Broken(MemoryJobStore):
    def get(self, job_id: str) -> Job:
        raise RuntimeError("a bug")


@pytest.mark.parametrize(
    ("store", "outcome"),
    [(Unavailable, "unavailable"), (Conflicting, "conflict"), (Broken, "error")],
)
def test_what_cannot_be_applied_now_is_reported_for_another_try(
    store: type[MemoryJobStore], outcome: str
) -> None:
    jobs = store()
    job = a_job()
    MemoryJobStore.add(jobs, job)
    service = use_cases_over(jobs, MemoryBlobStore(), update_attempts=1)
    result, ids, lines = consume(service, started(job.job_id), started(UNKNOWN))
    assert ids[0] in failures(result)
    assert lines[0]["outcome"] == outcome
    if outcome == "error":
        assert "RuntimeError: a bug" in lines[0]["exception"]


def test_a_consumer_that_cannot_be_built_reports_every_record() -> None:
    def broken() -> ProgressConsumer:
        raise RuntimeError("no settings")

    records = [sqs_record("a"), sqs_record("b"), {"body": "no id"}]
    handler = progress_consumer.make_handler(broken)
    with captured_logs("INFO"):
        result = handler({"Records": records}, None)
    assert failures(result) == [records[0]["messageId"], records[1]["messageId"], ""]


@pytest.mark.parametrize("event", [None, {}, {"Records": "x"}])
def test_an_event_without_records_applies_nothing(service: UseCases, event: Any) -> None:
    assert ProgressConsumer(service.progress).handle(event) == {"batchItemFailures": []}


def test_the_invocations_deadline_is_the_functions_remaining_time(
    service: UseCases, job: Job
) -> None:
    """Bound while the batch is handled, gone after."""
    from entrypoints import deadline

    seen: list[float | None] = []

    class Watching(ProgressConsumer):
        def handle(self, event: object) -> dict[str, list[dict[str, str]]]:
            seen.append(deadline.remaining())
            return super().handle(event)

    handler = progress_consumer.make_handler(Watching(service.progress))
    handler(sqs_event([sqs_record(started(job.job_id))]), Context(seconds=30))
    assert seen[0] is not None and 28 < seen[0] <= 29
    assert deadline.remaining() is None


def test_blobs_are_untouched(service: UseCases, blobs: MemoryBlobStore, job: Job) -> None:
    consume(service, started(job.job_id), completed(job.job_id))
    assert blobs.size(f"results/{job.job_id}.json") is None  # the pipeline stores it, not us
