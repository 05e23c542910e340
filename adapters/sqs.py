"""The pipeline's queue on SQS, through a botocore client.

A message is one ``SendMessage``: its body the message's JSON object (``JobMessage.to_dict``),
and, as message attributes, what a receiver may route or drop repeats by without reading the
body: its ``type``, ``schema_version`` and ``deduplication_id``. The queue is a standard one,
so delivery is at least once: the outbox sends a message again when a stream batch is retried,
and the sweeper re-sends jobs the pipeline has not started.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from adapters.aws import AttemptGuard, raise_translated
from domain.pipeline import JobMessage

if TYPE_CHECKING:  # the stubs are for type checking only: nothing is imported at run time
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

_WHAT = "The pipeline queue"


def attributes(message: JobMessage) -> dict[str, MessageAttributeValueTypeDef]:
    """The message attributes a message is sent with."""
    return {
        "type": {"DataType": "String", "StringValue": message.kind.value},
        "schema_version": {"DataType": "Number", "StringValue": str(message.schema_version)},
        "deduplication_id": {"DataType": "String", "StringValue": message.deduplication_id},
    }


class SqsPipelineQueue:
    """The ``PipelineQueue`` port on the queue at ``queue_url``. ``client`` is an SQS client,
    or a function that makes one on first use; ``guard``, if given, keeps its calls inside the
    invocation's deadline."""

    def __init__(
        self,
        client: SQSClient | Callable[[], SQSClient],
        queue_url: str,
        *,
        guard: AttemptGuard | None = None,
    ) -> None:
        self._factory: Callable[[], SQSClient] | None = client if callable(client) else None
        self._client: SQSClient | None = None if callable(client) else client
        self._guard = guard
        if self._client is not None and guard is not None:
            guard.install(self._client)
        self._lock = threading.Lock()
        self.queue_url = queue_url

    @property
    def client(self) -> SQSClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    assert self._factory is not None
                    client = self._factory()
                    if self._guard is not None:
                        self._guard.install(client)
                    self._client = client
        return self._client

    def send(self, message: JobMessage) -> None:
        try:
            self.client.send_message(
                QueueUrl=self.queue_url,
                MessageBody=json.dumps(message.to_dict(), separators=(",", ":")),
                MessageAttributes=attributes(message),
            )
        except (ClientError, BotoCoreError) as error:
            raise_translated(error, _WHAT)
