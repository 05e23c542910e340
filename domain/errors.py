"""Domain errors. Each has a stable ``code``; the HTTP status is chosen at the edge."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code: ClassVar[str] = "DOMAIN_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details


class InvalidRequest(DomainError):
    """Input that is malformed: a wrong type, a missing field, an empty blueprint."""

    code = "INVALID_REQUEST_BODY"


class InvalidJobId(DomainError):
    code = "INVALID_JOB_ID"


class InvalidFileFormat(DomainError):
    code = "INVALID_FILE_FORMAT"


class FileTooLarge(DomainError):
    code = "FILE_TOO_LARGE"


class JobNotFound(DomainError):
    code = "JOB_NOT_FOUND"


class JobAlreadyExists(DomainError):
    """A create-only write found the id taken (an id collision: never expected)."""

    code = "JOB_ALREADY_EXISTS"


class InvalidTransition(DomainError):
    """A status change the lifecycle does not allow."""

    code = "INVALID_TRANSITION"


class JobAlreadyCompleted(InvalidTransition):
    """Cancelling a job that has already completed or failed."""

    code = "JOB_ALREADY_COMPLETED"


class JobNotFinished(DomainError):
    code = "JOB_NOT_FINISHED"


class FeedbackLimitReached(DomainError):
    code = "FEEDBACK_LIMIT_REACHED"


class ConcurrentModification(DomainError):
    """The job changed between read and write (a version conflict) and it was not settled."""

    code = "CONCURRENT_MODIFICATION"


class PreconditionFailed(DomainError):
    """The client's expected version is not the job's current version."""

    code = "PRECONDITION_FAILED"


class UploadNotFound(DomainError):
    code = "UPLOAD_NOT_FOUND"


class UploadIncomplete(DomainError):
    code = "UPLOAD_INCOMPLETE"


class UploadAlreadyUsed(DomainError):
    """An upload session creates one job; this one already has."""

    code = "UPLOAD_ALREADY_USED"


class UploadSizeMismatch(DomainError):
    """The uploaded object is not the size the session declared."""

    code = "UPLOAD_SIZE_MISMATCH"


class UploadRejected(DomainError):
    """A form upload whose policy is forged, altered or expired."""

    code = "UPLOAD_REJECTED"


class ServiceUnavailable(DomainError):
    """A backing store is throttled or down after bounded retries."""

    code = "SERVICE_UNAVAILABLE"

    def __init__(self, message: str, *, retry_after: int = 1, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class DeadlineExceeded(ServiceUnavailable):
    """The request's time ran out: a call that might not have ended before the request must
    answer was not made. Answered as any unavailable store is, so clients retry alike."""


class WriteOutcomeUnknown(ServiceUnavailable):
    """A write failed in a way that may have let it land (a timeout), and whether it did could
    not be learnt. Whatever the write depends on (a job's blob) must be kept."""


class BlobNotFound(DomainError):
    """A blob store has no object under the key."""

    code = "BLOB_NOT_FOUND"


class Unauthenticated(DomainError):
    """No credentials (``given`` false), or credentials that are malformed, unknown, revoked
    or expired."""

    code = "UNAUTHENTICATED"

    def __init__(self, message: str, *, given: bool = True, **details: Any) -> None:
        super().__init__(message, **details)
        self.given = given


class Forbidden(DomainError):
    """The caller is known but lacks the scope the operation needs."""

    code = "FORBIDDEN"

    def __init__(self, message: str, *, scope: str, **details: Any) -> None:
        super().__init__(message, required_scope=scope, **details)
        self.scope = scope


class RateLimited(DomainError):
    """An owner's quota is used up: ``policy`` names it, ``retry_after`` says when to retry."""

    code = "RATE_LIMITED"

    def __init__(
        self, message: str, *, policy: str, quota: int, retry_after: int, **details: Any
    ) -> None:
        super().__init__(message, policy=policy, quota=quota, **details)
        self.policy = policy
        self.quota = quota
        self.retry_after = retry_after


class InvalidPageToken(DomainError):
    """A page token that this service did not give to this caller for this listing."""

    code = "INVALID_PAGE_TOKEN"


class ApiKeyNotFound(DomainError):
    code = "API_KEY_NOT_FOUND"


class UnusableResult(DomainError):
    """The pipeline stored a result the service cannot serve (too large, or not JSON): the
    pipeline's fault, never the client's."""

    code = "RESULT_UNUSABLE"
