"""The job store, the idempotency store, the API key store and the rate counter on one
DynamoDB table, through PynamoDB.

- ``schema``: the table's keys and indexes, and the items it holds (PynamoDB models);
- ``table``: ``Table``, the one connection (one botocore client) to a table, with the deadline
  guard on it, and its calls in the stores' terms;
- ``outcomes``: what a refused write says (a failed condition, a cancelled transaction), and
  how a conflicted transaction is tried again;
- ``mapping``: a job and its item, both ways, and ``job_of_image``, the job a stream record's
  image holds (for the outbox that reads the table's stream);
- ``jobs``: ``DynamoDBJobStore``, the job store (jobs, their owners' counts and listings);
- ``counts``: each owner's count of unfinished jobs, written with the jobs it counts;
- ``feedback``: the feedback on jobs the job store keeps;
- ``uploads``: the upload sessions the job store keeps;
- ``idempotency``: ``DynamoDBIdempotencyStore``;
- ``access``: ``DynamoDBApiKeyStore`` and ``DynamoDBRateCounter``.

The stores of one table share one ``Table``, given to each (see ``entrypoints.aws``).
"""

from adapters.dynamodb.access import DynamoDBApiKeyStore, DynamoDBRateCounter
from adapters.dynamodb.idempotency import DynamoDBIdempotencyStore
from adapters.dynamodb.jobs import DynamoDBJobStore
from adapters.dynamodb.mapping import job_of_image
from adapters.dynamodb.table import Table

__all__ = [
    "DynamoDBApiKeyStore",
    "DynamoDBIdempotencyStore",
    "DynamoDBJobStore",
    "DynamoDBRateCounter",
    "Table",
    "job_of_image",
]
