"""Upload sessions: a blueprint too large for an API request goes straight to storage.

The client opens a session (declaring format and size), sends the file to the storage URL it
is given, then creates the job from the session. A session is single-use and short-lived.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from attrs import evolve, field, frozen

from domain import ids
from domain.blueprint import MAX_BLUEPRINT_BYTES, BlueprintFormat, format_from_name
from domain.errors import FileTooLarge, InvalidRequest
from domain.principals import is_owner
from domain.timestamps import to_ms

UPLOAD_TTL = timedelta(minutes=15)


def upload_key(upload_id: str) -> str:
    """Server-generated, like every key: where the client's upload lands."""
    return f"uploads/{upload_id}/blueprint"


_UPLOAD_KEY = re.compile(rf"uploads/({ids.UPLOAD_ID.pattern})/blueprint")


def upload_id_of_key(key: str) -> str | None:
    """The session an upload key belongs to, if ``key`` is one."""
    found = _UPLOAD_KEY.fullmatch(key)
    return found.group(1) if found else None


def parse_declared_size(size_bytes: Any) -> int:
    if isinstance(size_bytes, float) and size_bytes.is_integer():
        size_bytes = int(size_bytes)
    if isinstance(size_bytes, bool) or not isinstance(size_bytes, int) or size_bytes < 1:
        raise InvalidRequest("size_bytes must be a positive integer.", field="size_bytes")
    if size_bytes > MAX_BLUEPRINT_BYTES:
        raise FileTooLarge(
            f"A blueprint may be at most {MAX_BLUEPRINT_BYTES} bytes.",
            max_bytes=MAX_BLUEPRINT_BYTES,
        )
    return size_bytes


@frozen
class UploadSession:
    upload_id: str = field()
    owner: str = field()  # the owner of the job it makes
    key: str
    format: BlueprintFormat
    size_bytes: int
    created_at: datetime
    expires_at: datetime
    job_id: str | None = None

    @upload_id.validator
    def _check_id(self, _: object, value: str) -> None:
        if not ids.is_upload_id(value):
            raise ValueError(f"not an upload id: {value!r}")

    @owner.validator
    def _check_owner(self, _: object, value: str) -> None:
        if not is_owner(value):
            raise ValueError("an owner id is 1..128 visible ASCII characters")

    @classmethod
    def open(
        cls, upload_id: str, owner: str, format_name: Any, size_bytes: Any, now: datetime
    ) -> UploadSession:
        fmt = format_from_name(format_name)
        size = parse_declared_size(size_bytes)
        moment = to_ms(now)
        return cls(upload_id, owner, upload_key(upload_id), fmt, size, moment, moment + UPLOAD_TTL)

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def used_by(self, job_id: str) -> UploadSession:
        return evolve(self, job_id=job_id)
