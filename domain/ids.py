"""Identifiers: job, upload and feedback ids (prefixed lowercase ULIDs), and the patterns of
the request and correlation ids a job records (the HTTP edge makes and reads those).

Every generator takes the instant and the random bytes as arguments, so the domain never reads
a clock or the OS entropy pool itself.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TypeGuard

# Crockford's base32, lowercase: no i, l, o, u.
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_ULID = "[0-9a-hjkmnp-tv-z]{26}"
ULID_RANDOM_BYTES = 10

JOB_ID = re.compile(rf"job_{_ULID}")
UPLOAD_ID = re.compile(rf"upl_{_ULID}")
FEEDBACK_ID = re.compile(rf"fb_{_ULID}")
REQUEST_ID = re.compile(r"req_\d{8}_\d{6}_[a-z0-9]{12}")
CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
API_VERSION = re.compile(r"v[1-9]\d{0,2}")

# Patterns are used with fullmatch: "$" would accept a trailing newline.


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
