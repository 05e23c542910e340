"""The local worker among the service's other moves: cancellations, the sweeper, repeated
messages, and its own thread."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from domain.errors import ServiceUnavailable
from domain.job import JobStatus
from domain.pipeline import JobMessage, MessageKind, ProgressUpdate
from domain.use_cases import Outcome
from domain.use_cases.sweeper import TIMEOUT_CODE, SweepReport
from tests.blueprints import pdf, png
from tests.fakes import OWNER
from tests.helpers import a_job, captured_logs, parsed
from tests.worker.harness import Local, gone, results, worker_with

pytestmark = pytest.mark.slow  # every test runs detector processes


def test_cancelling_stops_the_detector_and_the_job_stays_cancelled(
    make: Callable[..., Local],
) -> None:
    local = make("waiting")
    job_id = local.create()
    pid = local.pid()
    assert local.worker.running_pid == pid
    assert local.client.request("DELETE", f"/api/v1/jobs/{job_id}").status == 200
    local.drive(lambda: local.worker.running_pid is None)
    assert gone(pid)
    assert local.job(job_id).status is JobStatus.CANCELLED
    # The pipeline's late word on it changes nothing, and says so.
    late = ProgressUpdate.parse(
        {
            "event_id": "late-1",
            "job_id": job_id,
            "type": "completed",
            "result_key": f"results/{job_id}.json",
        }
    )
    with captured_logs("INFO") as stream:
        assert local.components.use_cases.progress.apply(late) is Outcome.TERMINAL
    [line] = [line for line in parsed(stream) if line.get("event_id") == "late-1"]
    assert line["message"] == "a late update for a finished job was ignored"
    assert line["status"] == "cancelled"
    assert local.job(job_id).status is JobStatus.CANCELLED


def test_a_result_that_comes_after_a_cancellation_is_ignored_and_not_kept(
    make: Callable[..., Local],
) -> None:
    """The cancellation's message has not reached the worker when its detector answers."""
    local = make("waiting")
    job_id = local.create()
    local.pid()
    local.components.use_cases.lifecycle.cancel_job(OWNER, job_id)
    assert local.pipeline.queue.receive(timeout=0) is not None  # taken before the worker sees it
    (local.directory / "go").touch()
    with captured_logs("INFO") as stream:
        local.drive(lambda: local.worker.running_pid is None)
    assert local.job(job_id).status is JobStatus.CANCELLED
    assert "a late update for a finished job was ignored" in [m["message"] for m in parsed(stream)]
    assert not results(local)


def test_a_message_for_an_unknown_job_is_skipped(local: Local) -> None:
    stranger = a_job()
    local.pipeline.queue.send(JobMessage.of(stranger, MessageKind.CREATED))
    with captured_logs("INFO") as stream:
        local.worker.step()
        local.worker.step()
    [line] = [line for line in parsed(stream) if line.get("update")]
    assert line["message"] == "an update could not be applied"
    assert (line["job_id"], line["error_code"]) == (stranger.job_id, "JOB_NOT_FOUND")
    assert local.worker.running_pid is None


def test_a_job_cancelled_before_its_turn_never_runs(local: Local) -> None:
    job_id = local.create()
    assert local.client.request("DELETE", f"/api/v1/jobs/{job_id}").status == 200
    with captured_logs("INFO") as stream:
        for _ in range(3):
            local.worker.step()
    lines = parsed(stream)
    [moved_on] = [line for line in lines if line["message"].startswith("the job has moved on")]
    assert moved_on["outcome"] == "behind"
    assert "detector started" not in [line["message"] for line in lines]
    assert local.job(job_id).status is JobStatus.CANCELLED


def test_the_sweeper_fails_a_job_started_and_lost(make: Callable[..., Local]) -> None:
    """A detector that crashed with its worker: the job was started, and nobody answers."""
    local = make("rooms", processing_timeout_seconds=0.4, resend_after_seconds=0.4)
    job_id = local.create()
    started = {"event_id": "crashed-1", "job_id": job_id, "type": "started"}
    local.components.use_cases.progress.apply(ProgressUpdate.parse(started))
    job = local.ends(job_id)  # the worker takes the message, sees the job started, skips it
    assert job.error is not None
    assert job.error.code == TIMEOUT_CODE


