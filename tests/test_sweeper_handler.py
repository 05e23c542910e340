"""The sweeper's handler: a scheduled event runs one pass; a pass that fails is logged and
raised, so the function's errors count it (the next pass comes five minutes on)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from adapters.memory import MemoryBlobStore, MemoryJobStore, MemoryPipelineQueue
from domain.errors import ServiceUnavailable
from domain.job import Job, JobStatus
from domain.use_cases.lifecycle import Lifecycle
from domain.use_cases.sweeper import TIMEOUT_CODE, Sweeper
from entrypoints import sweeper
from tests.fakes import START, SteppingClock
from tests.helpers import a_job, captured_logs, parsed
from tests.pipeline import Context

SCHEDULED = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


def build(jobs: MemoryJobStore, queue: MemoryPipelineQueue) -> Sweeper:
    clock = SteppingClock(START + timedelta(hours=2))
    return Sweeper(
        jobs,
        Lifecycle(jobs, MemoryBlobStore(), clock),
        queue,
        clock,
        processing_timeout=timedelta(hours=1),
        resend_after=timedelta(minutes=15),
    )


def test_a_pass_fails_the_stuck_and_resends_the_forgotten() -> None:
    jobs, queue = MemoryJobStore(), MemoryPipelineQueue()
    forgotten, stuck = a_job(), a_job()
    jobs.add(forgotten)
    jobs.add(stuck)
    jobs.save(stuck.start_processing(START), expected_version=1)
    handler = sweeper.make_handler(build(jobs, queue))
    with captured_logs("INFO") as logs:
        report = handler(SCHEDULED, Context())
    assert report == {"failed": [stuck.job_id], "resent": [forgotten.job_id]}
    failed = jobs.get(stuck.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None and failed.error.code == TIMEOUT_CODE
    message = queue.receive(timeout=0)
    assert message is not None and message.job_id == forgotten.job_id
    assert [line["message"] for line in parsed(logs)] == ["sweep"]


class Down(MemoryJobStore):
    def stale_jobs(self, status: JobStatus, changed_before: datetime, limit: int) -> list[Job]:
        raise ServiceUnavailable("The job store is unavailable (injected).")


def test_a_pass_that_fails_is_logged_and_raised() -> None:
    handler = sweeper.make_handler(lambda: build(Down(), MemoryPipelineQueue()))
    with captured_logs("INFO") as logs, pytest.raises(ServiceUnavailable):
        handler(SCHEDULED, Context())
    [line] = parsed(logs)
    assert line["level"] == "ERROR"
    assert "ServiceUnavailable" in line["exception"]
