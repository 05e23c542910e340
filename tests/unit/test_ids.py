from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import ids
from entrypoints.http import request_ids

VALID = "01jdz5k3a1b2c3d4e5f6g7h8j9"
NOW = datetime(2026, 11, 26, 3, 15, 0, 123000, tzinfo=UTC)


def test_job_id_is_prefixed_lowercase_ulid() -> None:
    job_id = ids.new_job_id(NOW, bytes(range(10)))
    assert ids.is_job_id(job_id)
    assert len(job_id) == 30
    assert job_id == job_id.lower()


def test_ulids_sort_by_time() -> None:
    earlier = ids.ulid(NOW, b"\xff" * 10)
    later = ids.ulid(NOW + timedelta(milliseconds=1), b"\x00" * 10)
    assert earlier < later


def test_ulid_encodes_the_millisecond_timestamp() -> None:
    value = ids.ulid(NOW, b"\x00" * 10)
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    number = 0
    for char in value:
        number = number * 32 + alphabet.index(char)
    assert number >> 80 == int(NOW.timestamp() * 1000)


def test_ulid_needs_ten_random_bytes() -> None:
    with pytest.raises(ValueError, match="10 random bytes"):
        ids.ulid(NOW, b"\x00" * 12)


def test_request_id_has_the_documented_shape() -> None:
    request_id = request_ids.new_request_id(NOW, b"\x01" * 12)
    assert request_id.startswith("req_20261126_031500_")
    assert ids.is_request_id(request_id)


def test_request_id_uses_utc() -> None:
    tokyo = NOW.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert request_ids.new_request_id(tokyo, b"\x00" * 12).startswith("req_20261126_031500_")


def test_request_id_needs_nine_random_bytes() -> None:
    with pytest.raises(ValueError, match="12 random bytes"):
        request_ids.new_request_id(NOW, b"")


def test_request_ids_differ_with_their_randomness() -> None:
    assert request_ids.new_request_id(NOW, b"\x00" * 12) != request_ids.new_request_id(
        NOW, b"\x00" * 11 + b"\x01"
    )


@pytest.mark.parametrize(
    "value",
    [
        "job_" + VALID[:-1],  # too short
        "job_" + VALID + "k",  # too long
        "job_" + VALID.upper(),
        "job_" + VALID[:-1] + "i",  # 'i' is not Crockford
        "job_" + VALID + "\n",  # "$" would have let this through
        "upl_" + VALID,
        "",
        None,
        42,
    ],
)
def test_malformed_job_ids_are_refused(value: object) -> None:
    assert not ids.is_job_id(value)


def test_well_formed_job_id_is_accepted() -> None:
    assert ids.is_job_id("job_" + VALID)


@pytest.mark.parametrize("value", ["abc", "A.b_c:d-9", "x" * 128])
def test_correlation_ids_accepted(value: str) -> None:
    assert request_ids.is_correlation_id(value)


@pytest.mark.parametrize("value", ["", "x" * 129, "a b", "a\n", "é", "a/b"])
def test_correlation_ids_refused(value: str) -> None:
    assert not request_ids.is_correlation_id(value)


def test_upload_ids() -> None:
    assert ids.is_upload_id(ids.new_upload_id(NOW, b"\x00" * 10))
    assert not ids.is_upload_id(ids.new_job_id(NOW, b"\x00" * 10))
