"""What the pipeline's Lambda entrypoints share (the outbox, the progress consumer, the
sweeper): their settings and logging, what they serve built on the first event and kept, and
each invocation's deadline.

Nothing here builds anything at import time, and nothing here imports the HTTP layer: each of
those functions loads only what it calls.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from entrypoints import deadline
from entrypoints.logs import close_context, configure_logging, open_context
from entrypoints.settings import Settings

T = TypeVar("T")
# Time kept, out of what the function has left, to hand the batch's answer back.
ANSWER_MARGIN_SECONDS = 1.0


def lambda_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The function's settings, from its environment, with its logging configured."""
    settings = Settings.from_env(os.environ if environ is None else environ, profile="lambda")
    configure_logging(settings.log_level)
    return settings


class Once(Generic[T]):
    """What ``factory`` makes, made on first use and kept for the life of the process."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._made: list[T] = []
        self._lock = threading.Lock()

    def get(self) -> T:
        if not self._made:
            with self._lock:
                if not self._made:
                    self._made.append(self._factory())
        return self._made[0]


@contextmanager
def invocation(context: Any) -> Iterator[None]:
    """The invocation's deadline (the function's remaining time, less a margin to answer),
    which the AWS adapters check before every attempt: a call that cannot end in time is not
    made, and what it was for is reported as failed rather than cut off by the timeout. Every
    log line carries the Lambda request id."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    request_id = getattr(context, "aws_request_id", None)
    logged = open_context({"lambda_request_id": str(request_id)} if request_id else {})
    bound = deadline.start(remaining_ms() / 1000 - ANSWER_MARGIN_SECONDS) if remaining_ms else None
    try:
        yield
    finally:
        if bound is not None:
            deadline.finish(bound)
        close_context(logged)


def records(event: object) -> list[Mapping[str, Any]]:
    """The records of a batch event (``Records``); none if the event has no such list. A
    record that is not an object is kept as an empty one, so that it is reported, not
    skipped."""
    found = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(found, list):
        return []
    return [record if isinstance(record, Mapping) else {} for record in found]


def batch_failures(identifiers: list[str]) -> dict[str, list[dict[str, str]]]:
    """The partial batch response (``ReportBatchItemFailures``): the records that failed."""
    return {"batchItemFailures": [{"itemIdentifier": item} for item in identifiers]}
