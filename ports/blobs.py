"""Where blueprint files are kept."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


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

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""

    def ping(self) -> None:
        """Return if the store can serve requests; raise ``ServiceUnavailable`` if not."""
