"""The clock and the randomness, passed in so the domain stays deterministic under test."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""


class Entropy(Protocol):
    def random_bytes(self, n: int) -> bytes:
        """``n`` unpredictable bytes."""
