"""The jobs table: its keys, its index, and the items it holds.

One table, keyed ``pk`` and ``sk``:

- a job (``pk`` = the job id, ``sk = "JOB"``);
- one item per feedback entry (``sk = "FB#<created_at>#<feedback_id>"``, so a query returns
  them oldest first) and a feedback counter (``sk = "FEEDBACK_COUNT"``). Keeping feedback out
  of the job item keeps every item a few KB, whatever the number of entries, and keeps the
  job's version for the job;
- an upload session (``pk`` = the upload id, ``sk = "UPLOAD"``);
- an idempotency record (``pk = "IDEM#<scope>"``, ``sk = "IDEMPOTENCY"``).

The models are PynamoDB models used for what they declare (attribute names and types, the
discriminator, conditions and update actions) and to convert items both ways. They never call
DynamoDB themselves and have no ``Meta``: every call goes through one connection per table
(``adapters.dynamodb.table``), so they hold no connection state and one set of classes serves
every table. ``table_schema(name)`` is what ``CreateTable`` is given, and what template.yaml
declares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.attributes import (
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.models import Model

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import CreateTableInputTypeDef

JOB_SK = "JOB"
FEEDBACK_PREFIX = "FB#"
COUNTER_SK = "FEEDBACK_COUNT"
UPLOAD_SK = "UPLOAD"
IDEMPOTENCY_PREFIX = "IDEM#"
IDEMPOTENCY_SK = "IDEMPOTENCY"
# Sparse: only completed jobs carry ``completed_hash``, so the index holds just what the
# result cache may reuse. Like every global secondary index, it is eventually consistent.
BY_HASH_INDEX = "completed-by-blueprint-hash"
# DynamoDB deletes an item some time after this (TTL lags); reads check the expiry themselves.
EXPIRES = "expires"


def table_schema(name: str) -> CreateTableInputTypeDef:
    """The table's definition, as ``CreateTable`` takes it (and ``DescribeTable`` gives it)."""
    return {
        "TableName": name,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "completed_hash", "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": BY_HASH_INDEX,
                "KeySchema": [{"AttributeName": "completed_hash", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }


class Item(Model):
    """What every item has: its key, and which kind of item it is."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()


class JobItem(Item, discriminator="job"):
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    blueprint_format = UnicodeAttribute()
    blueprint_hash = UnicodeAttribute()
    completed_hash = UnicodeAttribute(null=True)  # the index's key: set once completed
    blueprint_size_bytes = NumberAttribute()
    blueprint_key = UnicodeAttribute()
    result_key = UnicodeAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute()
    correlation_id = UnicodeAttribute()
    api_version = UnicodeAttribute()
    cached_from = UnicodeAttribute(null=True)
    # A fresh token per write: after a write whose answer was lost and whose retry failed its
    # condition, the token tells whether the stored item is this write or another's.
    write_token = UnicodeAttribute(null=True)
    # The job's own version; every write is conditioned on the version it replaces.
    version = NumberAttribute()


class FeedbackItem(Item, discriminator="feedback"):
    feedback_id = UnicodeAttribute()
    rating = NumberAttribute()
    comment = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class CounterItem(Item, discriminator="feedback_count"):
    entries = NumberAttribute(default=0)


class UploadItem(Item, discriminator="upload"):
    key = UnicodeAttribute()
    format = UnicodeAttribute()
    size_bytes = NumberAttribute()
    created_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    job_id = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True, attr_name=EXPIRES)


class IdempotencyItem(Item, discriminator="idempotency"):
    token = UnicodeAttribute()
    state = UnicodeAttribute()
    created_at = UnicodeAttribute()
    lease_until = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    fingerprint = UnicodeAttribute(null=True)
    response = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True, attr_name=EXPIRES)
