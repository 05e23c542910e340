"""What the DynamoDB, S3 and SQS adapters share: botocore settings, fault classification and the
guard that keeps every call inside the request's deadline.

Timeouts and attempts bound each call; the deadline guard bounds a request's calls together,
however many it makes: an attempt that might not end before the request must answer is not
made (see ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NoReturn

from attrs import frozen
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from domain.errors import DeadlineExceeded, ServiceUnavailable

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
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "KmsThrottled",
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
    def attempt_seconds(self) -> float:
        """The longest one attempt waits: for the connection, then for the answer."""
        return self.connect_timeout + self.read_timeout

    @property
    def worst_case_seconds(self) -> float:
        backoff = float(sum(min(2**n, 20) for n in range(self.max_attempts - 1)))
        return self.max_attempts * (self.connect_timeout + self.read_timeout) + backoff


DYNAMODB_POLICY = CallPolicy(connect_timeout=1.0, read_timeout=2.0, max_attempts=3)
S3_POLICY = CallPolicy(connect_timeout=1.0, read_timeout=3.0, max_attempts=3)
SQS_POLICY = CallPolicy(connect_timeout=1.0, read_timeout=2.0, max_attempts=3)

# When a request's time runs out, what it holds is given back in this order: a blob it wrote
# and will not keep (one S3 call), then its idempotency key (one DynamoDB call). Ordinary calls
# stop early enough to leave each of those one attempt.
FINISHING_RESERVE_SECONDS = S3_POLICY.attempt_seconds + DYNAMODB_POLICY.attempt_seconds

Remaining = Callable[[], float | None]
"""Seconds left before the request being served must answer; None when there is no deadline
(a command, a test without one)."""

_finishing: ContextVar[bool] = ContextVar("blueprint_jobs_finishing", default=False)


@contextmanager
def finishing() -> Iterator[None]:
    """Calls made inside finish what the request began (remove a blob it will not keep,
    complete or release its idempotency key): they may use the time held in reserve."""
    token = _finishing.set(True)
    try:
        yield
    finally:
        _finishing.reset(token)


@frozen
class AttemptGuard:
    """Refuses an attempt that might not end before the request's deadline.

    Installed on a botocore client's ``before-send``, which botocore emits for every attempt,
    retries included, after any backoff: so a call retried near the deadline stops there,
    with ``DeadlineExceeded``, which comes out of botocore and PynamoDB as itself. An attempt
    may take ``policy.attempt_seconds``; ordinary calls keep ``reserve`` seconds free for the
    finishing calls, and finishing calls keep ``finishing_reserve`` for those after them.
    """

    remaining: Remaining
    policy: CallPolicy
    reserve: float
    finishing_reserve: float = 0.0
    what: str = "A backing store"

    def __call__(self, event_name: str = "", **_: Any) -> None:
        left = self.remaining()
        if left is None:
            return
        kept = self.finishing_reserve if _finishing.get() else self.reserve
        if left - kept < self.policy.attempt_seconds:
            operation = event_name.rpartition(".")[2] or "a call"
            raise DeadlineExceeded(
                f"{self.what} was not called ({operation}): the request has {left:.1f} s left, "
                f"{kept:.1f} s of them held for finishing, and one attempt may take "
                f"{self.policy.attempt_seconds:.1f} s.",
                retry_after=RETRY_AFTER_SECONDS,
            )

    def install(self, client: Any) -> None:
        """Guard every attempt of ``client`` (once: installing again changes nothing)."""
        client.meta.events.register_first("before-send", self, unique_id=_GUARD_ID)


_GUARD_ID = "blueprint-jobs-deadline-guard"


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
    it is. Called in an ``except`` block; never makes an error its own cause. A request that
    ran out of time stays ``DeadlineExceeded``, whatever library wrapped it."""
    expired = next((link for link in _chain(error) if isinstance(link, DeadlineExceeded)), None)
    if expired is not None:
        raise expired from None
    translated = unavailable(error, what)
    if translated is None:
        raise error
    raise translated from error
