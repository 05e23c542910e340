"""Feedback on a finished job: a rating of 1..5 and an optional comment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import frozen

from domain import ids
from domain.errors import InvalidRequest
from domain.timestamps import to_ms

MAX_COMMENT_CHARS = 2000
MAX_FEEDBACK_PER_JOB = 100


@frozen
class Rating:
    """A validated rating and comment, before it is attached to a job."""

    rating: int
    comment: str | None

    @classmethod
    def parse(cls, rating: Any, comment: Any = None) -> Rating:
        # JSON has one number type: 3.0 is the integer 3 (as JSON Schema's "integer" says).
        if isinstance(rating, float) and rating.is_integer():
            rating = int(rating)
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise InvalidRequest("rating must be an integer from 1 to 5.", field="rating")
        if comment is not None and not isinstance(comment, str):
            raise InvalidRequest("comment must be a string.", field="comment")
        if comment is not None and not _is_text(comment):
            raise InvalidRequest("comment must be Unicode text.", field="comment")
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise InvalidRequest(
                f"comment must be at most {MAX_COMMENT_CHARS} characters.", field="comment"
            )
        return cls(rating, comment)


def _is_text(value: str) -> bool:
    """No lone surrogate (which JSON can carry and no store can keep)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@frozen
class Feedback:
    feedback_id: str
    job_id: str
    rating: int
    comment: str | None
    created_at: datetime

    def __attrs_post_init__(self) -> None:
        if not ids.FEEDBACK_ID.fullmatch(self.feedback_id):
            raise ValueError(f"not a feedback id: {self.feedback_id!r}")
        if not ids.is_job_id(self.job_id):
            raise ValueError(f"not a job id: {self.job_id!r}")
        Rating.parse(self.rating, self.comment)

    @classmethod
    def create(cls, feedback_id: str, job_id: str, rating: Rating, now: datetime) -> Feedback:
        return cls(feedback_id, job_id, rating.rating, rating.comment, to_ms(now))
