"""What the DynamoDB and S3 adapters share: botocore settings and fault classification.

Timeouts and attempts are chosen so that one API request, in the worst case of every call
timing out and being retried, still ends inside API Gateway's 30 s (see ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn

from attrs import frozen
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from domain.errors import ServiceUnavailable

# Error codes that mean "busy or down, try later", as opposed to "your request is wrong".
UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "ResourceNotFoundException",
        "NoSuchBucket",
    }
)
_UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)
RETRY_AFTER_SECONDS = 1


@frozen
class CallPolicy:
    """Timeouts (seconds) and total attempts (first try included) for one service."""

    connect_timeout: float
    read_timeout: float
    max_attempts: int

    @property
    def worst_case_seconds(self) -> float:
        backoff = float(sum(min(2**n, 20) for n in range(self.max_attempts - 1)))
        return self.max_attempts * (self.connect_timeout + self.read_timeout) + backoff


DYNAMODB_POLICY = CallPolicy(connect_timeout=1.0, read_timeout=2.0, max_attempts=3)
S3_POLICY = CallPolicy(connect_timeout=1.0, read_timeout=3.0, max_attempts=3)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__


def _client_error(error: BaseException) -> ClientError | None:
    """The botocore error behind ``error`` (PynamoDB wraps botocore's), if there is one."""
    return next((link for link in _chain(error) if isinstance(link, ClientError)), None)


def error_code(error: BaseException) -> str | None:
    found = _client_error(error)
    code = found.response.get("Error", {}).get("Code") if found else None
    return str(code) if code is not None else None


def http_status(error: BaseException) -> int | None:
    found = _client_error(error)
    status = found.response.get("ResponseMetadata", {}).get("HTTPStatusCode") if found else None
    return int(status) if status is not None else None


def unavailable(error: BaseException, what: str) -> ServiceUnavailable | None:
    """The domain's "unavailable" error if ``error`` is a fault that outlasted the retries."""
    code = error_code(error)
    status = http_status(error)
    unreachable = any(isinstance(link, _UNREACHABLE) for link in _chain(error))
    if unreachable or code in UNAVAILABLE_CODES or (status is not None and status >= 500):
        return ServiceUnavailable(
            f"{what} is unavailable ({code or type(error).__name__}).",
            retry_after=RETRY_AFTER_SECONDS,
        )
    if not code and any(isinstance(link, BotoCoreError) for link in _chain(error)):
        return ServiceUnavailable(f"{what} could not be reached.", retry_after=RETRY_AFTER_SECONDS)
    return None


def raise_translated(error: BaseException, what: str) -> NoReturn:
    """Raise ``error`` as the domain's "unavailable" error if it is a lasting fault, else as
    it is. Called in an ``except`` block; never makes an error its own cause."""
    translated = unavailable(error, what)
    if translated is None:
        raise error
    raise translated from error
