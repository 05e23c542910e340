from __future__ import annotations

import hashlib
import logging

import attrs
import pytest

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.blueprint import BlueprintFormat
from domain.errors import (
    ConcurrentModification,
    FeedbackLimitReached,
    FileTooLarge,
    InvalidFileFormat,
    InvalidJobId,
    InvalidRequest,
    JobAlreadyCompleted,
    JobNotFinished,
    JobNotFound,
    PreconditionFailed,
    ServiceUnavailable,
)
from domain.feedback import MAX_FEEDBACK_PER_JOB
from domain.job import Job, JobStatus
from domain.use_cases import UseCases
from tests.blueprints import chunked, jpeg, pdf, png
from tests.fakes import (
    OWNER,
    BrokenBlobStore,
    BrokenJobStore,
    CrashingJobStore,
    SeededEntropy,
    SteppingClock,
    UndeletableBlobStore,
)
from tests.helpers import ORIGIN, use_cases_over

UNKNOWN = "job_01jdz5k3a1b2c3d4e5f6g7h8j9"


def finished(service: UseCases, *, failed: bool = False) -> Job:
    job = service.intake.create_job([png()], ORIGIN)
    service.lifecycle.start_processing(job.job_id)
    if failed:
        return service.lifecycle.fail_job(job.job_id, "DETECTION_FAILED", "nothing found")
    return service.lifecycle.complete_job(job.job_id, "results/r.json")


def test_create_stores_the_blob_and_records_the_job(
    service: UseCases, jobs: MemoryJobStore, blobs: MemoryBlobStore
) -> None:
    data = png()
    job = service.intake.create_job(chunked(data, 7), ORIGIN, BlueprintFormat.PNG)
    assert jobs.get(job.job_id) == job
    assert job.blueprint_hash == hashlib.sha256(data).hexdigest()
    assert job.blueprint_size_bytes == len(data)
    assert job.blueprint_s3_key == f"blueprints/{job.job_id}/source.png"
    assert blobs.read_range(job.blueprint_s3_key, 0, len(data) + 10) == data
    assert (job.request_id, job.correlation_id, job.api_version) == (
        ORIGIN.request_id,
        ORIGIN.correlation_id,
        ORIGIN.api_version,
    )


