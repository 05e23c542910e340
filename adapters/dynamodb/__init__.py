"""The job store and the idempotency store on one DynamoDB table, through PynamoDB.

- ``schema``: the table's keys and index, and the items it holds (PynamoDB models);
- ``table``: ``Table``, the one connection (one botocore client) to a table, with the deadline
  guard on it, and its calls in the stores' terms;
- ``jobs``: ``DynamoDBJobStore``, the job store (jobs, feedback);
- ``uploads``: the upload sessions the job store keeps;
- ``idempotency``: ``DynamoDBIdempotencyStore``.

The stores of one table share one ``Table``, given to each (see ``entrypoints.aws``).
"""

from adapters.dynamodb.idempotency import DynamoDBIdempotencyStore
from adapters.dynamodb.jobs import DynamoDBJobStore
from adapters.dynamodb.table import Table

__all__ = ["DynamoDBIdempotencyStore", "DynamoDBJobStore", "Table"]
