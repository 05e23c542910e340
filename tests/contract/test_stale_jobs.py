"""``JobStore.stale_jobs``: the sweeper's view of unfinished jobs, on every adapter."""

from __future__ import annotations

from datetime import timedelta

import attrs

from domain.job import Job, JobStatus
from ports.jobs import JobStore
from tests.fakes import START
from tests.helpers import a_job, eventually

MINUTE = timedelta(minutes=1)


def _added(job_store: JobStore, minutes: int, owner: str = "owner-a") -> Job:
    job = attrs.evolve(a_job(owner=owner), created_at=START, updated_at=START + minutes * MINUTE)
    job_store.add(job)
    return job


def test_stale_jobs_are_those_of_the_status_changed_before_the_time_oldest_first(
    job_store: JobStore,
) -> None:
    late, early, middle = _added(job_store, 3), _added(job_store, 1), _added(job_store, 2)
    other_owner = _added(job_store, 0, owner="owner-b")
    recent = _added(job_store, 10)
    cutoff = START + 5 * MINUTE

    found = eventually(
        lambda: job_store.stale_jobs(JobStatus.PENDING, cutoff, 10), lambda jobs: len(jobs) == 4
    )
    # Every owner's: the sweeper works for all of them.
    assert found == [other_owner, early, middle, late]
    assert recent not in found
    assert job_store.stale_jobs(JobStatus.PENDING, cutoff, 2) == [other_owner, early]
    assert job_store.stale_jobs(JobStatus.PENDING, START + MINUTE, 10) == [other_owner]
    assert job_store.stale_jobs(JobStatus.PENDING, cutoff, 0) == []
    assert job_store.stale_jobs(JobStatus.PROCESSING, cutoff, 10) == []


def test_a_job_leaves_its_status_and_finished_jobs_are_never_stale(job_store: JobStore) -> None:
    job = _added(job_store, 0)
    processing = job.start_processing(START + MINUTE)
    job_store.save(processing, expected_version=1)
    cutoff = START + 5 * MINUTE
    assert eventually(
        lambda: job_store.stale_jobs(JobStatus.PROCESSING, cutoff, 10), lambda jobs: bool(jobs)
    ) == [processing]
    assert (
        eventually(
            lambda: job_store.stale_jobs(JobStatus.PENDING, cutoff, 10), lambda jobs: not jobs
        )
        == []
    )

    failed = processing.fail("PROCESSING_TIMEOUT", "Too slow.", START + 2 * MINUTE)
    job_store.save(failed, expected_version=2)
    assert (
        eventually(
            lambda: job_store.stale_jobs(JobStatus.PROCESSING, cutoff, 10), lambda jobs: not jobs
        )
        == []
    )
    for status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
        assert job_store.stale_jobs(status, cutoff, 10) == []


def test_a_cancelled_pending_job_is_not_stale(job_store: JobStore) -> None:
    job = _added(job_store, 0)
    job_store.save(job.cancel(START + MINUTE), expected_version=1)
    assert (
        eventually(
            lambda: job_store.stale_jobs(JobStatus.PENDING, START + 5 * MINUTE, 10),
            lambda jobs: not jobs,
        )
        == []
    )
