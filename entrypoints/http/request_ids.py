"""Request ids, made for every request, and the correlation ids clients send.

The patterns are the model's (a job records both ids); making and reading them is the edge's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeGuard

from domain.ids import CORRELATION_ID

REQUEST_RANDOM_BYTES = 12
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_BYTE_TO_BASE36 = bytes(ord(_BASE36[b % 36]) for b in range(256))


def new_request_id(now: datetime, random_bytes: bytes) -> str:
    """``req_YYYYMMDD_HHMMSS_`` and one base-36 character per random byte.

    Every request gets one, so it is built with one C call (``bytes.translate``); a byte taken
    modulo 36 makes four characters 8/7 as likely as the rest: about 61.9 random bits in all.
    """
    if len(random_bytes) != REQUEST_RANDOM_BYTES:
        raise ValueError(f"a request id needs {REQUEST_RANDOM_BYTES} random bytes")
    t = now.astimezone(UTC)
    return (
        f"req_{t.year:04d}{t.month:02d}{t.day:02d}_{t.hour:02d}{t.minute:02d}{t.second:02d}_"
        + random_bytes.translate(_BYTE_TO_BASE36).decode("ascii")
    )


def is_correlation_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and CORRELATION_ID.fullmatch(value) is not None
