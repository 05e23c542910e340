"""32 threads race for what a quota has room for: exactly the quota gets through.

The threads start together (a barrier) and each makes one attempt; what is asserted holds
whatever order they run in: how many got through, and that each count was given once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypeVar

import pytest

from adapters.dynamodb import DynamoDBRateCounter
from adapters.memory import MemoryJobStore, MemoryRateCounter
from domain.errors import JobNotFound, RateLimited
from ports.jobs import JobStore
from ports.quotas import RateCounter
from tests.aws import moto_in_process, new_job_store
from tests.fakes import START, SteppingClock
from tests.helpers import OWNER, a_job, a_session

THREADS = 32
QUOTA = 10
T = TypeVar("T")


def race(attempt: Callable[[int], T]) -> list[T | BaseException]:
    """Each thread's outcome: what ``attempt`` (given the thread's index) returned or raised."""
    barrier = threading.Barrier(THREADS, timeout=60)
    outcomes: list[T | BaseException] = [RuntimeError("did not run")] * THREADS

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = attempt(index)
        except BaseException as error:  # every outcome is recorded
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture(params=["memory", "dynamodb"])
def stores(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[JobStore, RateCounter]]:
    if request.param == "memory":
        yield MemoryJobStore(), MemoryRateCounter(SteppingClock())
        return
    with moto_in_process(monkeypatch):
        jobs = new_job_store()
        yield jobs, DynamoDBRateCounter(jobs.table)


def test_racing_hits_count_up_to_the_quota(stores: tuple[JobStore, RateCounter]) -> None:
    _, counter = stores
    expires = START + timedelta(minutes=2)
    outcomes = race(lambda _: counter.hit(f"jobs#60#0#{OWNER}", QUOTA, expires))
    counts = [outcome for outcome in outcomes if isinstance(outcome, int)]
    assert sorted(counts) == list(range(1, QUOTA + 1))  # each count given once
    assert outcomes.count(None) == THREADS - QUOTA
    assert counter.hit(f"jobs#60#0#{OWNER}", QUOTA, expires) is None


@pytest.mark.parametrize("how", ["add", "add_job_from_upload"])
def test_racing_jobs_fill_the_unfinished_limit_exactly(
    stores: tuple[JobStore, RateCounter], how: str
) -> None:
    jobs, _ = stores
    racers = [a_job() for _ in range(THREADS)]
    sessions = [a_session() for _ in range(THREADS)]
    for session in sessions:
        jobs.add_upload(session)

    def add(index: int) -> str:
        if how == "add":
            jobs.add(racers[index], unfinished_limit=QUOTA)
        else:
            jobs.add_job_from_upload(racers[index], sessions[index].upload_id, QUOTA)
        return "stored"

    outcomes = race(add)
    refused = [outcome for outcome in outcomes if isinstance(outcome, RateLimited)]
    assert outcomes.count("stored") == QUOTA, [o for o in outcomes if o != "stored"]
    assert len(refused) == THREADS - QUOTA
    assert jobs.unfinished_jobs(OWNER) == QUOTA
    for job, outcome in zip(racers, outcomes, strict=True):
        if outcome == "stored":
            assert jobs.get(job.job_id) == job
        else:
            with pytest.raises(JobNotFound):
                jobs.get(job.job_id)
