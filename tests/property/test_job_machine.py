"""The real UseCases over in-memory adapters, driven next to a tiny model of the lifecycle."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.errors import (
    DomainError,
    InvalidTransition,
    JobAlreadyCompleted,
    JobNotFinished,
    JobNotFound,
    PreconditionFailed,
)
from domain.job import ALLOWED_TRANSITIONS, Job, JobStatus
from tests.blueprints import SAMPLES
from tests.fakes import OWNER, SeededEntropy, SteppingClock
from tests.helpers import ORIGIN, use_cases_over

P, R, C, F, X = (
    JobStatus.PENDING,
    JobStatus.PROCESSING,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
)


class JobLifecycle(RuleBasedStateMachine):
    job_ids = Bundle("job_ids")

    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryJobStore()
        self.service = use_cases_over(
            self.store, MemoryBlobStore(), SteppingClock(), SeededEntropy()
        )
        # The model: status, version and feedback count per job; nothing else.
        self.status: dict[str, JobStatus] = {}
        self.version: dict[str, int] = {}
        self.feedback: dict[str, int] = {}
        self.blueprint: dict[str, bytes] = {}
        self.seen: dict[str, Job] = {}
        self.limit_hit = False

    def _apply(self, job_id: str, to: JobStatus, action: object) -> None:
        current = self.status[job_id]
        try:
            job = action()  # type: ignore[operator]
        except JobAlreadyCompleted:
            assert current in (C, F), current
            return
        except InvalidTransition:
            assert to not in ALLOWED_TRANSITIONS[current] and not (current is X and to is X)
            return
        if current is X and to is X:
            assert job.version == self.version[job_id]
            return
        assert to in ALLOWED_TRANSITIONS[current], (current, to)
        assert job.status is to
        self.status[job_id] = to
        self.version[job_id] += 1

    @rule(target=job_ids, sample=st.sampled_from(sorted(SAMPLES.values())), use_cache=st.booleans())
    def create(self, sample: bytes, use_cache: bool) -> str:
        job = self.service.intake.create_job([sample], ORIGIN, use_cache=use_cache)
        # The result cache: a completed job with the same blueprint completes the new one.
        sources = {
            job_id
            for job_id, status in self.status.items()
            if status is C and self.blueprint[job_id] == sample
        }
        assert job.version == 1
        if use_cache and sources:
            assert job.status is C
            assert job.cached_from in sources
        else:
            assert job.status is P
            assert job.cached_from is None
        self.status[job.job_id], self.version[job.job_id] = job.status, 1
        self.feedback[job.job_id] = 0
        self.blueprint[job.job_id] = sample
        return job.job_id

    @rule(job_id=job_ids)
    def start(self, job_id: str) -> None:
        self._apply(job_id, R, lambda: self.service.lifecycle.start_processing(job_id))

    @rule(job_id=job_ids)
    def complete(self, job_id: str) -> None:
        self._apply(
            job_id, C, lambda: self.service.lifecycle.complete_job(job_id, "results/r.json")
        )

    @rule(job_id=job_ids, message=st.text(min_size=1, max_size=20))
    def fail(self, job_id: str, message: str) -> None:
        self._apply(
            job_id, F, lambda: self.service.lifecycle.fail_job(job_id, "DETECTION_FAILED", message)
        )

    @rule(job_id=job_ids)
    def cancel(self, job_id: str) -> None:
        self._apply(job_id, X, lambda: self.service.lifecycle.cancel_job(OWNER, job_id))

    @rule(job_id=job_ids, lag=st.integers(0, 2))
    def cancel_if_match(self, job_id: str, lag: int) -> None:
        expected = self.version[job_id] - lag
        if lag:
            try:
                self.service.lifecycle.cancel_job(OWNER, job_id, expected_version=expected)
            except PreconditionFailed:
                return
            raise AssertionError("a stale version was accepted")
        self._apply(
            job_id,
            X,
            lambda: self.service.lifecycle.cancel_job(OWNER, job_id, expected_version=expected),
        )

    @rule(job_id=job_ids, rating=st.integers(1, 5))
    def give_feedback(self, job_id: str, rating: int) -> None:
        try:
            self.service.feedback.add_feedback(OWNER, job_id, rating)
        except JobNotFinished:
            assert self.status[job_id] not in (C, F)
            return
        assert self.status[job_id] in (C, F)
        self.feedback[job_id] += 1

    @precondition(lambda self: bool(self.status))
    @rule(job_id=consumes(job_ids))
    def forget(self, job_id: str) -> None:
        """Drop a job from the bundle so the machine keeps making new ones."""

    @rule(rating=st.integers(-3, 9))
    def bad_feedback_is_refused_first(self, rating: int) -> None:
        unknown = "job_" + "0" * 26
        try:
            self.service.feedback.add_feedback(OWNER, unknown, rating)
        except JobNotFound:
            assert 1 <= rating <= 5
        except DomainError as error:
            assert error.code == "INVALID_REQUEST_BODY"
            assert not 1 <= rating <= 5

    @invariant()
    def store_agrees_with_the_model(self) -> None:
        for job_id, status in self.status.items():
            job = self.store.get(job_id)
            assert job.status is status
            assert job.version == self.version[job_id]
            assert len(self.store.list_feedback(job_id)) == self.feedback[job_id]
            previous = self.seen.get(job_id)
            if previous is not None and previous.done:
                assert job == previous, "a terminal job changed"
            if previous is not None and previous.status is not job.status:
                assert job.status in ALLOWED_TRANSITIONS[previous.status]
            self.seen[job_id] = job


TestJobLifecycle = JobLifecycle.TestCase
