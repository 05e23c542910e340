"""Identifiers: job, upload and feedback ids (prefixed lowercase ULIDs) and request ids.

Every generator takes the instant and the random bytes as arguments, so the domain never reads
a clock or the OS entropy pool itself.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TypeGuard

# Crockford's base32, lowercase: no i, l, o, u.
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_ULID = "[0-9a-hjkmnp-tv-z]{26}"
ULID_RANDOM_BYTES = 10
REQUEST_RANDOM_BYTES = 12

JOB_ID = re.compile(rf"job_{_ULID}")
UPLOAD_ID = re.compile(rf"upl_{_ULID}")
FEEDBACK_ID = re.compile(rf"fb_{_ULID}")
REQUEST_ID = re.compile(r"req_\d{8}_\d{6}_[a-z0-9]{12}")
CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
API_VERSION = re.compile(r"v[1-9]\d{0,2}")

# Patterns are used with fullmatch: "$" would accept a trailing newline.
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_BYTE_TO_BASE36 = bytes(ord(_BASE36[b % 36]) for b in range(256))


def ulid(now: datetime, random_bytes: bytes) -> str:
    """A 26-character lowercase ULID: 48 bits of Unix milliseconds, then 80 random bits."""
    if len(random_bytes) != ULID_RANDOM_BYTES:
        raise ValueError(f"a ULID needs {ULID_RANDOM_BYTES} random bytes")
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    value = (millis << 80) | int.from_bytes(random_bytes, "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_job_id(now: datetime, random_bytes: bytes) -> str:
    return "job_" + ulid(now, random_bytes)


def new_upload_id(now: datetime, random_bytes: bytes) -> str:
    return "upl_" + ulid(now, random_bytes)


def new_feedback_id(now: datetime, random_bytes: bytes) -> str:
    return "fb_" + ulid(now, random_bytes)


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


# How much of a client's invalid id or path an answer or a log line repeats.
ECHO_CHARS = 64


def echo(value: str) -> str:
    """What of a client's invalid id, path or name may be repeated back: a short prefix."""
    return value if len(value) <= ECHO_CHARS else value[:ECHO_CHARS] + "..."


def is_job_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and JOB_ID.fullmatch(value) is not None


def is_upload_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and UPLOAD_ID.fullmatch(value) is not None


def is_request_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and REQUEST_ID.fullmatch(value) is not None


def is_correlation_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and CORRELATION_ID.fullmatch(value) is not None
