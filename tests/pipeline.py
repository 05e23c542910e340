"""The pipeline's side of AWS for the tests: event shapes as AWS documents them, and readers
of moto's stream and queues that stand where Lambda's event source mappings stand.

- ``StreamPoller`` reads the jobs table's stream (DynamoDB Streams) as the outbox's event
  source mapping does, and gives its records as Lambda hands them to the function;
- ``QueuePoller`` receives from a queue as the progress consumer's event source mapping does
  and deletes what the function did not report failed;
- ``sqs_record``, ``stream_record`` and ``Context`` are the event records and the context of
  the Lambda documentation ("Using AWS Lambda with Amazon SQS", "... with Amazon DynamoDB").

The pollers' calls are made with the function's role on AWS: ``tests/iam.py`` counts them as
the function's (``on_behalf_of_the_function``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import boto3

from tests.iam import on_behalf_of_the_function

ACCOUNT = "123456789012"


class Context:
    """What the Lambda runtime passes as ``context``, with ``seconds`` left."""

    def __init__(self, seconds: float = 60.0, function_name: str = "blueprint-jobs") -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = function_name
        self._seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self._seconds * 1000)


# -- DynamoDB Streams ------------------------------------------------------------------------


def stream_record(
    name: str,
    sequence: str,
    *,
    keys: Mapping[str, Any],
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    stream_arn: str = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/jobs/stream/2026-11-26T03:15:00.000",
    created: float = 1795662900.0,
    ttl: bool = False,
) -> dict[str, Any]:
    """A record of a DynamoDB stream event as Lambda gives it (``NEW_AND_OLD_IMAGES``);
    ``ttl``: a removal by Time to Live, which carries DynamoDB's own ``userIdentity``."""
    data: dict[str, Any] = {
        "ApproximateCreationDateTime": created,
        "Keys": dict(keys),
        "SequenceNumber": sequence,
        "SizeBytes": 26,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        data["OldImage"] = dict(old)
    if new is not None:
        data["NewImage"] = dict(new)
    record: dict[str, Any] = {
        "eventID": uuid.uuid4().hex,
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": stream_arn.split(":")[3],
        "dynamodb": data,
        "eventSourceARN": stream_arn,
    }
    if ttl:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def streams_client(endpoint_url: str | None = None, region: str = "eu-west-1") -> Any:
    # botocore sends calls naming a stream's ARN to the account's own endpoint, which moto in
    # process does not recognise: the regional endpoint is named.
    return boto3.client(
        "dynamodbstreams",
        region_name=region,
        endpoint_url=endpoint_url or f"https://streams.dynamodb.{region}.amazonaws.com",
    )


class StreamPoller:
    """Reads the table's stream from its start, as the event source mapping does: each
    ``poll`` gives the records that came since the last one, as Lambda's event records."""

    def __init__(self, table: str, endpoint_url: str | None = None, region: str = "eu-west-1"):
        self.client = streams_client(endpoint_url, region)
        self.table = table
        self._iterator: str | None = None
        self.arn = ""

    @on_behalf_of_the_function
    def _start(self) -> str:
        (stream,) = self.client.list_streams(TableName=self.table)["Streams"]
        self.arn = stream["StreamArn"]
        shards = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        iterator: str = self.client.get_shard_iterator(
            StreamArn=self.arn, ShardId=shards[0]["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        return iterator

    @on_behalf_of_the_function
    def poll(self) -> list[dict[str, Any]]:
        if self._iterator is None:
            self._iterator = self._start()
        answer = self.client.get_records(ShardIterator=self._iterator)
        self._iterator = answer.get("NextShardIterator", self._iterator)
        return [self.as_lambda_gives(record) for record in answer["Records"]]

    def as_lambda_gives(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A record of GetRecords as Lambda's event has it: the creation time in seconds, the
        stream's ARN and region beside it."""
        data = dict(record["dynamodb"])
        created = data.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            data["ApproximateCreationDateTime"] = float(int(created.timestamp()))
        return {
            **{k: v for k, v in record.items() if k != "dynamodb"},
            "awsRegion": self.arn.split(":")[3],
            "dynamodb": data,
            "eventSourceARN": self.arn,
        }


def stream_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


def from_sequence(records: list[dict[str, Any]], result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What Lambda gives again after a partial batch response: the batch from the lowest
    sequence number reported (nothing if none was)."""
    failed = [item["itemIdentifier"] for item in result["batchItemFailures"]]
    if not failed:
        return []
    first = min(failed, key=int)
    numbers = [record["dynamodb"]["SequenceNumber"] for record in records]
    return records[numbers.index(first) :]


# -- SQS -------------------------------------------------------------------------------------


def sqs_record(
    body: str,
    *,
    message_id: str | None = None,
    receipt_handle: str = "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
    queue_arn: str = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:blueprint-jobs-updates",
    receive_count: int = 1,
    attributes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A record of an SQS event as Lambda gives it."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": dict(attributes or {}),
        "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def sqs_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}


def queue_arn(client: Any, url: str) -> str:
    arn: str = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn


def create_queue(client: Any, name: str, dead_letter: str | None = None, receives: int = 5) -> str:
    """A queue (with a dead-letter queue and its ``maxReceiveCount``, if named); its URL."""
    attributes = {}
    if dead_letter is not None:
        policy = {
            "deadLetterTargetArn": queue_arn(client, dead_letter),
            "maxReceiveCount": receives,
        }
        attributes["RedrivePolicy"] = json.dumps(policy)
    url: str = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url


def receive_all(client: Any, url: str, wanted: int = 10) -> list[dict[str, Any]]:
    """The messages on the queue now (a test's look, not the function's), deleted."""
    found: list[dict[str, Any]] = []
    while True:
        answer = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=min(wanted, 10), MessageAttributeNames=["All"]
        )
        messages = answer.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        found += messages


class QueuePoller:
    """Receives batches as the progress consumer's event source mapping does, and deletes
    the messages the function did not report failed (which come again once their visibility
    timeout, here none, is over)."""

    def __init__(self, client: Any, url: str, visibility: int = 0) -> None:
        self.client = client
        self.url = url
        self.visibility = visibility
        self.arn = ""

    @on_behalf_of_the_function
    def receive(self, most: int = 10) -> list[dict[str, Any]]:
        if not self.arn:
            self.arn = queue_arn(self.client, self.url)
        answer = self.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=most,
            VisibilityTimeout=self.visibility,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [
            sqs_record(
                message["Body"],
                message_id=message["MessageId"],
                receipt_handle=message["ReceiptHandle"],
                queue_arn=self.arn,
                receive_count=int(message["Attributes"]["ApproximateReceiveCount"]),
            )
            for message in answer.get("Messages", [])
        ]

    @on_behalf_of_the_function
    def settle(self, records: list[dict[str, Any]], result: Mapping[str, Any]) -> None:
        """Delete what succeeded; what failed stays on the queue."""
        failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
        for record in records:
            if record["messageId"] not in failed:
                self.client.delete_message(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"])
