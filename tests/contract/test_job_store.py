"""The JobStore port's promises, checked against every adapter."""

from __future__ import annotations

import threading
from datetime import timedelta

import attrs
import pytest

from domain.blueprint import BlueprintFacts, BlueprintFormat
from domain.errors import (
    ConcurrentModification,
    FeedbackLimitReached,
    JobAlreadyExists,
    JobNotFound,
    UploadAlreadyUsed,
    UploadNotFound,
)
from domain.job import Job
from ports.jobs import JobStore
from tests.fakes import START
from tests.helpers import OWNER, a_job, a_session, eventually, feedback_for

LATER = START + timedelta(seconds=2)


def test_added_job_reads_back_equal(job_store: JobStore) -> None:
    job = a_job()
    job_store.add(job)
    assert job_store.get(job.job_id) == job


def test_every_field_survives_after_a_change(job_store: JobStore) -> None:
    job = a_job()
    job_store.add(job)
    processing = job.start_processing(LATER)
    job_store.save(processing, expected_version=1)
    failed = processing.fail("DETECTION_FAILED", "Ünïcode message ✓", LATER)
    job_store.save(failed, expected_version=2)
    assert job_store.get(job.job_id) == failed


def test_add_is_create_only(job_store: JobStore) -> None:
    job = a_job()
    job_store.add(job)
    with pytest.raises(JobAlreadyExists):
        job_store.add(job.start_processing(LATER))
    assert job_store.get(job.job_id) == job


def test_unknown_job_is_not_found(job_store: JobStore) -> None:
    with pytest.raises(JobNotFound):
        job_store.get(a_job().job_id)


def test_save_replaces_the_expected_version(job_store: JobStore) -> None:
    job = a_job()
    job_store.add(job)
    moved = job.start_processing(LATER)
    job_store.save(moved, expected_version=1)
    assert job_store.get(job.job_id) == moved


def test_save_of_a_stale_version_is_refused_and_changes_nothing(job_store: JobStore) -> None:
    job = a_job()
    job_store.add(job)
    processing = job.start_processing(LATER)
    job_store.save(processing, expected_version=1)
    with pytest.raises(ConcurrentModification):
        job_store.save(job.cancel(LATER), expected_version=1)
    assert job_store.get(job.job_id) == processing


def test_save_of_an_unknown_job_is_not_found(job_store: JobStore) -> None:
    job = a_job()
    with pytest.raises(JobNotFound):
        job_store.save(job.start_processing(LATER), expected_version=1)


def test_racing_saves_of_one_version_have_one_winner(job_store: JobStore) -> None:
    job = a_job()
    job_store.add(job)
    candidates = [job.start_processing(LATER), job.cancel(LATER)] * 4
    outcomes: list[str] = []
    barrier = threading.Barrier(len(candidates))

    def attempt(candidate: Job) -> None:
        barrier.wait()
        try:
            job_store.save(candidate, expected_version=1)
            outcomes.append("won")
        except ConcurrentModification:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=(c,)) for c in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("won") == 1
    assert job_store.get(job.job_id).version == 2


def test_feedback_is_listed_oldest_first(job_store: JobStore) -> None:
    job = a_job()
    job_store.add(job)
    later = feedback_for(job, 5, "great", at=LATER)
    earlier = feedback_for(job, 1, None)
    same_instant = sorted([feedback_for(job, 2), feedback_for(job, 3)], key=lambda f: f.feedback_id)
    for entry in (later, same_instant[1], earlier, same_instant[0]):
        job_store.add_feedback(entry, limit=100)
    # Oldest first; entries of the same millisecond in id order.
    assert job_store.list_feedback(job.job_id) == sorted(
        [earlier, *same_instant, later], key=lambda f: (f.created_at, f.feedback_id)
    )


def test_feedback_needs_the_job(job_store: JobStore) -> None:
    with pytest.raises(JobNotFound):
        job_store.add_feedback(feedback_for(a_job()), limit=100)


def test_feedback_list_of_a_job_without_any_is_empty(job_store: JobStore) -> None:
    job = a_job()
    job_store.add(job)
    assert job_store.list_feedback(job.job_id) == []


