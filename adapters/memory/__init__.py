"""Thread-safe in-memory stores with exactly the semantics the ports promise.

Used by the local server and the tests; the port contract suite holds them to the same
behaviour as the DynamoDB and S3 adapters.
"""

from adapters.memory.access import MemoryApiKeyStore, MemoryRateCounter
from adapters.memory.blobs import LOCAL_UPLOAD_PATH, MemoryBlobStore
from adapters.memory.idempotency import MemoryIdempotencyStore
from adapters.memory.jobs import MemoryJobStore
from adapters.memory.queue import MemoryPipelineQueue

__all__ = [
    "LOCAL_UPLOAD_PATH",
    "MemoryApiKeyStore",
    "MemoryBlobStore",
    "MemoryIdempotencyStore",
    "MemoryJobStore",
    "MemoryPipelineQueue",
    "MemoryRateCounter",
]
