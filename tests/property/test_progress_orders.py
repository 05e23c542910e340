"""The pipeline's updates in any order, any number of times, with an owner's cancellations
among them, applied through ``Progress.apply`` on the memory store: a job never goes back, a
finished job never changes, and every outcome says what happened."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.errors import JobAlreadyCompleted
from domain.job import Job, JobStatus
from domain.pipeline import ProgressUpdate, UpdateKind
from domain.use_cases import Outcome, UseCases
from tests.blueprints import png
from tests.fakes import OWNER, SeededEntropy, SteppingClock
from tests.helpers import ORIGIN, use_cases_over

CANCEL = "cancel"
# A few updates, so that sequences repeat them: the same event again, or another event of the
# same kind (a pipeline that retried a step), or one of the other kind.
UPDATES: list[dict[str, Any]] = [
    {"event_id": "started-1", "type": "started"},
    {"event_id": "started-2", "type": "started"},
    {"event_id": "completed-1", "type": "completed", "result_key": "results/{job_id}.json"},
    {"event_id": "completed-2", "type": "completed", "result_key": "results/{job_id}/b.json"},
    {"event_id": "failed-1", "type": "failed", "error": {"code": "NO_WALLS", "message": "None."}},
    {"event_id": "failed-2", "type": "failed", "error": {"code": "CRASHED", "message": "Oops."}},
]
STEPS = st.lists(st.sampled_from([*range(len(UPDATES)), CANCEL]), min_size=1, max_size=14)

_RANK = {
    JobStatus.PENDING: 0,
    JobStatus.PROCESSING: 1,
    JobStatus.COMPLETED: 2,
    JobStatus.FAILED: 2,
    JobStatus.CANCELLED: 2,
}
_TARGET = {
    UpdateKind.STARTED: JobStatus.PROCESSING,
    UpdateKind.COMPLETED: JobStatus.COMPLETED,
    UpdateKind.FAILED: JobStatus.FAILED,
}


def _service() -> tuple[UseCases, str]:
    service = use_cases_over(MemoryJobStore(), MemoryBlobStore(), SteppingClock(), SeededEntropy())
    return service, service.intake.create_job([png()], ORIGIN).job_id


def _expected(before: JobStatus, kind: UpdateKind) -> Outcome:
    """What an update must report, from the job's status alone."""
    target = _TARGET[kind]
    if before is target:
        return Outcome.DUPLICATE
    if not before.terminal:
        return Outcome.APPLIED  # pending or processing: anything but a repeated "started"
    return Outcome.BEHIND if kind is UpdateKind.STARTED else Outcome.TERMINAL


def _update(step: int, job_id: str) -> ProgressUpdate:
    """The step's update for ``job_id``; a result under the job's own key, as it must be."""
    data = {**UPDATES[step], "job_id": job_id}
    if "result_key" in data:
        data["result_key"] = data["result_key"].format(job_id=job_id)
    return ProgressUpdate.parse(data)


def _step(service: UseCases, job_id: str, step: int | str) -> None:
    before = service.lifecycle.pipeline_job(job_id)
    if step == CANCEL:
        try:
            after = service.lifecycle.cancel_job(OWNER, job_id)
        except JobAlreadyCompleted:
            assert before.status in (JobStatus.COMPLETED, JobStatus.FAILED)
            after = service.lifecycle.pipeline_job(job_id)
        _never_back(before, after)
        return
    assert isinstance(step, int)
    update = _update(step, job_id)
    outcome = service.progress.apply(update)
    after = service.lifecycle.pipeline_job(job_id)
    _never_back(before, after)
    assert outcome is _expected(before.status, update.kind), (before.status, update)
    if outcome is Outcome.APPLIED:
        assert after.status is _TARGET[update.kind]
        # A "completed" or "failed" before its "started" moves the job through processing.
        skipped = before.status is JobStatus.PENDING and update.kind is not UpdateKind.STARTED
        assert after.version == before.version + (2 if skipped else 1)
        if update.kind is UpdateKind.COMPLETED:
            assert after.result_s3_key == update.result_key
        if update.kind is UpdateKind.FAILED:
            assert after.error is not None
            assert after.error.code == update.error_code
    else:
        assert after == before  # not applied: not a byte of the job changed


def _never_back(before: Job, after: Job) -> None:
    assert _RANK[after.status] >= _RANK[before.status], (before.status, after.status)
    if before.done:
        assert after == before  # a finished job never changes
    assert after.version >= before.version


@given(STEPS)
def test_no_order_of_updates_moves_a_job_back_or_changes_a_finished_one(
    steps: list[int | str],
) -> None:
    service, job_id = _service()
    for step in steps:
        _step(service, job_id, step)


@given(STEPS)
def test_a_whole_batch_delivered_again_changes_nothing(steps: list[int | str]) -> None:
    service, job_id = _service()
    updates = [s for s in steps if s != CANCEL]
    for step in steps:
        _step(service, job_id, step)
    settled = service.lifecycle.pipeline_job(job_id)
    for step in updates:
        assert isinstance(step, int)
        outcome = service.progress.apply(_update(step, job_id))
        assert outcome is not Outcome.APPLIED
    assert service.lifecycle.pipeline_job(job_id) == settled


@pytest.mark.parametrize(
    ("steps", "status"),
    [
        ([2, 0], JobStatus.COMPLETED),  # completed, then its late "started"
        ([0, 4, 2], JobStatus.FAILED),  # failed, then a "completed" of another attempt
        ([0, CANCEL, 2, 4, 1], JobStatus.CANCELLED),  # cancelled while processing
        ([3, 2, 3], JobStatus.COMPLETED),  # the first result stays
    ],
)
def test_some_orders_by_hand(steps: list[int | str], status: JobStatus) -> None:
    service, job_id = _service()
    for step in steps:
        _step(service, job_id, step)
    job = service.lifecycle.pipeline_job(job_id)
    assert job.status is status
    if status is JobStatus.COMPLETED:
        assert job.result_s3_key == UPDATES[steps[0]]["result_key"].format(job_id=job_id)
