"""The JobStore port's promises about owners, checked against every adapter: listings, the
result cache scoped to its owner, and the count of each owner's unfinished jobs.

Listings and the result cache are eventually consistent (DynamoDB's global secondary
indexes lag their table): what they should show is waited for, a bounded number of times.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from domain.blueprint import BlueprintFacts
from domain.errors import ConcurrentModification, JobNotFound, RateLimited, UploadAlreadyUsed
from domain.job import Job, JobStatus
from domain.quotas import UNFINISHED_POLICY
from ports.jobs import JobPage, JobStore
from tests.fakes import START
from tests.helpers import OWNER, a_job, a_session, eventually

LATER = START + timedelta(seconds=2)
# An owner id may hold "#", which the DynamoDB adapter joins index keys with: an owner named
# like another's key must see nothing of the other's.
NEIGHBOUR = f"{OWNER}#pending"
STRANGER = "owner-z"


def jobs_of(store: JobStore, owner: str, count: int) -> list[Job]:
    """``count`` new pending jobs of ``owner``, added; newest (greatest id) first."""
    made = [a_job(owner=owner) for _ in range(count)]
    for job in made:
        store.add(job)
    return sorted(made, key=lambda job: job.job_id, reverse=True)


def listed(
    store: JobStore,
    owner: str,
    expected: list[Job],
    status: JobStatus | None = None,
    limit: int = 100,
    after: str | None = None,
) -> JobPage:
    """The page, once it lists ``expected`` (an index may lag its table)."""
    return eventually(
        lambda: store.list_jobs(owner, status, limit, after),
        lambda page: page.jobs == expected,
    )


def finished(store: JobStore, job: Job) -> Job:
    """``job`` (version 1) processed and completed, saved step by step."""
    processing = job.start_processing(LATER)
    store.save(processing, expected_version=1)
    completed = processing.complete(f"results/{job.job_id}.json", LATER)
    store.save(completed, expected_version=2)
    return completed


# -- listings --------------------------------------------------------------------------------


def test_an_owners_jobs_are_listed_newest_first(job_store: JobStore) -> None:
    mine = jobs_of(job_store, OWNER, 4)
    assert listed(job_store, OWNER, mine) == JobPage(mine, more=False)


def test_an_owner_without_jobs_lists_none(job_store: JobStore) -> None:
    jobs_of(job_store, OWNER, 1)
    assert job_store.list_jobs(STRANGER, None, 10, None) == JobPage([], more=False)
    assert job_store.list_jobs(STRANGER, JobStatus.PENDING, 10, None) == JobPage([], more=False)


def test_owners_never_see_each_others_jobs(job_store: JobStore) -> None:
    mine = jobs_of(job_store, OWNER, 3)
    theirs = jobs_of(job_store, NEIGHBOUR, 3)
    assert listed(job_store, OWNER, mine).jobs == mine
    assert listed(job_store, NEIGHBOUR, theirs).jobs == theirs
    pending = JobStatus.PENDING
    assert listed(job_store, OWNER, mine, status=pending).jobs == mine
    assert listed(job_store, NEIGHBOUR, theirs, status=pending).jobs == theirs
    # A position in one owner's listing leads into that owner's jobs only.
    older = [job for job in theirs if job.job_id < mine[0].job_id]
    assert listed(job_store, NEIGHBOUR, older, after=mine[0].job_id).jobs == older


def test_a_status_filter_lists_the_jobs_in_that_status(job_store: JobStore) -> None:
    newest, middle, oldest = jobs_of(job_store, OWNER, 3)
    completed = finished(job_store, middle)
    cancelled = oldest.cancel(LATER)
    job_store.save(cancelled, expected_version=1)
    assert listed(job_store, OWNER, [newest], JobStatus.PENDING).jobs == [newest]
    assert listed(job_store, OWNER, [completed], JobStatus.COMPLETED).jobs == [completed]
    assert listed(job_store, OWNER, [cancelled], JobStatus.CANCELLED).jobs == [cancelled]
    assert listed(job_store, OWNER, [], JobStatus.PROCESSING).jobs == []
    assert listed(job_store, OWNER, [newest, completed, cancelled]).jobs == [
        newest,
        completed,
        cancelled,
    ]


def test_pages_follow_one_another_without_gap_or_overlap(job_store: JobStore) -> None:
    mine = jobs_of(job_store, OWNER, 5)
    listed(job_store, OWNER, mine)  # every job is in the index
    first = job_store.list_jobs(OWNER, None, 2, None)
    assert first == JobPage(mine[:2], more=True)
    second = job_store.list_jobs(OWNER, None, 2, first.jobs[-1].job_id)
    assert second == JobPage(mine[2:4], more=True)
    third = job_store.list_jobs(OWNER, None, 2, second.jobs[-1].job_id)
    assert third == JobPage(mine[4:], more=False)


def test_a_page_that_ends_with_the_last_job_says_no_more(job_store: JobStore) -> None:
    mine = jobs_of(job_store, OWNER, 4)
    listed(job_store, OWNER, mine)
    assert job_store.list_jobs(OWNER, None, 4, None) == JobPage(mine, more=False)
    assert job_store.list_jobs(OWNER, None, 2, mine[1].job_id) == JobPage(mine[2:], more=False)
    assert job_store.list_jobs(OWNER, None, 2, mine[-1].job_id) == JobPage([], more=False)


def test_pages_of_one_status(job_store: JobStore) -> None:
    mine = jobs_of(job_store, OWNER, 5)
    for job in mine[1::2]:  # the 2nd and 4th newest are cancelled
        job_store.save(job.cancel(LATER), expected_version=1)
    pending = [mine[0], mine[2], mine[4]]
    listed(job_store, OWNER, pending, JobStatus.PENDING)
    first = job_store.list_jobs(OWNER, JobStatus.PENDING, 2, None)
    assert first == JobPage(pending[:2], more=True)
    # The position is a job id: any, even one no longer (or never) in this status.
    assert job_store.list_jobs(OWNER, JobStatus.PENDING, 2, mine[1].job_id) == JobPage(
        pending[1:], more=False
    )
    assert job_store.list_jobs(OWNER, JobStatus.PENDING, 2, pending[1].job_id) == JobPage(
        pending[2:], more=False
    )


def test_a_listing_shows_the_jobs_as_they_are(job_store: JobStore) -> None:
    (job,) = jobs_of(job_store, OWNER, 1)
    completed = finished(job_store, job)
    assert listed(job_store, OWNER, [completed]).jobs == [completed]


# -- the result cache, per owner -------------------------------------------------------------


def test_the_result_cache_finds_only_the_owners_own_jobs(job_store: JobStore) -> None:
    blueprint = "c" * 64
    mine = attrs.evolve(a_job(owner=OWNER), blueprint_hash=blueprint)
    theirs = attrs.evolve(a_job(owner=NEIGHBOUR), blueprint_hash=blueprint)
    job_store.add(mine)
    job_store.add(theirs)
    completed = finished(job_store, mine)
    assert eventually(lambda: job_store.find_completed_by_hash(OWNER, blueprint)) == completed
    assert job_store.find_completed_by_hash(NEIGHBOUR, blueprint) is None
    assert job_store.find_completed_by_hash(STRANGER, blueprint) is None
    their_completed = finished(job_store, theirs)
    found = eventually(lambda: job_store.find_completed_by_hash(NEIGHBOUR, blueprint))
    assert found == their_completed
    assert job_store.find_completed_by_hash(OWNER, blueprint) == completed


# -- unfinished jobs, counted per owner ------------------------------------------------------


def test_unfinished_jobs_are_counted_per_owner(job_store: JobStore) -> None:
    assert job_store.unfinished_jobs(OWNER) == 0
    jobs_of(job_store, OWNER, 2)
    jobs_of(job_store, NEIGHBOUR, 1)
    assert job_store.unfinished_jobs(OWNER) == 2
    assert job_store.unfinished_jobs(NEIGHBOUR) == 1
    assert job_store.unfinished_jobs(STRANGER) == 0


def test_a_job_stops_counting_when_it_finishes(job_store: JobStore) -> None:
    completing, failing, cancelled = jobs_of(job_store, OWNER, 3)
    processing = completing.start_processing(LATER)
    job_store.save(processing, expected_version=1)
    assert job_store.unfinished_jobs(OWNER) == 3  # processing is not finished
    job_store.save(processing.complete("results/r.json", LATER), expected_version=2)
    assert job_store.unfinished_jobs(OWNER) == 2
    failed = failing.start_processing(LATER).fail("DETECTION_FAILED", "No walls.", LATER)
    job_store.save(failing.start_processing(LATER), expected_version=1)
    job_store.save(failed, expected_version=2)
    assert job_store.unfinished_jobs(OWNER) == 1
    job_store.save(cancelled.cancel(LATER), expected_version=1)
    assert job_store.unfinished_jobs(OWNER) == 0


def test_a_finished_job_saved_again_is_not_taken_off_twice(job_store: JobStore) -> None:
    done, other = jobs_of(job_store, OWNER, 2)
    completed = finished(job_store, done)
    assert job_store.unfinished_jobs(OWNER) == 1
    again = attrs.evolve(completed, version=completed.version + 1)
    job_store.save(again, expected_version=completed.version)
    assert job_store.get(done.job_id) == again
    assert job_store.unfinished_jobs(OWNER) == 1
    assert job_store.get(other.job_id) == other


def test_a_refused_save_of_a_finished_job_changes_no_count(job_store: JobStore) -> None:
    (job,) = jobs_of(job_store, OWNER, 1)
    job_store.save(job.start_processing(LATER), expected_version=1)
    with pytest.raises(ConcurrentModification):
        job_store.save(job.cancel(LATER), expected_version=1)  # a stale version
    assert job_store.unfinished_jobs(OWNER) == 1
    with pytest.raises(JobNotFound):
        job_store.save(a_job().cancel(LATER), expected_version=1)
    assert job_store.unfinished_jobs(OWNER) == 1


def test_a_job_added_finished_is_not_counted(job_store: JobStore) -> None:
    (pending,) = jobs_of(job_store, OWNER, 1)
    source = finished(job_store, pending)
    assert job_store.unfinished_jobs(OWNER) == 0
    cached = Job.create(
        job_id=a_job().job_id,
        owner=OWNER,
        now=LATER,
        blueprint=BlueprintFacts(
            source.blueprint_format, source.blueprint_hash, source.blueprint_size_bytes
        ),
        blueprint_key="blueprints/x/source.pdf",
        request_id=source.request_id,
        correlation_id="trace-2",
        api_version="v1",
        cached=source,
    )
    job_store.add(cached, unfinished_limit=0)  # a limit of none left still takes it
    assert job_store.get(cached.job_id) == cached
    assert job_store.unfinished_jobs(OWNER) == 0


def test_the_unfinished_limit_refuses_the_job_past_it(job_store: JobStore) -> None:
    first, second = (a_job(), a_job())
    job_store.add(first, unfinished_limit=2)
    job_store.add(second, unfinished_limit=2)
    third = a_job()
    with pytest.raises(RateLimited) as refused:
        job_store.add(third, unfinished_limit=2)
    assert (refused.value.policy, refused.value.quota) == (UNFINISHED_POLICY, 2)
    with pytest.raises(JobNotFound):
        job_store.get(third.job_id)
    assert job_store.unfinished_jobs(OWNER) == 2
    # Another owner has a count of its own; one finished job makes room again.
    job_store.add(a_job(owner=NEIGHBOUR), unfinished_limit=2)
    job_store.save(first.cancel(LATER), expected_version=1)
    job_store.add(third, unfinished_limit=2)
    assert job_store.get(third.job_id) == third
    assert job_store.unfinished_jobs(OWNER) == 2


def test_a_limit_of_zero_refuses_every_unfinished_job(job_store: JobStore) -> None:
    job = a_job()
    with pytest.raises(RateLimited):
        job_store.add(job, unfinished_limit=0)
    with pytest.raises(JobNotFound):
        job_store.get(job.job_id)
    assert job_store.unfinished_jobs(OWNER) == 0


def test_jobs_from_uploads_are_counted_and_limited(job_store: JobStore) -> None:
    session, refused_session = a_session(), a_session()
    job_store.add_upload(session)
    job_store.add_upload(refused_session)
    job = a_job()
    job_store.add_job_from_upload(job, session.upload_id, unfinished_limit=1)
    assert job_store.unfinished_jobs(OWNER) == 1
    refused = a_job()
    with pytest.raises(RateLimited):
        job_store.add_job_from_upload(refused, refused_session.upload_id, unfinished_limit=1)
    with pytest.raises(JobNotFound):
        job_store.get(refused.job_id)
    assert job_store.get_upload(refused_session.upload_id).job_id is None  # still unused
    assert job_store.unfinished_jobs(OWNER) == 1
    # A used session is refused as used, whatever the count.
    with pytest.raises(UploadAlreadyUsed):
        job_store.add_job_from_upload(a_job(), session.upload_id, unfinished_limit=1)
    job_store.add_job_from_upload(refused, refused_session.upload_id, unfinished_limit=2)
    assert job_store.unfinished_jobs(OWNER) == 2


def test_upload_sessions_keep_their_owner(job_store: JobStore) -> None:
    session = a_session(owner=NEIGHBOUR)
    job_store.add_upload(session)
    assert job_store.get_upload(session.upload_id).owner == NEIGHBOUR
    assert job_store.list_jobs(NEIGHBOUR, None, 10, None) == JobPage([], more=False)
