"""The BlobStore port's promises, checked against every adapter."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from adapters.memory import MemoryBlobStore
from domain.errors import BlobNotFound, DomainError, FileTooLarge
from ports.blobs import BlobStore, UploadForm

KEY = "blueprints/job_01jdz5k3a1b2c3d4e5f6g7h8j9/source.pdf"
DATA = b"%PDF-1.7\n" + bytes(range(256)) * 40


def test_put_returns_the_size_and_reads_back(blob_store: BlobStore) -> None:
    assert blob_store.put(KEY, [DATA[:100], DATA[100:]], max_bytes=len(DATA)) == len(DATA)
    assert blob_store.size(KEY) == len(DATA)
    assert blob_store.read_range(KEY, 0, len(DATA)) == DATA


def test_ranges(blob_store: BlobStore) -> None:
    blob_store.put(KEY, [DATA], max_bytes=len(DATA))
    assert blob_store.read_range(KEY, 0, 8) == DATA[:8]
    assert blob_store.read_range(KEY, 100, 50) == DATA[100:150]
    assert blob_store.read_range(KEY, len(DATA) - 3, 10) == DATA[-3:]


def test_more_than_max_bytes_stores_nothing(blob_store: BlobStore) -> None:
    with pytest.raises(FileTooLarge):
        blob_store.put(KEY, [DATA[:10], DATA[10:]], max_bytes=len(DATA) - 1)
    assert blob_store.size(KEY) is None


def test_a_failing_stream_stores_nothing(blob_store: BlobStore) -> None:
    def stream() -> Iterator[bytes]:
        yield DATA[:1000]
        raise OSError("client went away")

    with pytest.raises(OSError, match="went away"):
        blob_store.put(KEY, stream(), max_bytes=len(DATA))
    assert blob_store.size(KEY) is None


def test_missing_objects(blob_store: BlobStore) -> None:
    assert blob_store.size(KEY) is None
    with pytest.raises(BlobNotFound):
        blob_store.read_range(KEY, 0, 8)


def test_delete_removes_and_is_idempotent(blob_store: BlobStore) -> None:
    blob_store.put(KEY, [DATA], max_bytes=len(DATA))
    blob_store.delete(KEY)
    assert blob_store.size(KEY) is None
    blob_store.delete(KEY)


def test_ping_answers(blob_store: BlobStore) -> None:
    blob_store.ping()


def test_stream_returns_the_object_in_bounded_chunks(blob_store: BlobStore) -> None:
    blob_store.put(KEY, [DATA], max_bytes=len(DATA))
    chunks = list(blob_store.stream(KEY, 1000))
    assert b"".join(chunks) == DATA
    assert max(len(chunk) for chunk in chunks) <= 1000


def test_stream_of_a_missing_object(blob_store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        list(blob_store.stream(KEY, 1000))


def test_copy(blob_store: BlobStore) -> None:
    blob_store.put(KEY, [DATA], max_bytes=len(DATA))
    blob_store.copy(KEY, "elsewhere/copy")
    blob_store.delete(KEY)
    assert blob_store.read_range("elsewhere/copy", 0, len(DATA)) == DATA
    with pytest.raises(BlobNotFound):
        blob_store.copy(KEY, "elsewhere/again")


def _policy(fields: Mapping[str, str]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return policy


def test_an_upload_form_pins_the_key_and_the_exact_size(blob_store: BlobStore) -> None:
    form = blob_store.presign_upload("uploads/upl_x/blueprint", 70, 900)
    assert form.url
    assert form.fields["key"] == "uploads/upl_x/blueprint"
    policy = _policy(form.fields)
    conditions = policy["conditions"]
    assert ["content-length-range", 70, 70] in conditions
    assert {"key": "uploads/upl_x/blueprint"} in conditions
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert expires <= datetime.now(UTC) + timedelta(minutes=15, seconds=5)


def upload(blob_store: BlobStore, form: UploadForm, data: bytes) -> int:
    """Send ``data`` with ``form`` as a client would: to S3, or to the local server's store."""
    if isinstance(blob_store, MemoryBlobStore):
        try:
            blob_store.accept_upload(form.fields, [data])
        except DomainError as error:
            return {"FILE_TOO_LARGE": 400, "UPLOAD_REJECTED": 403}.get(error.code, 400)
        return 204
    answer = requests.post(form.url, data=dict(form.fields), files={"file": data}, timeout=30)
    return answer.status_code


def test_an_upload_form_stores_what_is_sent(blob_store: BlobStore) -> None:
    form = blob_store.presign_upload(KEY, len(DATA), 900)
    assert upload(blob_store, form, DATA) in (200, 201, 204)
    assert blob_store.read_range(KEY, 0, len(DATA)) == DATA
