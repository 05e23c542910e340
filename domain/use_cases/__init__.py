"""The use cases, by concern: intake (jobs from blueprints), lifecycle (reading and changing
jobs), feedback, access (API keys and callers) and quotas. They reach storage, time and
randomness only through the ports."""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

from domain.quotas import RatePolicy
from domain.use_cases.access import Access
from domain.use_cases.feedback import FeedbackDesk
from domain.use_cases.intake import Intake
from domain.use_cases.lifecycle import DEFAULT_UPDATE_ATTEMPTS, Lifecycle, Readiness
from domain.use_cases.progress import Outcome, Progress
from domain.use_cases.quotas import Quotas
from domain.use_cases.shared import Origin
from ports.access import ApiKeyStore
from ports.blobs import BlobStore
from ports.jobs import JobStore
from ports.quotas import RateCounter
from ports.system import Clock, Entropy

__all__ = [
    "Access",
    "FeedbackDesk",
    "Intake",
    "Lifecycle",
    "Origin",
    "Outcome",
    "Progress",
    "Quotas",
    "Readiness",
    "UseCases",
]


@frozen
class UseCases:
    """The use cases over one set of ports, as the composition root hands them out."""

    intake: Intake
    lifecycle: Lifecycle
    feedback: FeedbackDesk
    access: Access
    quotas: Quotas
    progress: Progress

    @classmethod
    def over(
        cls,
        jobs: JobStore,
        blobs: BlobStore,
        clock: Clock,
        entropy: Entropy,
        *,
        keys: ApiKeyStore,
        counter: RateCounter,
        rate_policies: Mapping[str, RatePolicy] | None = None,
        unfinished_limit: int | None = None,
        result_cache: bool = True,
        update_attempts: int = DEFAULT_UPDATE_ATTEMPTS,
    ) -> UseCases:
        lifecycle = Lifecycle(jobs, blobs, clock, update_attempts=update_attempts)
        return cls(
            intake=Intake(
                jobs,
                blobs,
                clock,
                entropy,
                result_cache=result_cache,
                unfinished_limit=unfinished_limit,
            ),
            lifecycle=lifecycle,
            feedback=FeedbackDesk(jobs, clock, entropy),
            access=Access(keys, clock, entropy),
            quotas=Quotas(counter, clock, rate_policies or {}),
            progress=Progress(lifecycle),
        )
