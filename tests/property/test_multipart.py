"""The streaming form reader against arbitrary files and arbitrary read sizes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidRequest
from entrypoints.http.multipart import (
    CHUNK_BYTES,
    MAX_FIELD_BYTES,
    MAX_FIELDS,
    MAX_HEADER_BYTES,
    FormReader,
    boundary_of,
)
from tests.helpers import BOUNDARY, multipart

# Bytes that look like the start of a delimiter, to tempt a naive reader into cutting early.
TRICKY = [b"\r\n", b"\r\n--", f"\r\n--{BOUNDARY[:-3]}".encode(), b"--", b"\r\n\r\n"]


class Trickle:
    """A body that hands out at most ``step`` bytes per read, whatever is asked."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._step = step

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        piece, self._data = self._data[:n], self._data[n:]
        return piece


file_bodies = st.lists(
    st.one_of(st.binary(max_size=300), st.sampled_from(TRICKY)), max_size=12
).map(b"".join)
field_values = st.text("abcdefghijklmnopqrstuvwxyz0123456789+/=-_", max_size=80)


@given(
    file_bodies,
    st.dictionaries(st.sampled_from(["key", "policy", "x-amz-signature", "acl"]), field_values),
    st.integers(1, 97),
)
def test_fields_and_file_survive_any_read_sizes(
    data: bytes, fields: dict[str, str], step: int
) -> None:
    reader = FormReader(Trickle(multipart(fields, data), step), BOUNDARY.encode())
    assert reader.read_fields() == fields
    assert b"".join(reader.file_chunks()) == data


def test_boundary_from_content_type() -> None:
    assert boundary_of('multipart/form-data; boundary="abc"') == b"abc"
    assert boundary_of("multipart/form-data; charset=utf-8; boundary=xyz") == b"xyz"
    with pytest.raises(InvalidRequest):
        boundary_of("application/json")
    with pytest.raises(InvalidRequest):
        boundary_of("multipart/form-data")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"no delimiter at all",
        f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{BOUNDARY}--".encode(),
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\n\r\nunterminated'.encode(),
        f"--{BOUNDARY}\r\n".encode() + b"X" * 20_000,
    ],
)
def test_malformed_bodies_are_invalid_requests(body: bytes) -> None:
    def read_all() -> bytes:
        reader = FormReader(Trickle(body, 1000), BOUNDARY.encode())
        reader.read_fields()
        return b"".join(reader.file_chunks())

    with pytest.raises(InvalidRequest):
        read_all()


# Read sizes: a byte at a time, odd ones, the reader's own 64 KiB (what a WSGI server's stream
# gives when it has the bytes), and a whole body at once.
READ_SIZES = [1, 7, 4096, CHUNK_BYTES, 10 * CHUNK_BYTES]


@pytest.mark.parametrize("step", READ_SIZES)
def test_a_field_is_refused_one_byte_past_its_limit(step: int) -> None:
    exact = multipart({"policy": "p" * MAX_FIELD_BYTES}, b"data")
    assert FormReader(Trickle(exact, step), BOUNDARY.encode()).read_fields() == {
        "policy": "p" * MAX_FIELD_BYTES
    }
    over = multipart({"policy": "p" * (MAX_FIELD_BYTES + 1)}, b"data")
    with pytest.raises(InvalidRequest, match="too long"):
        FormReader(Trickle(over, step), BOUNDARY.encode()).read_fields()


@pytest.mark.parametrize("step", READ_SIZES)
def test_part_headers_are_refused_past_their_limit(step: int) -> None:
    def form(header_bytes: int) -> bytes:
        disposition = 'Content-Disposition: form-data; name="key"'
        padding = "X-Pad: " + "p" * (header_bytes - len(disposition) - len("\r\nX-Pad: "))
        head = f"{disposition}\r\n{padding}"
        assert len(head) == header_bytes
        return f"--{BOUNDARY}\r\n{head}\r\n\r\nv\r\n".encode() + multipart({}, b"data")

    assert FormReader(Trickle(form(MAX_HEADER_BYTES), step), BOUNDARY.encode()).read_fields() == {
        "key": "v"
    }
    with pytest.raises(InvalidRequest, match="malformed"):
        FormReader(Trickle(form(MAX_HEADER_BYTES + 1), step), BOUNDARY.encode()).read_fields()


@pytest.mark.parametrize("step", READ_SIZES)
def test_the_number_of_fields_is_limited(step: int) -> None:
    many = {f"f{i}": "v" for i in range(MAX_FIELDS)}
    assert FormReader(Trickle(multipart(many, b"d"), step), BOUNDARY.encode()).read_fields() == many
    too_many = {f"f{i}": "v" for i in range(MAX_FIELDS + 1)}
    with pytest.raises(InvalidRequest):
        FormReader(Trickle(multipart(too_many, b"d"), step), BOUNDARY.encode()).read_fields()
