"""A streaming reader for the ``multipart/form-data`` of a storage upload form.

It reads what S3's form upload reads: text fields first, then the part named ``file``, whose
content is streamed in chunks and never held whole. Anything after the file is ignored, as S3
ignores it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from domain.errors import InvalidRequest
from entrypoints.http.messages import Readable

CHUNK_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 32
_BOUNDARY = re.compile(r'boundary="?([^";]{1,200})"?', re.IGNORECASE)
_NAME = re.compile(r'\bname="([^"]*)"', re.IGNORECASE)


def boundary_of(content_type: str) -> bytes:
    found = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/form-data") or found is None:
        raise InvalidRequest("Send the upload as multipart/form-data.", field="Content-Type")
    return found.group(1).encode("latin-1")


class FormReader:
    def __init__(self, body: Readable, boundary: bytes) -> None:
        self._body = body
        self._delimiter = b"\r\n--" + boundary
        # The first delimiter may open the body without the leading CRLF.
        self._buffer = b"\r\n"
        self._eof = False

    def read_fields(self) -> dict[str, str]:
        """The text fields before the ``file`` part; the reader then stands at the file."""
        self._skip_past(self._delimiter)
        fields: dict[str, str] = {}
        while True:
            if self._fill(2) and self._buffer.startswith(b"--"):
                raise InvalidRequest("The form has no part named 'file'.", field="file")
            name = self._part_name()
            if name == "file":
                return fields
            if len(fields) == MAX_FIELDS:
                raise InvalidRequest(f"A form has at most {MAX_FIELDS} fields.", field="body")
            value = b"".join(self._part_content(MAX_FIELD_BYTES))
            fields[name] = value.decode("utf-8", errors="replace")

    def file_chunks(self) -> Iterator[bytes]:
        """The file's content, in chunks, up to the next delimiter."""
        yield from self._part_content(None)

    # -- internals ----------------------------------------------------------------------------

    def _read(self) -> bool:
        if self._eof:
            return False
        chunk = self._body.read(CHUNK_BYTES)
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def _fill(self, size: int) -> bool:
        while len(self._buffer) < size:
            if not self._read():
                return len(self._buffer) >= size
        return True

    def _skip_past(self, marker: bytes) -> None:
        while (index := self._buffer.find(marker)) < 0:
            self._buffer = self._buffer[-len(marker) :]
            if not self._read():
                raise InvalidRequest("The multipart body is malformed.", field="body")
        self._buffer = self._buffer[index + len(marker) :]

    def _part_name(self) -> str:
        if self._fill(2) and self._buffer.startswith(b"\r\n"):  # ends the delimiter's line
            self._buffer = self._buffer[2:]
        while (end := self._buffer.find(b"\r\n\r\n", 0, MAX_HEADER_BYTES + 4)) < 0:
            if len(self._buffer) >= MAX_HEADER_BYTES + 4 or not self._read():
                raise InvalidRequest("The multipart body is malformed.", field="body")
        headers = self._buffer[:end].decode("latin-1")
        self._buffer = self._buffer[end + 4 :]
        for line in headers.split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                found = _NAME.search(line)
                if found:
                    return found.group(1)
        raise InvalidRequest("A form part has no name.", field="body")

    def _part_content(self, limit: int | None) -> Iterator[bytes]:
        """Content up to the delimiter, which is consumed with the line ending after it.

        Every piece counts against ``limit``, the last one too, whatever size the reads
        came in."""
        keep = len(self._delimiter) - 1
        taken = 0
        while True:
            index = self._buffer.find(self._delimiter)
            if index >= 0:
                piece, self._buffer = self._buffer[:index], self._buffer[index:]
                _count(taken + len(piece), limit)
                self._skip_past(self._delimiter)
                if self._fill(2) and self._buffer.startswith(b"\r\n"):
                    self._buffer = self._buffer[2:]
                if piece:
                    yield piece
                return
            if len(self._buffer) > keep:
                piece, self._buffer = self._buffer[:-keep], self._buffer[-keep:]
                taken = _count(taken + len(piece), limit)
                yield piece
            if not self._read():
                raise InvalidRequest("The multipart body ends inside a part.", field="body")


def _count(taken: int, limit: int | None) -> int:
    if limit is not None and taken > limit:
        raise InvalidRequest("A form field is too long.", field="body")
    return taken
