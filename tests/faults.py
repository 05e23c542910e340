"""Faults injected where the endpoint answers: the adapter, botocore's retries and the service
above see exactly what a throttled or failing AWS endpoint would send back."""

from __future__ import annotations

import json
import threading
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse


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

    def __call__(self, event_name: str, request: Any, proceed: Any = None) -> AWSResponse | None:
        if event_name != self.event:
            return None
        with self._lock:
            if self.remaining <= 0:
                return None
            self.remaining -= 1
            self.injected += 1
        if self.service == "dynamodb":
            error: dict[str, Any] = {
                "__type": f"com.amazonaws.dynamodb.v20120810#{self.code}",
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

    def __call__(self, event_name: str, request: Any, proceed: Any) -> None:
        if event_name != self.event:
            return
        with self._lock:
            if self.remaining <= 0:
                return
            self.remaining -= 1
        proceed()  # the request lands
        with self._lock:
            self.lost += 1
        raise ReadTimeoutError(endpoint_url=request.url)
