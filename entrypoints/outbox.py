"""The outbox's sender: the jobs table's stream to the pipeline's queue (OutboxFunction).

DynamoDB Streams carries every change of the table, as it was and as it is, in the order of
each item's changes; the job and the record of its change are one write, so no message can be
lost between them. For each record, the images are read as jobs (the job store's own mapping;
items of other kinds are no job), ``messages_for_change`` says what that change sends (a job
added unfinished: ``job.created``; one that became cancelled: ``job.cancelled``), and each
message goes to the queue.

The event source mapping reports failures per record (``ReportBatchItemFailures``). Lambda
retries a stream batch from the lowest sequence number reported, so the first record that
fails stops the batch: it and all after it come again, in order (a job's ``job.cancelled`` is
never sent before its ``job.created``; the standard queue may still deliver them out of order).
A record that is no readable job is logged and skipped: no retry would read it. A record sent
before the failing one is sent again only if Lambda retries the whole batch, which the pipeline
drops by ``deduplication_id``. Nothing is raised out of the handler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from domain.job import Job
from domain.pipeline import JobMessage, messages_for_change
from entrypoints.invocation import Once, batch_failures, invocation, lambda_settings, records
from ports.pipeline import PipelineQueue

log = logging.getLogger("blueprint_jobs.outbox")

ImageReader = Callable[[Mapping[str, Any] | None], Job | None]
Result = dict[str, list[dict[str, str]]]
_CHANGES = ("INSERT", "MODIFY", "REMOVE")


def sequence_number(record: Mapping[str, Any]) -> str:
    """The record's ``dynamodb.SequenceNumber`` ("" if it has none: reported so, Lambda
    retries the whole batch)."""
    stream = record.get("dynamodb")
    number = stream.get("SequenceNumber") if isinstance(stream, Mapping) else None
    return number if isinstance(number, str) else ""


def change_of(record: Mapping[str, Any], read: ImageReader) -> tuple[Job | None, Job | None]:
    """The job as it was and as it is after the record's change (None: there was none, or
    there is none now, or the item is no job). Raises ``ValueError`` for a record that is not
    a DynamoDB stream record."""
    name = record.get("eventName")
    stream = record.get("dynamodb")
    if name not in _CHANGES or not isinstance(stream, Mapping):
        raise ValueError(f"not a DynamoDB stream record (eventName {str(name)[:32]!r})")
    old, new = stream.get("OldImage"), stream.get("NewImage")
    if name == "REMOVE":  # a removal (none of a job, ever; TTL's of other items) sends nothing
        return read(old), None
    return read(old), read(new)


def messages_of(record: Mapping[str, Any], read: ImageReader) -> list[JobMessage]:
    """The messages the record's change calls for."""
    return messages_for_change(*change_of(record, read))


class Outbox:
    def __init__(self, queue: PipelineQueue, read: ImageReader) -> None:
        self._queue = queue
        self._read = read

    def handle(self, event: object) -> Result:
        for record in records(event):
            number = sequence_number(record)
            try:
                messages = messages_of(record, self._read)
            except Exception:
                # Not a readable job (a hand-edited item, a status of a newer release): no
                # retry will read it, and failing it would hold back every record after it
                # until Lambda discards them all. It is skipped, loudly.
                log.exception(
                    "a stream record that is no readable job was skipped",
                    extra={"sequence_number": number, "outcome": "skipped"},
                )
                continue
            try:
                for message in messages:
                    self._queue.send(message)
                    log.info(
                        "a job was sent to the pipeline",
                        extra={
                            "job_id": message.job_id,
                            "message_type": message.kind.value,
                            "sequence_number": number,
                        },
                    )
            except Exception:
                log.exception(
                    "a stream record was not sent; it and the records after it come again",
                    extra={"sequence_number": number, "outcome": "failed"},
                )
                return batch_failures([number])
        return batch_failures([])


def make_handler(outbox: Outbox | Callable[[], Outbox]) -> Callable[[object, Any], Result]:
    """A handler around an ``Outbox``, or around a factory called on the first event. If even
    that fails, the batch is reported failed from its first record."""
    built: Once[Outbox] = Once(outbox) if callable(outbox) else Once(lambda: outbox)

    def handle(event: object, context: Any = None) -> Result:
        with invocation(context):
            try:
                sender = built.get()
            except Exception:
                log.exception("the outbox could not be built")
                found = records(event)
                return batch_failures([sequence_number(found[0])] if found else [])
            return sender.handle(event)

    return handle


def _production_outbox() -> Outbox:
    from entrypoints.aws import outbox_parts  # botocore, on the first event only

    return Outbox(*outbox_parts(lambda_settings()))


handler = make_handler(_production_outbox)
