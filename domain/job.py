"""The Job entity and its lifecycle.

``pending -> processing -> completed | failed``; ``pending | processing -> cancelled``. A job is
an immutable value: each transition returns a new, re-validated Job with ``version + 1``.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Any

from attrs import evolve, field, frozen, validators

from domain import ids
from domain.blueprint import MAX_BLUEPRINT_BYTES, BlueprintFacts, BlueprintFormat
from domain.errors import InvalidTransition, JobAlreadyCompleted
from domain.principals import OWNER
from domain.timestamps import is_ms_utc, to_ms


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
ALLOWED_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.PROCESSING, JobStatus.CANCELLED}),
    JobStatus.PROCESSING: frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}

_ERROR_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_ERROR_MESSAGE = 1000
MAX_KEY_LENGTH = 1024


def _matches(pattern: re.Pattern[str], what: str) -> Any:
    def check(_: object, attribute: Any, value: object) -> None:
        if not isinstance(value, str) or pattern.fullmatch(value) is None:
            raise ValueError(f"{attribute.name} is not {what}: {value!r}")

    return check


def _timestamp(_: object, attribute: Any, value: Any) -> None:
    if not is_ms_utc(value):
        raise ValueError(f"{attribute.name} must be a UTC datetime in whole milliseconds")


def _object_key(_: object, attribute: Any, value: Any) -> None:
    if value is None and attribute.name == "result_s3_key":
        return
    if not isinstance(value, str) or not 0 < len(value) <= MAX_KEY_LENGTH:
        raise ValueError(f"{attribute.name} must be a non-empty key of at most 1024 chars")


@frozen
class JobError:
    """Why a job did not complete: a stable code and a human sentence."""

    code: str = field(validator=_matches(_ERROR_CODE, "an UPPER_SNAKE error code"))
    message: str = field(validator=validators.instance_of(str))

    def __attrs_post_init__(self) -> None:
        if not 0 < len(self.message) <= MAX_ERROR_MESSAGE:
            raise ValueError(f"error message must be 1..{MAX_ERROR_MESSAGE} characters")


CANCELLED_ERROR = JobError("CANCELLED", "The job was cancelled.")


@frozen
class Job:
    job_id: str = field(validator=_matches(ids.JOB_ID, "a job id"))
    owner: str = field(validator=_matches(OWNER, "an owner id"))  # whose job it is
    status: JobStatus = field(validator=validators.instance_of(JobStatus))
    created_at: datetime = field(validator=_timestamp)
    updated_at: datetime = field(validator=_timestamp)
    blueprint_format: BlueprintFormat = field(validator=validators.instance_of(BlueprintFormat))
    blueprint_hash: str = field(validator=_matches(_SHA256, "a SHA-256 hex digest"))
    blueprint_size_bytes: int = field(validator=validators.instance_of(int))
    blueprint_s3_key: str = field(validator=_object_key)
    result_s3_key: str | None = field(validator=_object_key)
    error: JobError | None = field(validator=validators.optional(validators.instance_of(JobError)))
    request_id: str = field(validator=_matches(ids.REQUEST_ID, "a request id"))
    correlation_id: str = field(validator=_matches(ids.CORRELATION_ID, "a correlation id"))
    api_version: str = field(validator=_matches(ids.API_VERSION, "an API version"))
    version: int = field(validator=validators.instance_of(int))
    # The completed job whose result this one took, having the same blueprint (result cache).
    cached_from: str | None = field(
        default=None, validator=validators.optional(_matches(ids.JOB_ID, "a job id"))
    )

    def __attrs_post_init__(self) -> None:
        if isinstance(self.blueprint_size_bytes, bool) or not (
            0 < self.blueprint_size_bytes <= MAX_BLUEPRINT_BYTES
        ):
            raise ValueError("blueprint_size_bytes must be 1..52428800")
        if isinstance(self.version, bool) or self.version < 1:
            raise ValueError("version starts at 1")
        if self.updated_at < self.created_at:
            raise ValueError("updated_at precedes created_at")
        has_result = self.result_s3_key is not None
        has_error = self.error is not None
        expected = {
            JobStatus.COMPLETED: (True, False),
            JobStatus.FAILED: (False, True),
            JobStatus.CANCELLED: (False, True),
        }.get(self.status, (False, False))
        if self.cached_from is not None and (
            self.status is not JobStatus.COMPLETED or self.cached_from == self.job_id
        ):
            raise ValueError("only a completed job is cached from another job")
        if (has_result, has_error) != expected:
            raise ValueError(
                f"a {self.status.value} job has "
                f"{'a' if expected[0] else 'no'} result and {'an' if expected[1] else 'no'} error"
            )

    @classmethod
    def create(
        cls,
        *,
        job_id: str,
        owner: str,
        now: datetime,
        blueprint: BlueprintFacts,
        blueprint_key: str,
        request_id: str,
        correlation_id: str,
        api_version: str,
        cached: Job | None = None,
    ) -> Job:
        """A new pending job; or, given a completed job with the same blueprint, a job that is
        completed from the start with that job's result."""
        moment = to_ms(now)
        if cached is not None and (
            cached.status is not JobStatus.COMPLETED
            or cached.blueprint_hash != blueprint.sha256
            or cached.owner != owner
        ):
            raise ValueError(
                "a result is taken only from a completed job of the same owner and blueprint"
            )
        return cls(
            job_id=job_id,
            owner=owner,
            status=JobStatus.COMPLETED if cached else JobStatus.PENDING,
            created_at=moment,
            updated_at=moment,
            blueprint_format=blueprint.format,
            blueprint_hash=blueprint.sha256,
            blueprint_size_bytes=blueprint.size_bytes,
            blueprint_s3_key=blueprint_key,
            result_s3_key=cached.result_s3_key if cached else None,
            error=None,
            request_id=request_id,
            correlation_id=correlation_id,
            api_version=api_version,
            version=1,
            cached_from=cached.job_id if cached else None,
        )

    @property
    def done(self) -> bool:
        return self.status.terminal

    def start_processing(self, now: datetime) -> Job:
        return self._move(JobStatus.PROCESSING, now)

    def complete(self, result_key: str, now: datetime) -> Job:
        return self._move(JobStatus.COMPLETED, now, result_s3_key=result_key)

    def fail(self, code: str, message: str, now: datetime) -> Job:
        return self._move(JobStatus.FAILED, now, error=JobError(code, message))

    def cancel(self, now: datetime) -> Job:
        """Cancel a pending or processing job; a cancelled job is returned unchanged."""
        if self.status is JobStatus.CANCELLED:
            return self
        if self.status in (JobStatus.COMPLETED, JobStatus.FAILED):
            raise JobAlreadyCompleted(
                f"The job is already {self.status.value} and can no longer be cancelled.",
                job_id=self.job_id,
                status=self.status.value,
            )
        return self._move(JobStatus.CANCELLED, now, error=CANCELLED_ERROR)

    def _move(self, to: JobStatus, now: datetime, **changes: Any) -> Job:
        if to not in ALLOWED_TRANSITIONS[self.status]:
            raise InvalidTransition(
                f"A {self.status.value} job cannot become {to.value}.",
                job_id=self.job_id,
                status=self.status.value,
                requested=to.value,
            )
        # Clocks step backwards (NTP, other hosts): updated_at never does.
        moment = max(to_ms(now), self.updated_at)
        return evolve(self, status=to, updated_at=moment, version=self.version + 1, **changes)
