from __future__ import annotations

import hashlib

import pytest

from domain.blueprint import (
    MAX_BLUEPRINT_BYTES,
    BlueprintFormat,
    BlueprintInspector,
    detect_format,
    format_from_content_type,
    format_from_name,
    inspect,
    inspected,
)
from domain.errors import FileTooLarge, InvalidFileFormat, InvalidRequest
from tests.blueprints import SAMPLES, chunked, jpeg, pdf, png


@pytest.mark.parametrize(("fmt", "data"), SAMPLES.items())
def test_each_format_is_detected_by_its_signature(fmt: BlueprintFormat, data: bytes) -> None:
    assert detect_format(data) is fmt
    facts = inspect([data])
    assert facts.format is fmt
    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    assert facts.size_bytes == len(data)


def test_text_renamed_to_png_is_refused() -> None:
    with pytest.raises(InvalidFileFormat) as caught:
        inspect([b"just some text, not a picture"], declared=BlueprintFormat.PNG)
    assert caught.value.details == {"detected": None, "declared": "png"}


def test_truncated_png_signature_is_refused() -> None:
    with pytest.raises(InvalidFileFormat):
        inspect([b"\x89PNG\r\n"])


def test_pdf_declared_as_jpg_is_refused_with_both_formats() -> None:
    with pytest.raises(InvalidFileFormat) as caught:
        inspect([pdf()], declared=BlueprintFormat.JPG)
    assert caught.value.details == {"detected": "pdf", "declared": "jpg"}


def test_signature_split_over_many_chunks_is_found() -> None:
    assert inspect(chunked(png(), 1)).format is BlueprintFormat.PNG


def test_empty_blueprint_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest) as caught:
        inspect([b"", b""])
    assert caught.value.details == {"field": "blueprint"}


def test_signature_is_checked_before_the_stream_ends() -> None:
    inspector = BlueprintInspector()
    with pytest.raises(InvalidFileFormat):
        inspector.feed(b"GIF89a-not-accepted")


def test_limit_is_enforced_while_streaming() -> None:
    inspector = BlueprintInspector(max_bytes=10)
    inspector.feed(jpeg()[:10])
    with pytest.raises(FileTooLarge):
        inspector.feed(b"x")


def test_exactly_the_real_limit_is_accepted_and_one_more_byte_is_not() -> None:
    block = b"%PDF-" + b"\x00" * (1024 * 1024 - 5)
    body = [block] + [b"\x00" * (1024 * 1024)] * 49
    assert inspect(body).size_bytes == MAX_BLUEPRINT_BYTES
    with pytest.raises(FileTooLarge):
        inspect([*body, b"\x00"])


def test_inspected_passes_chunks_through_and_checks_the_end() -> None:
    inspector = BlueprintInspector()
    assert b"".join(inspected(chunked(pdf(), 4), inspector)) == pdf()
    assert inspector.format is BlueprintFormat.PDF
    with pytest.raises(InvalidRequest):
        list(inspected([], BlueprintInspector()))


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("png", BlueprintFormat.PNG),
        ("JPEG", BlueprintFormat.JPG),
        ("jpg", BlueprintFormat.JPG),
        ("pdf", BlueprintFormat.PDF),
    ],
)
def test_format_names_normalise(name: str, fmt: BlueprintFormat) -> None:
    assert format_from_name(name) is fmt


@pytest.mark.parametrize("name", ["gif", "", None, 3])
def test_unknown_format_names_are_invalid_requests(name: object) -> None:
    with pytest.raises(InvalidRequest):
        format_from_name(name)


def test_content_types() -> None:
    assert format_from_content_type("image/png") is BlueprintFormat.PNG
    assert format_from_content_type("Image/JPEG; charset=binary") is BlueprintFormat.JPG
    assert format_from_content_type("application/pdf") is BlueprintFormat.PDF
    assert format_from_content_type("image/gif") is None
    assert BlueprintFormat.JPG.content_type == "image/jpeg"
