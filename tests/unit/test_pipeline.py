"""What goes to the pipeline and what comes back: the messages a job's change calls for, the
updates the pipeline may send, and the sweeper."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from adapters.memory import MemoryBlobStore, MemoryJobStore, MemoryPipelineQueue
from domain.errors import JobNotFound
from domain.job import JobStatus
from domain.pipeline import (
    SCHEMA_VERSION,
    JobMessage,
    MalformedUpdate,
    MessageKind,
    ProgressUpdate,
    UpdateKind,
    messages_for_change,
)
from domain.use_cases.progress import Outcome
from domain.use_cases.sweeper import TIMEOUT_CODE, Sweeper
from tests.fakes import OWNER, START, SteppingClock
from tests.helpers import a_job, use_cases_over

JOB = "job_01jdz5k3a1b2c3d4e5f6g7h8j9"


# -- messages to the pipeline ----------------------------------------------------------------


def test_a_new_unfinished_job_is_sent_with_everything_the_pipeline_needs() -> None:
    job = a_job()
    [message] = messages_for_change(None, job)
    assert message.kind is MessageKind.CREATED
    assert message.to_dict() == {
        "schema_version": SCHEMA_VERSION,
        "type": "job.created",
        "job_id": job.job_id,
        "owner": OWNER,
        "blueprint": {
            "key": job.blueprint_s3_key,
            "format": "pdf",
            "sha256": job.blueprint_hash,
            "size_bytes": job.blueprint_size_bytes,
        },
        "created_at": "2026-11-26T03:15:00.123Z",
        "correlation_id": job.correlation_id,
    }
    assert message.deduplication_id == f"{job.job_id}:job.created"


def test_only_creation_and_cancellation_are_sent() -> None:
    job = a_job()
    started = job.start_processing(START)
    completed = started.complete("results/r.json", START)
    cancelled = started.cancel(START)
    assert messages_for_change(job, started) == []
    assert messages_for_change(started, completed) == []
    assert [m.kind for m in messages_for_change(started, cancelled)] == [MessageKind.CANCELLED]
    assert messages_for_change(cancelled, cancelled) == []  # cancelled again: nothing new
    assert messages_for_change(job, None) == []


def test_a_job_the_result_cache_completes_is_not_sent() -> None:
    source = a_job().start_processing(START).complete("results/r.json", START)
    cached = a_job()
    from domain.blueprint import BlueprintFacts, BlueprintFormat
    from domain.job import Job

    from_cache = Job.create(
        job_id=cached.job_id,
        owner=OWNER,
        now=START,
        blueprint=BlueprintFacts(BlueprintFormat.PDF, source.blueprint_hash, 10),
        blueprint_key="k",
        request_id=cached.request_id,
        correlation_id="c",
        api_version="v1",
        cached=source,
    )
    assert from_cache.done
    assert messages_for_change(None, from_cache) == []
    assert JobMessage.of(source, MessageKind.CREATED).job_id == source.job_id


# -- updates from the pipeline ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"event_id": "e1", "job_id": JOB, "type": "started"}, UpdateKind.STARTED),
        (
            {
                "event_id": "e2",
                "job_id": JOB,
                "type": "completed",
                "result_key": f"results/{JOB}.json",
            },
            UpdateKind.COMPLETED,
        ),
        (
            {
                "event_id": "e3",
                "job_id": JOB,
                "type": "failed",
                "error": {"code": "NO_WALLS", "message": "No walls found."},
            },
            UpdateKind.FAILED,
        ),
    ],
)
def test_updates_are_read_and_written_alike(data: dict[str, Any], kind: UpdateKind) -> None:
    update = ProgressUpdate.parse(data)
    assert update.kind is kind
    assert update.to_dict() == data


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"job_id": JOB, "type": "started"},
        {"event_id": "", "job_id": JOB, "type": "started"},
        {"event_id": "e", "job_id": "job_nope", "type": "started"},
        {"event_id": "e", "job_id": JOB, "type": "paused"},
        {"event_id": "e", "job_id": JOB, "type": "completed"},
        {"event_id": "e", "job_id": JOB, "type": "completed", "result_key": "blueprints/x"},
        {"event_id": "e", "job_id": JOB, "type": "completed", "result_key": "results/../x"},
        {"event_id": "e", "job_id": JOB, "type": "completed", "result_key": "results/"},
        # Another job's result (another owner's, maybe): never this job's.
        {"event_id": "e", "job_id": JOB, "type": "completed", "result_key": "results/a.json"},
        {
            "event_id": "e",
            "job_id": JOB,
            "type": "completed",
            "result_key": "results/job_01jdz5k3a1b2c3d4e5f6g7h8jz.json",
        },
        {"event_id": "e", "job_id": JOB, "type": "completed", "result_key": f"results/{JOB}x"},
        {"event_id": "e", "job_id": JOB, "type": "completed", "result_key": f"results/{JOB}/../y"},
        {"event_id": "e", "job_id": JOB, "type": "failed"},
        {"event_id": "e", "job_id": JOB, "type": "failed", "error": {"code": "x", "message": "m"}},
        {"event_id": "e", "job_id": JOB, "type": "failed", "error": {"code": "X", "message": ""}},
    ],
)
def test_a_malformed_update_is_refused(data: Any) -> None:
    with pytest.raises(MalformedUpdate):
        ProgressUpdate.parse(data)


def test_an_update_for_no_job_is_refused_as_never_applicable() -> None:
    service = use_cases_over(MemoryJobStore(), MemoryBlobStore())
    with pytest.raises(JobNotFound):
        service.progress.apply(ProgressUpdate("e", JOB, UpdateKind.STARTED))


def test_outcomes_of_updates_in_order_repeated_and_late() -> None:
    jobs = MemoryJobStore()
    service = use_cases_over(jobs, MemoryBlobStore())
    job = a_job()
    jobs.add(job)
    started = ProgressUpdate("e1", job.job_id, UpdateKind.STARTED)
    completed = ProgressUpdate("e2", job.job_id, UpdateKind.COMPLETED, "results/r.json")
    assert service.progress.apply(started) is Outcome.APPLIED
    assert service.progress.apply(started) is Outcome.DUPLICATE
    assert service.progress.apply(completed) is Outcome.APPLIED
    assert service.progress.apply(completed) is Outcome.DUPLICATE
    assert service.progress.apply(started) is Outcome.BEHIND
    failed = ProgressUpdate("e3", job.job_id, UpdateKind.FAILED, None, "LATE", "Too late.")
    assert service.progress.apply(failed) is Outcome.TERMINAL
    assert jobs.get(job.job_id).status is JobStatus.COMPLETED


def test_a_completion_before_its_start_moves_the_job_through_processing() -> None:
    jobs = MemoryJobStore()
    service = use_cases_over(jobs, MemoryBlobStore())
    job = a_job()
    jobs.add(job)
    seen: list[JobStatus] = []
    jobs.subscribe(lambda before, after: seen.append(after.status))
    completed = ProgressUpdate("e2", job.job_id, UpdateKind.COMPLETED, "results/r.json")
    assert service.progress.apply(completed) is Outcome.APPLIED
    assert seen == [JobStatus.PROCESSING, JobStatus.COMPLETED]


def test_a_cancelled_job_ignores_late_updates_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jobs = MemoryJobStore()
    service = use_cases_over(jobs, MemoryBlobStore())
    job = a_job()
    jobs.add(job)
    service.lifecycle.cancel_job(OWNER, job.job_id)
    update = ProgressUpdate("late-1", job.job_id, UpdateKind.COMPLETED, "results/r.json")
    with caplog.at_level("INFO"):
        assert service.progress.apply(update) is Outcome.TERMINAL
    assert jobs.get(job.job_id).status is JobStatus.CANCELLED
    [record] = [r for r in caplog.records if "late update" in r.getMessage()]
    assert record.__dict__["event_id"] == "late-1"


# -- the sweeper -----------------------------------------------------------------------------


def test_the_sweeper_fails_jobs_processing_too_long_and_resends_pending_ones() -> None:
    jobs = MemoryJobStore()
    clock = SteppingClock()
    service = use_cases_over(jobs, MemoryBlobStore(), clock)
    queue = MemoryPipelineQueue()
    stuck, waiting, fresh = a_job(), a_job(), a_job()
    for job in (stuck, waiting, fresh):
        jobs.add(job)
    service.lifecycle.start_processing(stuck.job_id)
    sweeper = Sweeper(
        jobs,
        service.lifecycle,
        queue,
        clock,
        processing_timeout=timedelta(hours=1),
        resend_after=timedelta(minutes=15),
    )
    assert sweeper.sweep().failed == []  # nothing is old enough yet
    assert queue.pending() == 0
    clock.set(START + timedelta(minutes=20))
    report = sweeper.sweep()
    assert (report.failed, sorted(report.resent)) == ([], sorted([waiting.job_id, fresh.job_id]))
    clock.set(START + timedelta(hours=2))
    report = sweeper.sweep()
    assert report.failed == [stuck.job_id]
    failed = jobs.get(stuck.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == TIMEOUT_CODE
    message = queue.receive(timeout=0)
    assert message is not None
    assert message.kind is MessageKind.CREATED


def test_the_sweeper_re_reads_a_job_before_sending_it_again() -> None:
    """The index lags its table: a job cancelled meanwhile is not sent as created."""

    class LaggingIndex(MemoryJobStore):
        def stale_jobs(self, status: JobStatus, changed_before: Any, limit: int) -> list[Any]:
            return [job for job in snapshot if job.status is status]

    jobs = LaggingIndex()
    clock = SteppingClock()
    service = use_cases_over(jobs, MemoryBlobStore(), clock)
    queue = MemoryPipelineQueue()
    cancelled, waiting = a_job(), a_job()
    jobs.add(cancelled)
    jobs.add(waiting)
    snapshot = [jobs.get(cancelled.job_id), jobs.get(waiting.job_id)]  # the index, as it was
    service.lifecycle.cancel_job(OWNER, cancelled.job_id)
    clock.set(START + timedelta(hours=1))
    sweeper = Sweeper(
        jobs,
        service.lifecycle,
        queue,
        clock,
        processing_timeout=timedelta(hours=1),
        resend_after=timedelta(minutes=15),
    )
    assert sweeper.sweep().resent == [waiting.job_id]
    message = queue.receive(timeout=0)
    assert message is not None
    assert message.job_id == waiting.job_id
    # A re-send asks for the job again: its own deduplication id, and when it was sent.
    assert message.resent_at is not None
    assert message.deduplication_id.startswith(f"{waiting.job_id}:job.created:resent:")
    assert message.to_dict()["resent_at"].startswith("2026-11-26T04:15:00")
    assert queue.receive(timeout=0) is None