def test_feedback_limit_holds_under_concurrency(job_store: JobStore) -> None:
    job = a_job()
    job_store.add(job)
    for _ in range(3):
        job_store.add_feedback(feedback_for(job), limit=5)
    refused: list[Exception] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        barrier.wait()
        try:
            job_store.add_feedback(feedback_for(job), limit=5)
        except FeedbackLimitReached as error:
            refused.append(error)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(job_store.list_feedback(job.job_id)) == 5
    assert len(refused) == 4


def test_a_long_comment_is_kept_whole(job_store: JobStore) -> None:
    job = a_job()
    job_store.add(job)
    entry = feedback_for(job, 2, "é" * 2000)
    job_store.add_feedback(entry, limit=100)
    assert job_store.list_feedback(job.job_id) == [entry]


def test_ping_answers(job_store: JobStore) -> None:
    job_store.ping()


def test_upload_sessions_read_back(job_store: JobStore) -> None:
    session = a_session()
    job_store.add_upload(session)
    assert job_store.get_upload(session.upload_id) == session
    with pytest.raises(UploadNotFound):
        job_store.get_upload(a_session().upload_id)


def test_a_job_from_an_upload_marks_the_session_once(job_store: JobStore) -> None:
    session = a_session()
    job_store.add_upload(session)
    job = a_job()
    job_store.add_job_from_upload(job, session.upload_id)
    assert job_store.get(job.job_id) == job
    assert job_store.get_upload(session.upload_id).job_id == job.job_id
    other = a_job()
    with pytest.raises(UploadAlreadyUsed) as caught:
        job_store.add_job_from_upload(other, session.upload_id)
    assert caught.value.details["job_id"] == job.job_id
    with pytest.raises(JobNotFound):
        job_store.get(other.job_id)


def test_a_job_from_an_unknown_upload_is_not_added(job_store: JobStore) -> None:
    job = a_job()
    with pytest.raises(UploadNotFound):
        job_store.add_job_from_upload(job, a_session().upload_id)
    with pytest.raises(JobNotFound):
        job_store.get(job.job_id)


def test_racing_jobs_from_one_upload_have_one_winner(job_store: JobStore) -> None:
    session = a_session()
    job_store.add_upload(session)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        barrier.wait()
        try:
            job_store.add_job_from_upload(a_job(), session.upload_id)
            outcomes.append("won")
        except UploadAlreadyUsed:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 5 + ["won"]


def test_find_completed_by_hash(job_store: JobStore) -> None:
    pending, done, other = a_job(), a_job(), a_job()
    done_hash = attrs.evolve(done, blueprint_hash="c" * 64)
    for job in (attrs.evolve(pending, blueprint_hash="c" * 64), done_hash, other):
        job_store.add(job)
    # Never an unfinished job, however long one looks.
    assert job_store.find_completed_by_hash(OWNER, "c" * 64) is None
    processing = done_hash.start_processing(LATER)
    job_store.save(processing, expected_version=1)
    assert job_store.find_completed_by_hash(OWNER, "c" * 64) is None
    completed = processing.complete("results/r.json", LATER)
    job_store.save(completed, expected_version=2)
    assert eventually(lambda: job_store.find_completed_by_hash(OWNER, "c" * 64)) == completed
    assert job_store.find_completed_by_hash(OWNER, "d" * 64) is None


def test_a_cached_job_reads_back_equal(job_store: JobStore) -> None:
    source = a_job()
    job_store.add(source)
    job_store.save(source.start_processing(LATER), expected_version=1)
    completed = source.start_processing(LATER).complete("results/r.json", LATER)
    job_store.save(completed, expected_version=2)
    cached = Job.create(
        job_id=a_job().job_id,
        owner=OWNER,
        now=LATER,
        blueprint=BlueprintFacts(BlueprintFormat.PDF, "b" * 64, 52_428_800),
        blueprint_key="blueprints/x/source.pdf",
        request_id="req_20261126_031500_k3j9x2m1q8zp",
        correlation_id="trace-2",
        api_version="v1",
        cached=completed,
    )
    job_store.add(cached)
    assert job_store.get(cached.job_id) == cached
    assert cached.cached_from == source.job_id