def test_the_sweeper_sends_a_job_whose_message_was_lost_again(make: Callable[..., Local]) -> None:
    local = make("rooms", processing_timeout_seconds=0.4, resend_after_seconds=0.4)
    job_id = local.create()
    assert local.pipeline.queue.receive(timeout=0) is not None  # lost
    assert local.ends(job_id).status is JobStatus.COMPLETED


def test_a_detector_whose_job_the_sweeper_failed_is_stopped(make: Callable[..., Local]) -> None:
    local = make(
        "waiting",
        processing_timeout_seconds=0.6,
        resend_after_seconds=60,
        worker_timeout_seconds=60,
    )
    job_id = local.create()
    pid = local.started()
    local.drive(lambda: local.worker.running_pid is None)
    assert gone(pid)
    error = local.job(job_id).error
    assert error is not None
    assert error.code == TIMEOUT_CODE


def test_a_sweep_that_fails_is_logged_and_tried_again(make: Callable[..., Local]) -> None:
    local = make("rooms", processing_timeout_seconds=0.4, resend_after_seconds=0.4)

    class Down:
        calls = 0

        def sweep(self) -> SweepReport:
            Down.calls += 1
            raise ServiceUnavailable("job store down")

    worker_with(local, sweeper=Down())
    with captured_logs("INFO") as stream:
        local.drive(lambda: Down.calls >= 2)
    assert "the sweep failed; the next one tries again" in [m["message"] for m in parsed(stream)]


def test_jobs_wait_their_turn_and_a_repeated_message_runs_nothing_twice(local: Local) -> None:
    first, second = local.create(png()), local.create(pdf())
    for job_id in (first, second):  # as the sweeper would send them again
        local.pipeline.queue.send(JobMessage.of(local.job(job_id), MessageKind.CREATED))
    local.ends(first)
    local.ends(second)
    assert local.pipeline.queue.pending() == 0
    versions = [local.job(job_id).version for job_id in (first, second)]
    assert versions == [3, 3]  # created, started, completed: once each


# -- the worker's thread ---------------------------------------------------------------------


def test_the_thread_works_the_queue_and_stops(local: Local) -> None:
    local.worker.start()
    job_id = local.create()
    deadline = time.monotonic() + 20
    while not local.job(job_id).done and time.monotonic() < deadline:
        time.sleep(0.02)
    assert local.job(job_id).status is JobStatus.COMPLETED
    local.worker.stop()
    assert not local.worker.alive


def test_stopping_the_thread_stops_the_running_detector(make: Callable[..., Local]) -> None:
    local = make("waiting")
    local.worker.start()
    job_id = local.create()
    path = local.directory / "pid"
    deadline = time.monotonic() + 20
    while not (path.exists() and path.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = int(path.read_text())
    local.worker.stop()
    assert not local.worker.alive
    assert gone(pid)
    assert local.job(job_id).status is JobStatus.PROCESSING  # the server is going away


def test_the_thread_survives_a_failing_step(local: Local) -> None:
    queue = local.pipeline.queue

    class Flaky:
        failed = False

        def receive(self, timeout: float | None = None) -> JobMessage | None:
            if not Flaky.failed:
                Flaky.failed = True
                raise RuntimeError("queue hiccup")
            return queue.receive(timeout)

    worker = worker_with(local, inbox=Flaky())
    with captured_logs("INFO") as stream:
        worker.start()
        job_id = local.create()
        deadline = time.monotonic() + 20
        while not local.job(job_id).done and time.monotonic() < deadline:
            time.sleep(0.02)
        worker.stop()
    assert local.job(job_id).status is JobStatus.COMPLETED
    messages = [line["message"] for line in parsed(stream)]
    assert "the local worker failed a step; it carries on" in messages


# -- helpers ---------------------------------------------------------------------------------
