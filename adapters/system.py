"""The real clock and the OS entropy pool."""

from __future__ import annotations

import os
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class OsEntropy:
    def random_bytes(self, n: int) -> bytes:
        return os.urandom(n)
