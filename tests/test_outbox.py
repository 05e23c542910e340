"""The outbox: which change of the jobs table sends what to the pipeline's queue, read from
stream records shaped as AWS documents them ("Using AWS Lambda with Amazon DynamoDB") and from
the records moto's DynamoDB Streams gives for real writes; and how a batch fails."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from adapters.dynamodb import job_of_image
from adapters.dynamodb.mapping import to_item
from adapters.memory import MemoryPipelineQueue
from domain.blueprint import BlueprintFacts, BlueprintFormat
from domain.errors import ServiceUnavailable
from domain.job import Job
from domain.pipeline import JobMessage, MessageKind
from entrypoints import outbox
from entrypoints.outbox import Outbox, change_of, messages_of
from tests.fakes import OWNER, START
from tests.helpers import a_job, captured_logs, parsed
from tests.pipeline import Context, from_sequence, stream_event, stream_record

LATER = START.replace(minute=20)


def image(job: Job) -> dict[str, Any]:
    """The job's item as the stream carries it (DynamoDB's JSON)."""
    return dict(to_item(job).serialize())


def keys(job: Job) -> dict[str, Any]:
    return {"pk": {"S": job.job_id}, "sk": {"S": "JOB"}}


def insert(job: Job, sequence: str = "111") -> dict[str, Any]:
    return stream_record("INSERT", sequence, keys=keys(job), new=image(job))


def modify(old: Job, new: Job, sequence: str = "222") -> dict[str, Any]:
    return stream_record("MODIFY", sequence, keys=keys(new), old=image(old), new=image(new))


def cached_job() -> Job:
    source = a_job().start_processing(START).complete("results/r.json", START)
    return Job.create(
        job_id=a_job().job_id,
        owner=OWNER,
        now=LATER,
        blueprint=BlueprintFacts(BlueprintFormat.PDF, source.blueprint_hash, 52_428_800),
        blueprint_key="blueprints/x/source.pdf",
        request_id="req_20261126_031500_k3j9x2m1q8zp",
        correlation_id="trace-2",
        api_version="v1",
        cached=source,
    )


def kinds(record: dict[str, Any]) -> list[MessageKind]:
    return [message.kind for message in messages_of(record, job_of_image)]


# -- which change sends what ----------------------------------------------------------------


def test_an_inserted_pending_job_is_sent_as_created_with_all_the_pipeline_needs() -> None:
    job = a_job()
    [message] = messages_of(insert(job), job_of_image)
    assert message == JobMessage.of(job, MessageKind.CREATED)
    assert change_of(insert(job), job_of_image) == (None, job)


def test_an_inserted_job_the_result_cache_completed_is_not_sent() -> None:
    assert kinds(insert(cached_job())) == []


@pytest.mark.parametrize("started", [False, True])
def test_a_job_that_becomes_cancelled_is_sent_as_cancelled(started: bool) -> None:
    job = a_job()
    before = job.start_processing(LATER) if started else job
    cancelled = before.cancel(LATER)
    [message] = messages_of(modify(before, cancelled), job_of_image)
    assert message.kind is MessageKind.CANCELLED
    assert message.to_dict()["type"] == "job.cancelled"
    assert message.job_id == job.job_id


def test_the_pipelines_own_progress_sends_nothing() -> None:
    job = a_job()
    processing = job.start_processing(LATER)
    assert kinds(modify(job, processing)) == []
    assert kinds(modify(processing, processing.complete("results/r.json", LATER))) == []
    assert kinds(modify(processing, processing.fail("DETECTION_FAILED", "No walls.", LATER))) == []


def test_a_cancelled_job_written_again_is_not_sent_again() -> None:
    cancelled = a_job().cancel(LATER)
    assert kinds(modify(cancelled, attrs.evolve(cancelled))) == []


def test_removals_send_nothing_ttl_ones_included() -> None:
    job = a_job()
    assert kinds(stream_record("REMOVE", "333", keys=keys(job), old=image(job))) == []
    session = {
        "pk": {"S": "IDEM#" + "a" * 64},
        "sk": {"S": "IDEMPOTENCY"},
        "kind": {"S": "idempotency"},
        "expires": {"N": "1795662900"},
    }
    ttl = stream_record("REMOVE", "334", keys=session, old=session, ttl=True)
    assert ttl["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert kinds(ttl) == []


@pytest.mark.parametrize(
    "item",
    [
        {
            "pk": {"S": "job_01jdz5k3a1b2c3d4e5f6g7h8j9"},
            "sk": {"S": "FB#2026-11-26T03:15:00.123Z#fb_1"},
            "kind": {"S": "feedback"},
            "rating": {"N": "5"},
        },
        {
            "pk": {"S": "job_01jdz5k3a1b2c3d4e5f6g7h8j9"},
            "sk": {"S": "FEEDBACK_COUNT"},
            "kind": {"S": "feedback_count"},
            "entries": {"N": "1"},
        },
        {
            "pk": {"S": "upl_01jdz5k3a1b2c3d4e5f6g7h8j9"},
            "sk": {"S": "UPLOAD"},
            "kind": {"S": "upload"},
            "upload_owner": {"S": OWNER},
        },
        {
            "pk": {"S": f"OWNER#{OWNER}"},
            "sk": {"S": "UNFINISHED"},
            "kind": {"S": "unfinished"},
            "jobs": {"N": "1"},
        },
        {
            "pk": {"S": "RATE#jobs#60#0#x"},
            "sk": {"S": "RATE"},
            "kind": {"S": "rate"},
            "hits": {"N": "1"},
        },
        {"pk": {"S": "job_01jdz5k3a1b2c3d4e5f6g7h8j9"}, "sk": {"S": "JOB"}, "kind": {"S": "other"}},
    ],
    ids=["feedback", "counter", "upload", "unfinished", "rate", "other-kind"],
)
def test_items_that_are_no_jobs_send_nothing(item: dict[str, Any]) -> None:
    keyed = {"pk": item["pk"], "sk": item["sk"]}
    assert kinds(stream_record("INSERT", "444", keys=keyed, new=item)) == []
    assert kinds(stream_record("MODIFY", "445", keys=keyed, old=item, new=item)) == []


def test_a_job_without_an_owner_is_never_sent() -> None:
    legacy = image(a_job())
    del legacy["owner"]
    with captured_logs("INFO") as logs:
        assert kinds(stream_record("INSERT", "555", keys={}, new=legacy)) == []
    [line] = parsed(logs)
    assert line["level"] == "WARNING"
    assert line["job_id"] == legacy["pk"]["S"]


@pytest.mark.parametrize(
    "broken",
    [
        lambda item: {k: v for k, v in item.items() if k != "status"},
        lambda item: {**item, "status": {"S": "lost"}},
        lambda item: {**item, "version": {"S": "one"}},
        lambda item: {**item, "created_at": {"N": "1"}},
    ],
)
def test_a_job_image_that_does_not_read_is_an_error(broken: Any) -> None:
    with pytest.raises(ValueError):
        job_of_image(broken(image(a_job())))


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"eventName": "INSERT"},
        {"eventName": "UPSERT", "dynamodb": {}},
        {"eventName": "INSERT", "dynamodb": []},
    ],
)
def test_a_record_that_is_no_stream_record_is_an_error(record: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        change_of(record, job_of_image)


# -- batches --------------------------------------------------------------------------------


class FlakyQueue(MemoryPipelineQueue):
    """Sends, except for the jobs it is told to fail (each once)."""

    def __init__(self, failing: set[str]) -> None:
        super().__init__()
        self.failing = set(failing)

    def send(self, message: JobMessage) -> None:
        if message.job_id in self.failing:
            self.failing.discard(message.job_id)
            raise ServiceUnavailable("The pipeline queue is unavailable (injected).")
        super().send(message)


def sent(queue: MemoryPipelineQueue) -> list[tuple[str, str]]:
    found = []
    while (message := queue.receive(timeout=0)) is not None:
        found.append((message.job_id, message.kind.value))
    return found


def test_a_batch_is_sent_in_order_and_other_records_are_skipped() -> None:
    first, second = a_job(), a_job()
    queue = MemoryPipelineQueue()
    records = [
        insert(first, "100"),
        insert(cached_job(), "101"),
        modify(second, second.start_processing(LATER), "102"),
        modify(first, first.cancel(LATER), "103"),
    ]
    handler = outbox.make_handler(Outbox(queue, job_of_image))
    assert handler(stream_event(records), Context()) == {"batchItemFailures": []}
    assert sent(queue) == [(first.job_id, "job.created"), (first.job_id, "job.cancelled")]


def test_the_first_record_that_fails_stops_the_batch_and_its_redelivery_sends_it() -> None:
    """A send fails for the second record: it is reported, the third is not tried (Lambda
    gives the batch again from the second), and redelivered, both arrive in order."""
    jobs = [a_job() for _ in range(3)]
    records = [insert(job, str(200 + n)) for n, job in enumerate(jobs)]
    queue = FlakyQueue({jobs[1].job_id})
    handler = outbox.make_handler(Outbox(queue, job_of_image))
    with captured_logs("INFO") as logs:
        result = handler(stream_event(records), Context())
    assert result == {"batchItemFailures": [{"itemIdentifier": "201"}]}
    assert sent(queue) == [(jobs[0].job_id, "job.created")]
    failure = next(line for line in parsed(logs) if line.get("outcome") == "failed")
    assert failure["sequence_number"] == "201"
    assert "ServiceUnavailable" in failure["exception"]

    again = from_sequence(records, result)
    assert handler(stream_event(again), Context()) == {"batchItemFailures": []}
    assert sent(queue) == [(jobs[1].job_id, "job.created"), (jobs[2].job_id, "job.created")]


def test_a_record_that_cannot_be_read_is_skipped_loudly_and_the_rest_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No retry would read it, and reporting it would hold back every record after it until
    Lambda discarded them all: it is skipped, with an error line."""
    broken = image(a_job())
    del broken["status"]
    after = a_job()
    records = [stream_record("INSERT", "300", keys={}, new=broken), insert(after, "301")]
    queue = MemoryPipelineQueue()
    with caplog.at_level("ERROR"):
        result = Outbox(queue, job_of_image).handle(stream_event(records))
    assert result == {"batchItemFailures": []}
    assert sent(queue) == [(after.job_id, "job.created")]
    assert "no readable job was skipped" in caplog.text


