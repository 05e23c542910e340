"""Per-owner quotas: how many requests of a kind an owner may make per window, and how many
unfinished jobs it may have at once.

Rate policies count in fixed windows (the window of ``w`` seconds that contains the instant):
the counter of a window is atomic in every store, so concurrent requests across processes
never let more than ``quota`` through in one window.
"""

from __future__ import annotations

import math
from datetime import datetime

from attrs import frozen

from domain.errors import RateLimited

UNFINISHED_POLICY = "unfinished"
# When to try again after the unfinished-jobs quota refused: jobs finish at the pipeline's
# pace, which the service cannot foresee.
UNFINISHED_RETRY_SECONDS = 60


@frozen
class RatePolicy:
    name: str  # e.g. "jobs": what RateLimit-Policy calls it
    quota: int  # requests per window
    window_seconds: int

    def window(self, now: datetime) -> tuple[int, int]:
        """The window containing ``now``: its start (Unix seconds) and the whole seconds
        until it ends (at least 1)."""
        instant = now.timestamp()
        start = int(instant // self.window_seconds) * self.window_seconds
        return start, max(1, math.ceil(start + self.window_seconds - instant))


@frozen
class RateState:
    """An admitted request's view of its policy: what remains, and when the window resets."""

    policy: RatePolicy
    remaining: int
    reset_seconds: int


def unfinished_limit_reached(limit: int) -> RateLimited:
    """The refusal of a job past the owner's unfinished-jobs limit (by a store, or early)."""
    return RateLimited(
        f"An owner may have at most {limit} unfinished jobs at once; "
        "retry when some have finished.",
        policy=UNFINISHED_POLICY,
        quota=limit,
        retry_after=UNFINISHED_RETRY_SECONDS,
    )
