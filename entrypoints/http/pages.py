"""Listing parameters and page tokens.

A page token is opaque to clients: base64url of the listing it continues (a digest of the
owner, the status filter) and the last job id given. It is bound to the owner, so one owner's
token is refused in another's listing (400 ``INVALID_PAGE_TOKEN``), and the listing is always
queried under the caller's own owner whatever a token holds: a token can never reach another
owner's jobs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from urllib.parse import parse_qs

from attrs import frozen

from domain import ids
from domain.errors import InvalidPageToken, InvalidRequest
from domain.job import JobStatus
from entrypoints.http.messages import HttpRequest

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_TOKEN_CHARS = 512
_STATUSES = ", ".join(status.value for status in JobStatus)


@frozen
class Listing:
    status: JobStatus | None
    limit: int
    after: str | None  # the job id the page starts after


def listing(request: HttpRequest, owner: str) -> Listing:
    """The listing a request asks for; 400 for an unknown parameter value."""
    query = parse_qs(request.query, keep_blank_values=True) if request.query else {}
    status_text = _single(query, "status")
    status: JobStatus | None = None
    if status_text is not None:
        try:
            status = JobStatus(status_text)
        except ValueError:
            raise InvalidRequest(f"status is one of {_STATUSES}.", field="status") from None
    limit_text = _single(query, "limit")
    limit = DEFAULT_LIMIT
    if limit_text is not None:
        if not (limit_text.isascii() and limit_text.isdigit()) or not (
            1 <= int(limit_text) <= MAX_LIMIT
        ):
            raise InvalidRequest(f"limit is a whole number from 1 to {MAX_LIMIT}.", field="limit")
        limit = int(limit_text)
    token = _single(query, "page_token")
    after = None if token is None else read_token(token, owner, status)
    return Listing(status, limit, after)


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise InvalidRequest(f"Give {name} once.", field=name)
    return values[0]


def _binding(owner: str, status: JobStatus | None) -> str:
    listing_of = f"{owner}\n{status.value if status else ''}"
    return hashlib.sha256(listing_of.encode()).hexdigest()[:32]


def page_token(owner: str, status: JobStatus | None, last_job_id: str) -> str:
    data = json.dumps({"l": _binding(owner, status), "a": last_job_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def read_token(token: str, owner: str, status: JobStatus | None) -> str:
    """The job id a token continues after, if it is a token of this owner's listing."""
    refused = InvalidPageToken(
        "The page token is not one this listing gave; start again without one.",
        field="page_token",
    )
    if len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise refused
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise refused from None
    if (
        not isinstance(data, dict)
        or data.get("l") != _binding(owner, status)
        or not ids.is_job_id(data.get("a"))
    ):
        raise refused
    return str(data["a"])
