from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from domain.blueprint import BlueprintFacts, BlueprintFormat
from domain.errors import InvalidTransition, JobAlreadyCompleted
from domain.job import ALLOWED_TRANSITIONS, CANCELLED_ERROR, Job, JobError, JobStatus
from tests.fakes import START

LATER = START + timedelta(seconds=1)


def new_job() -> Job:
    return Job.create(
        job_id="job_01jdz5k3a1b2c3d4e5f6g7h8j9",
        owner="owner-a",
        now=START,
        blueprint=BlueprintFacts(BlueprintFormat.PNG, "a" * 64, 1234),
        blueprint_key="blueprints/job_01jdz5k3a1b2c3d4e5f6g7h8j9/source.png",
        request_id="req_20261126_031500_k3j9x2m1q8zp",
        correlation_id="corr",
        api_version="v1",
    )


def job_in(status: JobStatus) -> Job:
    job = new_job()
    if status is JobStatus.PENDING:
        return job
    if status is JobStatus.CANCELLED:
        return job.cancel(LATER)
    job = job.start_processing(LATER)
    if status is JobStatus.COMPLETED:
        return job.complete("results/x.json", LATER)
    if status is JobStatus.FAILED:
        return job.fail("DETECTION_FAILED", "no walls found", LATER)
    return job


MOVES = {
    JobStatus.PROCESSING: lambda job: job.start_processing(LATER),
    JobStatus.COMPLETED: lambda job: job.complete("results/x.json", LATER),
    JobStatus.FAILED: lambda job: job.fail("DETECTION_FAILED", "no walls found", LATER),
    JobStatus.CANCELLED: lambda job: job.cancel(LATER),
}


def test_a_new_job_is_pending_at_version_one() -> None:
    job = new_job()
    assert job.status is JobStatus.PENDING
    assert job.version == 1
    assert job.created_at == job.updated_at == START
    assert not job.done
    assert job.result_s3_key is None
    assert job.error is None


@pytest.mark.parametrize("source", list(JobStatus))
@pytest.mark.parametrize("target", list(MOVES))
def test_every_transition_is_allowed_exactly_when_the_lifecycle_says(
    source: JobStatus, target: JobStatus
) -> None:
    job = job_in(source)
    if target in ALLOWED_TRANSITIONS[source]:
        moved = MOVES[target](job)
        assert moved.status is target
        assert moved.version == job.version + 1
        assert moved.updated_at == LATER
        assert moved.done is target.terminal
    elif source is JobStatus.CANCELLED and target is JobStatus.CANCELLED:
        assert MOVES[target](job) is job
    else:
        with pytest.raises(InvalidTransition):
            MOVES[target](job)


@pytest.mark.parametrize("status", [JobStatus.COMPLETED, JobStatus.FAILED])
def test_cancelling_a_finished_job_says_it_is_already_completed(status: JobStatus) -> None:
    with pytest.raises(JobAlreadyCompleted) as caught:
        job_in(status).cancel(LATER)
    assert caught.value.code == "JOB_ALREADY_COMPLETED"
    assert caught.value.details["status"] == status.value


def test_cancel_records_the_cancelled_error() -> None:
    assert job_in(JobStatus.PROCESSING).cancel(LATER).error == CANCELLED_ERROR


def test_updated_at_never_moves_backwards() -> None:
    job = new_job().start_processing(LATER)
    assert job.cancel(START).updated_at == LATER


def test_timestamps_are_cut_to_milliseconds() -> None:
    job = attrs.evolve(new_job())
    moved = job.start_processing(LATER + timedelta(microseconds=999))
    assert moved.updated_at == LATER


@pytest.mark.parametrize(
    "changes",
    [
        {"version": 0},
        {"version": True},
        {"blueprint_size_bytes": 0},
        {"blueprint_size_bytes": 52_428_801},
        {"blueprint_hash": "A" * 64},
        {"job_id": "job_nope"},
        {"request_id": "req_1"},
        {"correlation_id": "has space"},
        {"api_version": "version1"},
        {"blueprint_s3_key": ""},
        {"result_s3_key": "results/x.json"},
        {"error": JobError("X", "y")},
        {"status": JobStatus.COMPLETED},
        {"updated_at": START - timedelta(seconds=1)},
        {"created_at": START.replace(tzinfo=None)},
        {"created_at": START + timedelta(microseconds=1)},
    ],
)
def test_invalid_pending_jobs_cannot_exist(changes: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        attrs.evolve(new_job(), **changes)


@pytest.mark.parametrize(("code", "message"), [("lower", "m"), ("OK", ""), ("OK", "x" * 1001)])
def test_job_errors_are_validated(code: str, message: str) -> None:
    with pytest.raises(ValueError):
        JobError(code, message)
