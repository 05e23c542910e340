"""Where quota counters are kept."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class RateCounter(Protocol):
    def hit(self, counter: str, quota: int, expires_at: datetime) -> int | None:
        """Count one more request on ``counter`` unless it has reached ``quota``: atomic, so
        concurrent hits from any number of processes never count past it.

        Returns the count after this hit, or None when the quota was already reached (the
        hit is not counted). The counter may be forgotten after ``expires_at``.
        """
