"""The use cases, by concern: intake (jobs from blueprints), lifecycle (reading and changing
jobs) and feedback. They reach storage, time and randomness only through the ports."""

from __future__ import annotations

from attrs import frozen

from domain.use_cases.feedback import FeedbackDesk
from domain.use_cases.intake import Intake
from domain.use_cases.lifecycle import DEFAULT_UPDATE_ATTEMPTS, Lifecycle, Readiness
from domain.use_cases.shared import Origin
from ports.blobs import BlobStore
from ports.jobs import JobStore
from ports.system import Clock, Entropy

__all__ = ["FeedbackDesk", "Intake", "Lifecycle", "Origin", "Readiness", "UseCases"]


@frozen
class UseCases:
    """The use cases over one set of ports, as the composition root hands them out."""

    intake: Intake
    lifecycle: Lifecycle
    feedback: FeedbackDesk

    @classmethod
    def over(
        cls,
        jobs: JobStore,
        blobs: BlobStore,
        clock: Clock,
        entropy: Entropy,
        *,
        result_cache: bool = True,
        update_attempts: int = DEFAULT_UPDATE_ATTEMPTS,
    ) -> UseCases:
        return cls(
            intake=Intake(jobs, blobs, clock, entropy, result_cache=result_cache),
            lifecycle=Lifecycle(jobs, blobs, clock, update_attempts=update_attempts),
            feedback=FeedbackDesk(jobs, clock, entropy),
        )
