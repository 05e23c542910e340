"""Where blueprint files are kept."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol, runtime_checkable

from attrs import frozen


@frozen
class UploadForm:
    """Where and how the client sends the file: a multipart POST of ``fields`` then ``file``.

    ``url`` may be relative to the API (the local server serves its own uploads).
    """

    url: str
    fields: Mapping[str, str]


class BlobStore(Protocol):
    def put(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> int:
        """Store the concatenated ``chunks`` under ``key`` and return the size in bytes.

        All or nothing: if iterating ``chunks`` raises, or more than ``max_bytes`` arrive
        (``FileTooLarge``), nothing is stored under ``key``.
        """

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Up to ``length`` bytes from offset ``start``. Raises ``BlobNotFound``."""

    def size(self, key: str) -> int | None:
        """The stored object's size, or None if there is none."""

    def stream(self, key: str, chunk_bytes: int) -> Iterator[bytes]:
        """The object in chunks of at most ``chunk_bytes``. Raises ``BlobNotFound``."""

    def copy(self, source: str, target: str) -> None:
        """Copy an object within the store, without passing it through this process.

        Raises ``BlobNotFound`` when there is nothing under ``source``."""

    def presign_upload(self, key: str, size_bytes: int, expires_in_seconds: int) -> UploadForm:
        """A form with which a client may POST exactly ``size_bytes`` bytes to ``key``, once
        or more, until it expires. The store refuses a file of any other size."""

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""

    def ping(self) -> None:
        """Return if the store can serve requests; raise ``ServiceUnavailable`` if not."""


@runtime_checkable
class FormUploadReceiver(Protocol):
    """A blob store that takes form uploads itself (the local server's), as S3 takes its
    presigned POSTs: the store checks the form's policy before it keeps a byte."""

    def check_form(self, fields: Mapping[str, str]) -> None:
        """Raise ``UploadRejected`` unless the form is one this store signed, unexpired."""

    def accept_upload(self, fields: Mapping[str, str], chunks: Iterable[bytes]) -> int:
        """Check the form as ``check_form`` does, then keep the file it carries."""
