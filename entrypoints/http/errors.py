"""HTTP-only errors and the one table that turns error codes into statuses."""

from __future__ import annotations

from typing import Any

from domain.errors import DomainError

STATUS_BY_CODE: dict[str, int] = {
    "INVALID_REQUEST_BODY": 400,
    "INVALID_FILE_FORMAT": 400,
    "INVALID_JOB_ID": 400,
    "INVALID_PAGE_TOKEN": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "CORS_ORIGIN_NOT_ALLOWED": 403,
    "NOT_FOUND": 404,
    "JOB_NOT_FOUND": 404,
    "UNSUPPORTED_API_VERSION": 404,
    "UPLOAD_NOT_FOUND": 404,
    "UPLOAD_REJECTED": 403,
    "METHOD_NOT_ALLOWED": 405,
    "JOB_ALREADY_COMPLETED": 409,
    "JOB_NOT_FINISHED": 409,
    "CONCURRENT_MODIFICATION": 409,
    "IDEMPOTENCY_KEY_IN_USE": 409,
    "UPLOAD_INCOMPLETE": 409,
    "FEEDBACK_LIMIT_REACHED": 409,
    "UPLOAD_ALREADY_USED": 409,
    "UPLOAD_SIZE_MISMATCH": 409,
    # A transition the lifecycle forbids, asked of a job in a state that does not allow it.
    "INVALID_TRANSITION": 409,
    "PRECONDITION_FAILED": 412,
    "FILE_TOO_LARGE": 413,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "IDEMPOTENCY_KEY_REUSED": 422,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    # Faults of the service, never the client's doing: a job id drawn twice, a job's blob
    # gone from the store. They are answered as INTERNAL_ERROR and logged with the traceback.
    "JOB_ALREADY_EXISTS": 500,
    "BLOB_NOT_FOUND": 500,
    # A result the pipeline made larger than the service serves: its fault, not the client's.
    "RESULT_UNUSABLE": 500,
    # Raised by the keys command, never while serving a request.
    "API_KEY_NOT_FOUND": 500,
    # A pipeline update that cannot be read: refused by the progress consumer, never over HTTP.
    "MALFORMED_UPDATE": 500,
    "SERVICE_UNAVAILABLE": 503,
}

# The codes a client can meet: every code answered as 500 is shown as INTERNAL_ERROR.
CLIENT_CODES = tuple(
    sorted(
        code for code, status in STATUS_BY_CODE.items() if status != 500 or code == "INTERNAL_ERROR"
    )
)


class HttpProblem(DomainError):
    """An error of the HTTP layer itself, with optional response headers."""

    def __init__(
        self, message: str, *, headers: dict[str, str] | None = None, **details: Any
    ) -> None:
        super().__init__(message, **details)
        self.headers = headers or {}


class RouteNotFound(HttpProblem):
    code = "NOT_FOUND"


class UnsupportedApiVersion(HttpProblem):
    code = "UNSUPPORTED_API_VERSION"


class MethodNotAllowed(HttpProblem):
    code = "METHOD_NOT_ALLOWED"


class UnsupportedMediaType(HttpProblem):
    code = "UNSUPPORTED_MEDIA_TYPE"


class PayloadTooLarge(HttpProblem):
    """A body other than a blueprint (feedback, for instance) that is far too large."""

    code = "PAYLOAD_TOO_LARGE"


class CorsOriginNotAllowed(HttpProblem):
    code = "CORS_ORIGIN_NOT_ALLOWED"
