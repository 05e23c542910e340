"""Blueprint rules: format by file signature, the size limit, SHA-256, all on a stream.

A blueprint of up to 50 MiB arrives in chunks; ``BlueprintInspector`` looks at each chunk once
(size, hash, the leading bytes) so no caller ever needs the whole file in memory.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Iterator

from attrs import frozen

from domain.errors import FileTooLarge, InvalidFileFormat, InvalidRequest

MAX_BLUEPRINT_BYTES = 52_428_800  # 50 MiB


class BlueprintFormat(enum.StrEnum):
    PNG = "png"
    JPG = "jpg"
    PDF = "pdf"

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self]

    @property
    def signature(self) -> bytes:
        return _SIGNATURES[self]


_SIGNATURES = {
    BlueprintFormat.PNG: b"\x89PNG\r\n\x1a\n",
    BlueprintFormat.JPG: b"\xff\xd8\xff",
    BlueprintFormat.PDF: b"%PDF-",
}
_CONTENT_TYPES = {
    BlueprintFormat.PNG: "image/png",
    BlueprintFormat.JPG: "image/jpeg",
    BlueprintFormat.PDF: "application/pdf",
}
_BY_CONTENT_TYPE = {content_type: fmt for fmt, content_type in _CONTENT_TYPES.items()}
_BY_NAME = {
    "png": BlueprintFormat.PNG,
    "jpg": BlueprintFormat.JPG,
    "jpeg": BlueprintFormat.JPG,
    "pdf": BlueprintFormat.PDF,
}
SIGNATURE_BYTES = max(len(sig) for sig in _SIGNATURES.values())
SUPPORTED_FORMAT_NAMES = tuple(_BY_NAME)
SUPPORTED_CONTENT_TYPES = tuple(_BY_CONTENT_TYPE)


def detect_format(head: bytes) -> BlueprintFormat | None:
    """The format whose signature ``head`` starts with, or None. Never raises."""
    for fmt, signature in _SIGNATURES.items():
        if head.startswith(signature):
            return fmt
    return None


def format_from_name(name: object) -> BlueprintFormat:
    """``png``, ``jpg``/``jpeg`` (normalised to ``jpg``) or ``pdf``, case-insensitive."""
    if isinstance(name, str) and name.lower() in _BY_NAME:
        return _BY_NAME[name.lower()]
    raise InvalidRequest(
        "format must be one of png, jpg, jpeg, pdf.",
        field="format",
    )


def format_from_content_type(content_type: str) -> BlueprintFormat | None:
    """The format a media type names (parameters ignored), or None if it names none."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return _BY_CONTENT_TYPE.get(media_type)


@frozen
class BlueprintFacts:
    """What the service learnt from a blueprint's bytes."""

    format: BlueprintFormat
    sha256: str
    size_bytes: int


class BlueprintInspector:
    """Consumes a blueprint chunk by chunk and rejects it as early as the bytes allow."""

    def __init__(
        self,
        declared: BlueprintFormat | None = None,
        max_bytes: int = MAX_BLUEPRINT_BYTES,
    ) -> None:
        self._declared = declared
        self._max_bytes = max_bytes
        self._sha256 = hashlib.sha256()
        self._head = b""
        self._format: BlueprintFormat | None = None
        self.size_bytes = 0

    @property
    def format(self) -> BlueprintFormat | None:
        """The detected format, once enough leading bytes have been seen."""
        return self._format

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size_bytes += len(chunk)
        if self.size_bytes > self._max_bytes:
            raise FileTooLarge(
                f"The blueprint is larger than {self._max_bytes} bytes.",
                max_bytes=self._max_bytes,
            )
        if self._format is None and len(self._head) < SIGNATURE_BYTES:
            self._head += chunk[: SIGNATURE_BYTES - len(self._head)]
            if len(self._head) == SIGNATURE_BYTES:
                self._decide()
        self._sha256.update(chunk)

    def finish(self) -> BlueprintFacts:
        if self.size_bytes == 0:
            raise InvalidRequest("The blueprint is empty.", field="blueprint")
        if self._format is None:
            self._decide()
        assert self._format is not None
        return BlueprintFacts(self._format, self._sha256.hexdigest(), self.size_bytes)

    def _decide(self) -> None:
        self._format = check_signature(self._head, self._declared)


def check_signature(head: bytes, declared: BlueprintFormat | None = None) -> BlueprintFormat:
    """The format ``head`` starts with; ``InvalidFileFormat`` if none, or not ``declared``."""
    detected = detect_format(head)
    declared_name = declared.value if declared else None
    if detected is None:
        raise InvalidFileFormat(
            "The file is not a PNG, JPEG or PDF blueprint.",
            detected=None,
            declared=declared_name,
        )
    if declared is not None and declared is not detected:
        raise InvalidFileFormat(
            f"The file is a {detected.value.upper()}, not the declared {declared.value.upper()}.",
            detected=detected.value,
            declared=declared_name,
        )
    return detected


def inspected(chunks: Iterable[bytes], inspector: BlueprintInspector) -> Iterator[bytes]:
    """Pass ``chunks`` through, feeding each to ``inspector`` first; checks the end too."""
    for chunk in chunks:
        inspector.feed(chunk)
        if chunk:
            yield chunk
    inspector.finish()


def inspect(chunks: Iterable[bytes], declared: BlueprintFormat | None = None) -> BlueprintFacts:
    inspector = BlueprintInspector(declared)
    for chunk in chunks:
        inspector.feed(chunk)
    return inspector.finish()
