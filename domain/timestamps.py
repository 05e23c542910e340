"""RFC 3339 UTC timestamps with millisecond precision, the only precision the API shows.

Truncating at the source keeps a Job equal to itself after a round trip through any
representation.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_RFC3339_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def to_ms(moment: datetime) -> datetime:
    """The same instant in UTC, cut to whole milliseconds."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def is_ms_utc(moment: object) -> bool:
    return (
        isinstance(moment, datetime)
        and moment.tzinfo is not None
        and moment.utcoffset() is not None
        and moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        and moment.microsecond % 1000 == 0
    )


def format_timestamp(moment: datetime) -> str:
    if moment.tzinfo is not UTC or moment.microsecond % 1000:
        moment = to_ms(moment)
    # isoformat is C code: about twice as fast as strftime on every job the API returns.
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_timestamp(text: str) -> datetime:
    if not _RFC3339_MS.fullmatch(text):
        raise ValueError(f"not an RFC 3339 UTC millisecond timestamp: {text!r}")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
