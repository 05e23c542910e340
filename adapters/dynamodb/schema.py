"""The jobs table: its keys, its indexes, and the items it holds.

One table, keyed ``pk`` and ``sk``:

- a job (``pk`` = the job id, ``sk = "JOB"``), which carries its ``owner`` and the keys of the
  indexes below;
- one item per feedback entry (``sk = "FB#<created_at>#<feedback_id>"``, so a query returns
  them oldest first) and a feedback counter (``sk = "FEEDBACK_COUNT"``). Keeping feedback out
  of the job item keeps every item a few KB, whatever the number of entries, and keeps the
  job's version for the job;
- an upload session (``pk`` = the upload id, ``sk = "UPLOAD"``);
- an idempotency record (``pk = "IDEM#<scope>"``, ``sk = "IDEMPOTENCY"``);
- each owner's count of unfinished jobs (``pk = "OWNER#<owner>"``, ``sk = "UNFINISHED"``),
  written in the same transaction as the jobs it counts;
- an API key, twice, both copies written in one transaction: by the digest of its secret
  (``pk = "KEY#<digest>"``, ``sk = "KEY"``), to authenticate, and in the one partition of
  every key (``pk = "KEYS"``, ``sk`` = the key id), to list them oldest first without a scan;
- a rate counter (``pk = "RATE#<counter>"``, ``sk = "RATE"``), one per owner, policy and
  window.

Four global secondary indexes, all sparse: only job items carry their keys. So no other item
may have an attribute named ``owner``, ``owner_status``, ``completed_hash`` or
``unfinished_status`` (an upload session's owner is ``upload_owner``, a key's ``key_owner``):

- ``completed-by-blueprint-hash``: completed jobs by ``completed_hash`` =
  ``"<sha256>#<owner>"`` (the result cache, scoped to the owner; a SHA-256 is 64 characters,
  so the value splits one way only);
- ``jobs-by-owner``: an owner's jobs by ``owner``, sorted by ``pk`` (job ids are ULIDs: newest
  last), for listings;
- ``jobs-by-owner-status``: the same by ``owner_status`` = ``"<owner>#<status>"`` (no status
  has a ``#``: the value splits at its last one), for listings of one status;
- ``unfinished-jobs``: unfinished jobs by ``unfinished_status`` (the status, set only while a
  job is pending or processing), sorted by ``updated_at`` (RFC 3339 to the millisecond, so the
  text sorts as the instant does), for the sweeper: jobs stuck in a status since before a time.

Like every global secondary index, they are eventually consistent: a job written a moment ago
may be missing from them, or be there as it was, for a short while.

The models are PynamoDB models used for what they declare (attribute names and types, the
discriminator, conditions and update actions) and to convert items both ways. They never call
DynamoDB themselves and have no ``Meta``: every call goes through one connection per table
(``adapters.dynamodb.table``), so they hold no connection state and one set of classes serves
every table. ``table_schema(name)`` is what ``CreateTable`` is given, and what template.yaml
declares.

The table streams every change with both images (``NEW_AND_OLD_IMAGES``): the outbox that
sends new and cancelled jobs to the pipeline reads the stream (``stream.job_of_image`` reads a
job from an image).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.attributes import (
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.models import Model

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import CreateTableInputTypeDef

JOB_SK = "JOB"
JOB_KIND = "job"  # the discriminator (``kind``) of job items
FEEDBACK_PREFIX = "FB#"
COUNTER_SK = "FEEDBACK_COUNT"
UPLOAD_SK = "UPLOAD"
IDEMPOTENCY_PREFIX = "IDEM#"
IDEMPOTENCY_SK = "IDEMPOTENCY"
UNFINISHED_PREFIX = "OWNER#"
UNFINISHED_SK = "UNFINISHED"
KEY_PREFIX = "KEY#"
KEY_SK = "KEY"
KEYS_PK = "KEYS"
RATE_PREFIX = "RATE#"
RATE_SK = "RATE"
# Sparse: only completed jobs carry ``completed_hash``, so the index holds just what the
# result cache may reuse. Like every global secondary index, it is eventually consistent.
BY_HASH_INDEX = "completed-by-blueprint-hash"
# Sparse too: only jobs carry ``owner`` and ``owner_status``. Sorted by job id.
BY_OWNER_INDEX = "jobs-by-owner"
BY_OWNER_STATUS_INDEX = "jobs-by-owner-status"
# Sparse: only unfinished jobs carry ``unfinished_status``. Sorted by ``updated_at``.
UNFINISHED_INDEX = "unfinished-jobs"
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
            {"AttributeName": "owner", "AttributeType": "S"},
            {"AttributeName": "owner_status", "AttributeType": "S"},
            {"AttributeName": "unfinished_status", "AttributeType": "S"},
            {"AttributeName": "updated_at", "AttributeType": "S"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": BY_HASH_INDEX,
                "KeySchema": [{"AttributeName": "completed_hash", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": BY_OWNER_INDEX,
                "KeySchema": [
                    {"AttributeName": "owner", "KeyType": "HASH"},
                    {"AttributeName": "pk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": BY_OWNER_STATUS_INDEX,
                "KeySchema": [
                    {"AttributeName": "owner_status", "KeyType": "HASH"},
                    {"AttributeName": "pk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": UNFINISHED_INDEX,
                "KeySchema": [
                    {"AttributeName": "unfinished_status", "KeyType": "HASH"},
                    {"AttributeName": "updated_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        "BillingMode": "PAY_PER_REQUEST",
        # The outbox reads every change of a job, as it was and as it is.
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }


class Item(Model):
    """What every item has: its key, and which kind of item it is."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()


class JobItem(Item, discriminator=JOB_KIND):
    owner = UnicodeAttribute()  # the key of jobs-by-owner
    owner_status = UnicodeAttribute()  # the key of jobs-by-owner-status: "<owner>#<status>"
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    blueprint_format = UnicodeAttribute()
    blueprint_hash = UnicodeAttribute()
    # The result cache's key, "<sha256>#<owner>": set once completed.
    completed_hash = UnicodeAttribute(null=True)
    # The key of unfinished-jobs: the status while pending or processing, absent once finished.
    unfinished_status = UnicodeAttribute(null=True)
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
    upload_owner = UnicodeAttribute()  # not "owner": that would put the session in an index
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


class UnfinishedItem(Item, discriminator="unfinished"):
    """An owner's unfinished jobs: added with each, taken off as each finishes."""

    jobs = NumberAttribute(default=0)


class ApiKeyItem(Item, discriminator="api_key"):
    """An API key; the same attributes under its digest and in the listing partition."""

    key_id = UnicodeAttribute()
    digest = UnicodeAttribute()
    key_owner = UnicodeAttribute()  # not "owner": that would put the key in an index
    name = UnicodeAttribute()
    scopes = UnicodeSetAttribute()
    # RFC 3339 UTC to the microsecond: a key's times come back exactly as they were given.
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)


class RateItem(Item, discriminator="rate"):
    """One window's count of an owner's requests under one policy."""

    hits = NumberAttribute(default=0)
    expires = TTLAttribute(null=True, attr_name=EXPIRES)