@pytest.mark.parametrize(
    ("chunks", "declared", "error"),
    [
        ([b"hello, this is text"], BlueprintFormat.PNG, InvalidFileFormat),
        ([pdf()], BlueprintFormat.JPG, InvalidFileFormat),
        ([b"\x89PN"], None, InvalidFileFormat),
        ([], None, InvalidRequest),
        ([jpeg(), b"\x00" * 52_428_800], None, FileTooLarge),
    ],
)
def test_refused_blueprints_leave_nothing_behind(
    service: UseCases,
    blobs: MemoryBlobStore,
    chunks: list[bytes],
    declared: BlueprintFormat | None,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        service.intake.create_job(chunks, ORIGIN, declared)
    assert blobs.keys() == []


@pytest.mark.parametrize("store", [BrokenJobStore, CrashingJobStore])
def test_a_job_store_failure_removes_the_blob(store: type[MemoryJobStore]) -> None:
    blobs = MemoryBlobStore()
    service = use_cases_over(store(), blobs, SteppingClock(), SeededEntropy())
    with pytest.raises((ServiceUnavailable, RuntimeError)):
        service.intake.create_job([png()], ORIGIN)
    assert blobs.keys() == []


def test_a_blob_store_failure_records_no_job_and_removes_the_part() -> None:
    jobs, blobs = MemoryJobStore(), BrokenBlobStore(fail_after_chunks=2)
    service = use_cases_over(jobs, blobs, SteppingClock(), SeededEntropy())
    with pytest.raises(ServiceUnavailable):
        service.intake.create_job(chunked(png(), 8), ORIGIN)
    assert blobs.keys() == []
    assert jobs.job_ids() == []


def test_a_failed_cleanup_is_logged_not_hidden(caplog: pytest.LogCaptureFixture) -> None:
    service = use_cases_over(
        BrokenJobStore(), UndeletableBlobStore(), SteppingClock(), SeededEntropy()
    )
    with caplog.at_level(logging.ERROR), pytest.raises(ServiceUnavailable):
        service.intake.create_job([png()], ORIGIN)
    assert "could not remove the blob" in caplog.text


def test_get_checks_the_id_before_any_lookup(service: UseCases) -> None:
    with pytest.raises(InvalidJobId):
        service.lifecycle.get_job(OWNER, "../../etc/passwd")
    with pytest.raises(JobNotFound):
        service.lifecycle.get_job(OWNER, UNKNOWN)


def test_cancel_is_idempotent(service: UseCases) -> None:
    job = service.intake.create_job([png()], ORIGIN)
    cancelled = service.lifecycle.cancel_job(OWNER, job.job_id)
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.version == 2
    assert service.lifecycle.cancel_job(OWNER, job.job_id) == cancelled


def test_cancel_with_a_stale_version_is_a_failed_precondition(service: UseCases) -> None:
    job = service.intake.create_job([png()], ORIGIN)
    service.lifecycle.start_processing(job.job_id)
    with pytest.raises(PreconditionFailed):
        service.lifecycle.cancel_job(OWNER, job.job_id, expected_version=1)
    assert service.lifecycle.get_job(OWNER, job.job_id).status is JobStatus.PROCESSING
    assert (
        service.lifecycle.cancel_job(OWNER, job.job_id, expected_version=2).status
        is JobStatus.CANCELLED
    )


def test_cancel_of_a_finished_job_is_refused(service: UseCases) -> None:
    job = finished(service)
    with pytest.raises(JobAlreadyCompleted):
        service.lifecycle.cancel_job(OWNER, job.job_id)


class RacingJobStore(MemoryJobStore):
    """Lets another writer in between every read and write, ``races`` times."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    def save(self, job: Job, expected_version: int) -> None:
        if self.races > 0:
            self.races -= 1
            current = self.get(job.job_id)  # another writer gets in first
            super().save(attrs.evolve(current, version=current.version + 1), current.version)
        super().save(job, expected_version)


def test_a_concurrent_change_is_reapplied() -> None:
    jobs = RacingJobStore(races=2)
    service = use_cases_over(jobs, MemoryBlobStore(), SteppingClock(), SeededEntropy())
    job = service.intake.create_job([png()], ORIGIN)
    cancelled = service.lifecycle.cancel_job(OWNER, job.job_id)
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.version == 4  # two foreign changes, then ours


def test_an_unsettled_race_is_a_concurrent_modification() -> None:
    jobs = RacingJobStore(races=100)
    service = use_cases_over(
        jobs, MemoryBlobStore(), SteppingClock(), SeededEntropy(), update_attempts=3
    )
    job = service.intake.create_job([png()], ORIGIN)
    with pytest.raises(ConcurrentModification):
        service.lifecycle.cancel_job(OWNER, job.job_id)
    assert jobs.races == 97


def test_a_race_under_if_match_is_a_failed_precondition() -> None:
    jobs = RacingJobStore(races=1)
    service = use_cases_over(jobs, MemoryBlobStore(), SteppingClock(), SeededEntropy())
    job = service.intake.create_job([png()], ORIGIN)
    with pytest.raises(PreconditionFailed):
        service.lifecycle.cancel_job(OWNER, job.job_id, expected_version=1)


def test_feedback_is_validated_before_the_job_is_read(service: UseCases) -> None:
    with pytest.raises(InvalidRequest):
        service.feedback.add_feedback(OWNER, "not-an-id", rating=6)
    with pytest.raises(InvalidRequest):
        service.feedback.add_feedback(OWNER, UNKNOWN, rating="5")
    with pytest.raises(InvalidRequest):
        service.feedback.add_feedback(OWNER, UNKNOWN, rating=5, comment="x" * 2001)
    with pytest.raises(JobNotFound):
        service.feedback.add_feedback(OWNER, UNKNOWN, rating=5)


@pytest.mark.parametrize("status", ["pending", "processing", "cancelled"])
def test_feedback_needs_a_completed_or_failed_job(service: UseCases, status: str) -> None:
    job = service.intake.create_job([png()], ORIGIN)
    if status == "processing":
        service.lifecycle.start_processing(job.job_id)
    if status == "cancelled":
        service.lifecycle.cancel_job(OWNER, job.job_id)
    with pytest.raises(JobNotFinished):
        service.feedback.add_feedback(OWNER, job.job_id, rating=4)


@pytest.mark.parametrize("failed", [False, True])
def test_feedback_on_a_finished_job(service: UseCases, failed: bool) -> None:
    job = finished(service, failed=failed)
    feedback = service.feedback.add_feedback(
        OWNER, job.job_id, rating=5, comment="found every door"
    )
    assert feedback.job_id == job.job_id
    assert service.feedback.list_feedback(OWNER, job.job_id) == [feedback]


def test_feedback_stops_at_the_limit(service: UseCases) -> None:
    job = finished(service)
    for _ in range(MAX_FEEDBACK_PER_JOB):
        service.feedback.add_feedback(OWNER, job.job_id, rating=3)
    with pytest.raises(FeedbackLimitReached):
        service.feedback.add_feedback(OWNER, job.job_id, rating=3)
    assert len(service.feedback.list_feedback(OWNER, job.job_id)) == MAX_FEEDBACK_PER_JOB


def test_feedback_with_a_stale_version(service: UseCases) -> None:
    job = finished(service)
    with pytest.raises(PreconditionFailed):
        service.feedback.add_feedback(OWNER, job.job_id, rating=3, expected_version=1)


def test_readiness_reports_each_store() -> None:
    healthy = use_cases_over(MemoryJobStore(), MemoryBlobStore(), SteppingClock(), SeededEntropy())
    assert healthy.lifecycle.readiness().ready
    broken = use_cases_over(BrokenJobStore(), BrokenBlobStore(), SteppingClock(), SeededEntropy())
    readiness = broken.lifecycle.readiness()
    assert (readiness.job_store, readiness.blob_store, readiness.ready) == (False, False, False)
