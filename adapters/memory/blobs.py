"""Blobs in memory, and the local server's form uploads, signed as S3's presigned POSTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta

from domain.errors import BlobNotFound, FileTooLarge, InvalidRequest, UploadRejected
from domain.timestamps import format_timestamp, parse_timestamp
from ports.blobs import UploadForm
from ports.system import Clock

LOCAL_UPLOAD_PATH = "/local-uploads"


class MemoryBlobStore:
    """Objects in a dict; uploads by signed form, as S3's presigned POST, for the local server.

    A form carries ``key``, a base64 ``policy`` (expiry, key, exact size) and its HMAC in
    ``x-amz-signature``; ``accept_upload`` checks all three before it stores a byte. What a
    form stored is removed once the form has expired, as the bucket's lifecycle rule removes
    unclaimed uploads on AWS: nothing keeps a copy that nobody will collect.
    """

    def __init__(self, upload_secret: bytes | None = None, clock: Clock | None = None) -> None:
        self._lock = threading.Lock()
        # bytearray, not bytes: converting would copy a 50 MiB file once more.
        self._objects: dict[str, bytearray] = {}
        self._form_uploads: dict[str, datetime] = {}  # key -> when its form expires
        self._secret = upload_secret or os.urandom(32)
        self._clock = clock or _UtcClock()

    def put(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> int:
        buffer = self._gather(chunks, max_bytes)
        with self._lock:
            self._objects[key] = buffer
            self._form_uploads.pop(key, None)
        return len(buffer)

    @staticmethod
    def _gather(chunks: Iterable[bytes], max_bytes: int) -> bytearray:
        buffer = bytearray()
        for chunk in chunks:  # an exception here leaves nothing behind
            buffer += chunk
            if len(buffer) > max_bytes:
                raise FileTooLarge(
                    f"The object is larger than {max_bytes} bytes.", max_bytes=max_bytes
                )
        return buffer

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise ValueError("start and length must not be negative")
        with self._lock:
            try:
                data = self._objects[key]
            except KeyError:
                raise BlobNotFound("No object under this key.", key=key) from None
            return bytes(data[start : start + length])

    def size(self, key: str) -> int | None:
        with self._lock:
            data = self._objects.get(key)
            return None if data is None else len(data)

    def stream(self, key: str, chunk_bytes: int) -> Iterator[bytes]:
        with self._lock:
            data = self._objects.get(key)
        if data is None:
            raise BlobNotFound("No object under this key.", key=key)
        view = memoryview(data)
        for start in range(0, len(view), chunk_bytes):
            yield bytes(view[start : start + chunk_bytes])

    def copy(self, source: str, target: str) -> None:
        with self._lock:
            data = self._objects.get(source)
            if data is None:
                raise BlobNotFound("No object under this key.", key=source)
            # Objects are never changed in place, so the copy can share the buffer.
            self._objects[target] = data
            self._form_uploads.pop(target, None)

    def presign_upload(self, key: str, size_bytes: int, expires_in_seconds: int) -> UploadForm:
        now = self._clock.now()
        self._collect(now)
        policy = {
            "expiration": format_timestamp(now + timedelta(seconds=expires_in_seconds)),
            "conditions": [{"key": key}, ["content-length-range", size_bytes, size_bytes]],
        }
        encoded = base64.b64encode(json.dumps(policy).encode()).decode()
        return UploadForm(
            LOCAL_UPLOAD_PATH,
            {"key": key, "policy": encoded, "x-amz-signature": _sign(self._secret, encoded)},
        )

    def check_form(self, fields: Mapping[str, str]) -> None:
        self._policy(fields, self._clock.now())

    def _policy(self, fields: Mapping[str, str], now: datetime) -> tuple[str, int, int, datetime]:
        """The form's key, size range and expiry, if its signature, expiry and key hold."""
        encoded = fields.get("policy", "")
        if not hmac.compare_digest(_sign(self._secret, encoded), fields.get("x-amz-signature", "")):
            raise UploadRejected("The upload form's signature does not match its policy.")
        policy = json.loads(base64.b64decode(encoded))
        expires = parse_timestamp(policy["expiration"])
        if now >= expires:
            raise UploadRejected("The upload form has expired; open a new upload session.")
        key = policy["conditions"][0]["key"]
        if fields.get("key") != key:
            raise UploadRejected("The form's key is not the one its policy allows.")
        _, low, high = policy["conditions"][1]
        return key, low, high, expires

    def accept_upload(self, fields: Mapping[str, str], chunks: Iterable[bytes]) -> int:
        """Store a form upload after checking its policy; what S3 does with a presigned POST."""
        now = self._clock.now()
        self._collect(now)
        key, low, high, expires = self._policy(fields, now)
        buffer = self._gather(chunks, high)
        if len(buffer) < low:
            raise InvalidRequest(
                f"The file must be {low} bytes, the size declared for the upload.", field="file"
            )
        with self._lock:
            self._objects[key] = buffer
            self._form_uploads[key] = expires
        return len(buffer)

    def _collect(self, now: datetime) -> None:
        """Remove what expired forms stored: an upload that became a job was copied away."""
        with self._lock:
            for key in [key for key, expires in self._form_uploads.items() if expires <= now]:
                del self._form_uploads[key]
                self._objects.pop(key, None)

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)
            self._form_uploads.pop(key, None)

    def ping(self) -> None:
        return None

    def keys(self) -> list[str]:
        """Every stored key; lets tests and the local server see what is kept."""
        with self._lock:
            return sorted(self._objects)


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _sign(secret: bytes, policy: str) -> str:
    return hmac.new(secret, policy.encode(), hashlib.sha256).hexdigest()
