"""The streaming form reader against arbitrary files and arbitrary read sizes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidRequest
from entrypoints.http.multipart import FormReader, boundary_of
from tests.http.test_uploads import BOUNDARY, multipart

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


def test_an_oversized_field_is_refused() -> None:
    body = multipart({"policy": "p" * 70_000}, b"data")
    with pytest.raises(InvalidRequest, match="too long"):
        FormReader(Trickle(body, 4096), BOUNDARY.encode()).read_fields()
