"""The progress consumer: the pipeline's updates, from the updates queue, applied to jobs
(ProgressFunction, an SQS event source with ``ReportBatchItemFailures``).

Each record's body is one update (``ProgressUpdate.parse``), applied through the use cases
(``Progress.apply``): applied, or found a duplicate, behind the job, or too late for a job that
ended otherwise; each of those is done with, and the message is deleted. What cannot be done
now or ever is that record's batch item failure, so SQS delivers it again, and after the
queue's ``maxReceiveCount`` receives moves it to the dead-letter queue: a malformed message,
an update of a job that does not exist, the store unavailable (or the invocation's time spent),
a conflict that outlasted the retries, and anything unexpected (logged with its traceback).
One record never stops the others. Nothing is raised out of the handler. One log line per
record: its ``outcome``, ``message_id``, ``event_id`` and ``job_id``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from domain.errors import ConcurrentModification, JobNotFound, ServiceUnavailable
from domain.pipeline import MalformedUpdate, ProgressUpdate
from entrypoints.invocation import Once, batch_failures, invocation, lambda_settings, records

if TYPE_CHECKING:
    from domain.use_cases.progress import Progress

log = logging.getLogger("blueprint_jobs.progress")

Result = dict[str, list[dict[str, str]]]
# Outcomes of records that failed, as logged (the others are Progress's own Outcome values).
MALFORMED, NOT_FOUND, UNAVAILABLE, CONFLICT, ERROR = (
    "malformed",
    "not_found",
    "unavailable",
    "conflict",
    "error",
)


def update_of(record: Mapping[str, Any]) -> ProgressUpdate:
    """The update an SQS record's body holds. Raises ``MalformedUpdate``."""
    body = record.get("body")
    if not isinstance(body, str):
        raise MalformedUpdate("The message has no body.")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedUpdate("The message's body is not JSON.") from None
    return ProgressUpdate.parse(data)


class ProgressConsumer:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def handle(self, event: object) -> Result:
        failed: list[str] = []
        for record in records(event):
            message_id = record.get("messageId")
            identifier = message_id if isinstance(message_id, str) else ""
            if not self._consume(record, identifier):
                failed.append(identifier)
        return batch_failures(failed)

    def _consume(self, record: Mapping[str, Any], message_id: str) -> bool:
        """Whether the record is done with (else it is reported, and comes again)."""
        fields: dict[str, Any] = {"message_id": message_id}
        try:
            update = update_of(record)
        except MalformedUpdate as error:
            fields.update(outcome=MALFORMED, event_id=error.details.get("event_id"))
            log.warning(f"a malformed update was refused: {error.message}", extra=fields)
            return False
        fields.update(event_id=update.event_id, job_id=update.job_id, update=update.kind.value)
        try:
            outcome = self._progress.apply(update)
        except JobNotFound:
            log.warning(
                "an update of a job that does not exist", extra={**fields, "outcome": NOT_FOUND}
            )
            return False
        except ServiceUnavailable as error:
            log.warning(
                f"an update could not be applied now: {error.message}",
                extra={**fields, "outcome": UNAVAILABLE},
            )
            return False
        except ConcurrentModification:
            log.warning("an update kept conflicting", extra={**fields, "outcome": CONFLICT})
            return False
        except Exception:
            log.exception("an update failed", extra={**fields, "outcome": ERROR})
            return False
        log.info("an update was consumed", extra={**fields, "outcome": outcome.value})
        return True


def make_handler(
    consumer: ProgressConsumer | Callable[[], ProgressConsumer],
) -> Callable[[object, Any], Result]:
    """A handler around a ``ProgressConsumer``, or around a factory called on the first event.
    If even that fails, every record is reported failed (and comes again)."""
    built: Once[ProgressConsumer] = Once(consumer) if callable(consumer) else Once(lambda: consumer)

    def handle(event: object, context: Any = None) -> Result:
        with invocation(context):
            try:
                applying = built.get()
            except Exception:
                log.exception("the progress consumer could not be built")
                ids = [record.get("messageId") for record in records(event)]
                return batch_failures([i if isinstance(i, str) else "" for i in ids])
            return applying.handle(event)

    return handle


def _production_consumer() -> ProgressConsumer:
    from entrypoints.aws import progress  # botocore, on the first event only

    return ProgressConsumer(progress(lambda_settings()))


handler = make_handler(_production_consumer)
