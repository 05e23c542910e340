"""The BlobStore port's promises, checked against every adapter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.errors import BlobNotFound, FileTooLarge
from ports.blobs import BlobStore

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
