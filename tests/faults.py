"""Faults injected where the endpoint answers: the adapter, botocore's retries and the service
above see exactly what a throttled or failing AWS endpoint would send back."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse

from tests.fakes import FakeMonotonic

# Services that answer in JSON, and the prefix of their error types.
_JSON_PREFIX = {"dynamodb": "com.amazonaws.dynamodb.v20120810", "sqs": "com.amazonaws.sqs"}


class Fault:
    """Answers the first ``times`` matching requests with an AWS error; then lets them through."""

    def __init__(self, service: str, code: str, status: int, times: int = 10**9) -> None:
        self.service = service
        self.code = code
        self.status = status
        self.remaining = times
        self.injected = 0
        # For TransactionCanceledException: one reason code per item of the transaction.
        self.cancellation: list[str] | None = None
        self._lock = threading.Lock()

    def install(self, client: Any, operation: str) -> Fault:
        """Answer ``operation`` requests of ``client``'s service (moto in process only)."""
        from tests.aws import FAULTS

        self.event = f"before-send.{client.meta.service_model.service_name}.{operation}"
        FAULTS.append(self)
        return self

    def __call__(
        self, event_name: str, request: Any, carry_out: Callable[[], Any] | None = None
    ) -> AWSResponse | None:
        if event_name != self.event:
            return None
        with self._lock:
            if self.remaining <= 0:
                return None
            self.remaining -= 1
            self.injected += 1
        if self.service in _JSON_PREFIX:
            error: dict[str, Any] = {
                "__type": f"{_JSON_PREFIX[self.service]}#{self.code}",
                "message": "injected",
            }
            if self.cancellation is not None:
                error["CancellationReasons"] = [{"Code": code} for code in self.cancellation]
            body = json.dumps(error).encode()
            headers = {"Content-Type": "application/x-amz-json-1.0"}
        else:
            body = (
                f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{self.code}</Code>"
                "<Message>injected</Message></Error>"
            ).encode()
            headers = {"Content-Type": "application/xml"}
        return AWSResponse(request.url, self.status, headers, MockRawResponse(body))  # type: ignore[arg-type]


# How a slow request ends.
ANSWER = "answer"  # carried out and answered, late
TIMEOUT = "timeout"  # no answer within the read timeout, and not carried out
LOST = "lost"  # carried out, but its answer came too late: a read timeout all the same


class Slow:
    """Each matching request takes ``seconds`` on ``clock`` (a fake monotonic clock, which the
    request's deadline is measured on), then ends as the next of ``outcomes`` says, in turn.
    After ``times`` requests it lets them through untouched. ``calls`` counts the requests it
    slowed: an attempt the deadline guard refused never reaches it."""

    def __init__(
        self,
        outcomes: Sequence[str] = (ANSWER,),
        *,
        seconds: float = 0.0,
        clock: FakeMonotonic | None = None,
        times: int = 10**9,
    ) -> None:
        self.outcomes = list(outcomes)
        self.seconds = seconds
        self.clock = clock
        self.remaining = times
        self.calls = 0
        self._lock = threading.Lock()

    def install(self, client: Any, operation: str | None = None) -> Slow:
        """Slow ``operation`` requests of ``client``'s service, or all of them."""
        from tests.aws import FAULTS

        service = client.meta.service_model.service_name
        self.event = f"before-send.{service}." + (operation or "")
        self.exact = operation is not None
        FAULTS.append(self)
        return self

    def stop(self) -> None:
        """The endpoint is fast again."""
        from tests.aws import FAULTS

        FAULTS.remove(self)

    def __call__(self, event_name: str, request: Any, carry_out: Callable[[], Any]) -> None:
        """Returns nothing: moto (or the next fault) answers, unless this raises a timeout."""
        if event_name != self.event if self.exact else not event_name.startswith(self.event):
            return
        with self._lock:
            if self.remaining <= 0:
                return
            self.remaining -= 1
            outcome = self.outcomes[self.calls % len(self.outcomes)]
            self.calls += 1
        if self.clock is not None:
            self.clock.advance(self.seconds)
        if outcome == ANSWER:
            return
        if outcome == LOST:
            carry_out()
        raise ReadTimeoutError(endpoint_url=request.url)


class LostAnswer:
    """Lets the endpoint carry out the first ``times`` matching requests, then loses their
    answers, as a read timeout after the service acted would. botocore retries the call, so
    the adapter sees its own write's aftermath: a condition that the first attempt made fail.
    """

    def __init__(self, times: int = 1) -> None:
        self.remaining = times
        self.lost = 0
        self._lock = threading.Lock()

    def install(self, client: Any, operation: str) -> LostAnswer:
        """Lose answers to ``operation`` requests of ``client``'s service (moto in process)."""
        from tests.aws import FAULTS

        self.event = f"before-send.{client.meta.service_model.service_name}.{operation}"
        FAULTS.append(self)
        return self

    def __call__(self, event_name: str, request: Any, carry_out: Callable[[], Any]) -> None:
        if event_name != self.event:
            return
        with self._lock:
            if self.remaining <= 0:
                return
            self.remaining -= 1
        carry_out()  # the request lands
        with self._lock:
            self.lost += 1
        raise ReadTimeoutError(endpoint_url=request.url)
