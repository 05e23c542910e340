from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.system import OsEntropy, SystemClock
from domain.errors import InvalidRequest
from domain.feedback import Feedback, Rating
from domain.timestamps import format_timestamp, parse_timestamp, to_ms
from entrypoints.logs import _timestamp as log_timestamp
from tests.fakes import START

JOB = "job_01jdz5k3a1b2c3d4e5f6g7h8j9"
FB = "fb_01jdz5k3a1b2c3d4e5f6g7h8j9"


def test_timestamps_format_with_milliseconds_and_z() -> None:
    assert format_timestamp(START) == "2026-11-26T03:15:00.123Z"
    assert parse_timestamp("2026-11-26T03:15:00.123Z") == START


@pytest.mark.parametrize(
    "text", ["2026-11-26T03:15:00Z", "2026-11-26T03:15:00.123+00:00", "2026-11-26T03:15:00.123Z\n"]
)
def test_other_timestamp_shapes_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_ms(datetime(2026, 1, 1))


def test_feedback_validates_its_ids_and_rating() -> None:
    rating = Rating.parse(5, None)
    assert Feedback.create(FB, JOB, rating, START).rating == 5
    with pytest.raises(ValueError, match="feedback id"):
        Feedback(JOB, JOB, 5, None, START)
    with pytest.raises(ValueError, match="job id"):
        Feedback(FB, FB, 5, None, START)


@pytest.mark.parametrize(("rating", "comment"), [(0, None), (True, None), (4.5, None), (3, 7)])
def test_invalid_ratings(rating: object, comment: object) -> None:
    with pytest.raises(InvalidRequest):
        Rating.parse(rating, comment)


def test_an_integral_float_rating_is_the_integer() -> None:
    assert Rating.parse(3.0) == Rating(3, None)


def test_system_clock_and_entropy() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs((datetime.now(UTC) - now).total_seconds()) < 60
    first, second = OsEntropy().random_bytes(16), OsEntropy().random_bytes(16)
    assert len(first) == 16
    assert first != second


def test_entropy_hands_out_each_byte_once() -> None:
    entropy = OsEntropy(refill_bytes=64)
    drawn = [entropy.random_bytes(12) for _ in range(40)]
    assert len(set(drawn)) == 40
    assert all(len(piece) == 12 for piece in drawn)
    assert len(entropy.random_bytes(100)) == 100  # more than a refill: straight from the OS


def test_a_forked_child_does_not_repeat_its_parents_bytes() -> None:
    import os

    entropy = OsEntropy()
    entropy.random_bytes(1)  # fill the pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write, entropy.random_bytes(16))
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 16)
    assert child != entropy.random_bytes(16)


def test_a_comment_with_a_lone_surrogate_is_refused() -> None:
    """JSON can carry one; no store can keep it (DynamoDB would answer 500)."""
    with pytest.raises(InvalidRequest) as refused:
        Rating.parse(3, "a\ud800b")
    assert refused.value.details == {"field": "comment"}
    assert Rating.parse(3, "an ordinary comment \u2028 with a separator").rating == 3


@given(st.floats(min_value=-4e9, max_value=4e9, allow_nan=False))
def test_log_timestamps_are_what_datetime_writes(created: float) -> None:
    """The log formatter caches each second's text; its lines must still say what datetime
    would, to the millisecond."""
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert log_timestamp(created) == expected[:-6] + "Z"