def test_something_that_is_no_stream_record_is_skipped() -> None:
    queue = MemoryPipelineQueue()
    result = Outbox(queue, job_of_image).handle({"Records": ["not a record"]})
    assert result == {"batchItemFailures": []}
    assert sent(queue) == []


@pytest.mark.parametrize("event", [None, {}, {"Records": None}, [], "x"])
def test_an_event_without_records_sends_nothing(event: Any) -> None:
    assert Outbox(MemoryPipelineQueue(), job_of_image).handle(event) == {"batchItemFailures": []}


def test_an_outbox_that_cannot_be_built_fails_the_batch_from_its_first_record() -> None:
    def broken() -> Outbox:
        raise RuntimeError("no settings")

    handler = outbox.make_handler(broken)
    records = [insert(a_job(), "400"), insert(a_job(), "401")]
    with captured_logs("INFO"):
        assert handler(stream_event(records), Context()) == {
            "batchItemFailures": [{"itemIdentifier": "400"}]
        }
        assert handler({"Records": []}, None) == {"batchItemFailures": []}


def test_every_line_of_an_invocation_names_its_lambda_request() -> None:
    queue = MemoryPipelineQueue()
    context = Context()
    with captured_logs("INFO") as logs:
        outbox.make_handler(Outbox(queue, job_of_image))(stream_event([insert(a_job())]), context)
    [line] = parsed(logs)
    assert line["lambda_request_id"] == context.aws_request_id
    assert line["message_type"] == "job.created"
    assert line["sequence_number"] == "111"
