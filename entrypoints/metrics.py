"""Application metrics in CloudWatch's Embedded Metric Format (EMF), on the lines we log.

CloudWatch Logs turns any JSON log line with an ``_aws`` block into metrics: no API call, no
client, no agent. What a request did (a job created, a result reused from the cache, an upload
opened, a request refused as invalid, a backing store failing) is counted while it is handled
and written with its access line; a request that did none of these writes no metric at all.

Metrics, all ``Count``, in the namespace ``BlueprintJobs`` with the dimension ``Service``:

- ``JobsCreated``: jobs created (inline or from an upload; idempotent replays are not counted);
- ``CacheHits``: of those, jobs completed at once from the result cache;
- ``UploadsOpened``: upload sessions opened;
- ``ValidationFailures``: requests refused as invalid (400, 413, 415, 422), also by
  ``ErrorCode`` (dimensions ``Service`` and ``ErrorCode``);
- ``StoreFaults``: requests answered 503 because DynamoDB or S3 was unavailable.

A document is JSON members ready to close a log line (``"Service":...,"JobsCreated":1,
"_aws":{...}``), encoded once per combination of counts but for the timestamp: the metrics of
a create cost it well under a microsecond.
"""

from __future__ import annotations

import json
import logging
import time

NAMESPACE = "BlueprintJobs"
JOBS_CREATED = "JobsCreated"
CACHE_HITS = "CacheHits"
UPLOADS_OPENED = "UploadsOpened"
VALIDATION_FAILURES = "ValidationFailures"
STORE_FAULTS = "StoreFaults"
# Statuses of a request refused for what it sent (not for the state of what it names).
VALIDATION_STATUSES = frozenset({400, 413, 415, 422})
_COMPACT = (",", ":")

# configure_logging keeps this logger at INFO whatever the level: metrics are not log noise.
metrics_log = logging.getLogger("blueprint_jobs.metrics")


class Counts:
    """What one request did. Nothing is allocated until something is counted."""

    __slots__ = ("error_code", "values")

    def __init__(self) -> None:
        self.values: dict[str, int] | None = None
        self.error_code: str | None = None

    def add(self, name: str) -> None:
        if self.values is None:
            self.values = {name: 1}
        else:
            self.values[name] = self.values.get(name, 0) + 1

    def job_created(self, cached: bool) -> None:
        self.add(JOBS_CREATED)
        if cached:
            self.add(CACHE_HITS)

    def refused(self, code: str, status: int) -> None:
        if status in VALIDATION_STATUSES:
            self.add(VALIDATION_FAILURES)
            self.error_code = code


class Metrics:
    """EMF documents for one service (the ``Service`` dimension's value)."""

    def __init__(self, service: str) -> None:
        self.service = service
        # Each combination of counts and error code met so far (a few dozen at most), encoded
        # but for the timestamp.
        self._encoded: dict[tuple[tuple[tuple[str, int], ...], str | None], tuple[str, str]] = {}

    def document(self, counts: Counts) -> str | None:
        """The metrics as JSON members to end a log line with; None for no metric."""
        if counts.values is None:
            return None
        key = (tuple(counts.values.items()), counts.error_code)
        encoded = self._encoded.get(key)
        if encoded is None:
            encoded = self._encoded[key] = self._encode(*key)
        return f"{encoded[0]}{int(time.time() * 1000)}{encoded[1]}"

    def _encode(self, values: tuple[tuple[str, int], ...], code: str | None) -> tuple[str, str]:
        members = {"Service": self.service, **dict(values)}
        if code is not None:
            members["ErrorCode"] = code
        head = json.dumps(members, separators=_COMPACT)[1:-1] + ',"_aws":{"Timestamp":'
        directives = _directives(tuple(name for name, _ in values), code is not None)
        return head, f',"CloudWatchMetrics":{json.dumps(directives, separators=_COMPACT)}}}'

    def write(self, counts: Counts) -> None:
        """The metrics on a line of their own, for when no access line carries them."""
        document = self.document(counts)
        if document is not None:
            metrics_log.info("metrics", extra={"emf": document})


def _directives(names: tuple[str, ...], by_code: bool) -> list[dict[str, object]]:
    directives: list[dict[str, object]] = [
        {
            "Namespace": NAMESPACE,
            "Dimensions": [["Service"]],
            "Metrics": [{"Name": name, "Unit": "Count"} for name in names],
        }
    ]
    if by_code:
        directives.append(
            {
                "Namespace": NAMESPACE,
                "Dimensions": [["Service", "ErrorCode"]],
                "Metrics": [{"Name": VALIDATION_FAILURES, "Unit": "Count"}],
            }
        )
    return directives
