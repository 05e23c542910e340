"""32 threads race cancel against start/complete on one job, round after round."""

from __future__ import annotations

import threading
from collections.abc import Callable

from domain.errors import ConcurrentModification, InvalidTransition
from domain.job import ALLOWED_TRANSITIONS, Job, JobStatus
from domain.use_cases import UseCases
from ports.blobs import BlobStore
from ports.jobs import JobStore
from tests.blueprints import png
from tests.fakes import OWNER, SeededEntropy, SteppingClock
from tests.helpers import ORIGIN, use_cases_over

THREADS = 32
DOCUMENTED = (ConcurrentModification, InvalidTransition)


class RecordingJobStore:
    """Passes through to a real store and records every write that succeeded.

    With a ``gate`` set, each thread's first read waits until every racer has read: they all
    hold the same version, so all but one of their writes must conflict. The interleaving is
    forced, not hoped for from the scheduler."""

    def __init__(self, inner: JobStore) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.saved: list[Job] = []
        self.conflicts = 0
        self.gate: threading.Barrier | None = None
        self._through = threading.local()

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def open_gate(self, racers: int) -> None:
        self.gate = threading.Barrier(racers, timeout=60)
        self._through = threading.local()

    def get(self, job_id: str) -> Job:
        job = self._inner.get(job_id)
        if self.gate is not None and not getattr(self._through, "passed", False):
            self._through.passed = True
            self.gate.wait()
        return job

    def save(self, job: Job, expected_version: int) -> None:
        try:
            self._inner.save(job, expected_version)
        except ConcurrentModification:
            with self._lock:
                self.conflicts += 1
            raise
        with self._lock:
            self.saved.append(job)


def race_once(service: UseCases, recorder: RecordingJobStore) -> None:
    job = service.intake.create_job([png()], ORIGIN, use_cache=False)
    recorder.saved.clear()
    recorder.open_gate(THREADS)
    barrier = threading.Barrier(THREADS)
    unexpected: list[BaseException] = []
    actions: list[Callable[[], Job]] = []
    for index in range(THREADS):
        kind = index % 4
        if kind in (0, 1):
            actions.append(lambda: service.lifecycle.cancel_job(OWNER, job.job_id))
        elif kind == 2:
            actions.append(lambda: service.lifecycle.start_processing(job.job_id))
        else:
            actions.append(lambda: service.lifecycle.complete_job(job.job_id, "results/r.json"))

    def run(action: Callable[[], Job]) -> None:
        barrier.wait()
        try:
            action()
        except DOCUMENTED:
            pass
        except BaseException as error:
            unexpected.append(error)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.gate = None

    assert unexpected == []
    final = service.lifecycle.get_job(OWNER, job.job_id)
    # No lost update: every successful write is one version step, in order.
    assert final.version == 1 + len(recorder.saved)
    path = sorted(recorder.saved, key=lambda saved: saved.version)
    assert [saved.version for saved in path] == list(range(2, final.version + 1))
    previous = JobStatus.PENDING
    for saved in path:
        assert saved.status in ALLOWED_TRANSITIONS[previous], (previous, saved.status)
        previous = saved.status
    assert final.status is previous
    assert final.status in (JobStatus.PROCESSING, JobStatus.COMPLETED, JobStatus.CANCELLED)
    # The cancellers always act on a job they can cancel, so it never stays pending.
    assert final.status is not JobStatus.PENDING


def test_cancel_races_start_and_complete(stores: tuple[JobStore, BlobStore, int]) -> None:
    jobs, blobs, rounds = stores
    recorder = RecordingJobStore(jobs)
    service = use_cases_over(recorder, blobs, SteppingClock(), SeededEntropy())  # type: ignore[arg-type]
    for _ in range(rounds):
        race_once(service, recorder)
    # Every round, all racers read the pending job before anyone wrote. Cancels and starts (3 in
    # 4 racers) may write it; completes may not. Of those writes one won, the rest conflicted
    # and were re-read (and re-applied where still legal).
    writers = THREADS * 3 // 4
    assert recorder.conflicts >= rounds * (writers - 1)
