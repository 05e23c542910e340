"""The real clock and the OS entropy pool."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class OsEntropy:
    """Bytes from ``os.urandom``, drawn a few KB at a time.

    Every request takes a dozen bytes for its id; one system call per request would also let
    go of the GIL each time, which under a threaded server costs far more than the call. The
    bytes are the kernel's either way; each is handed out once.
    """

    def __init__(self, refill_bytes: int = 4096) -> None:
        self._refill = refill_bytes
        self._pool = b""
        self._lock = threading.Lock()
        # A forked child must not hand out the bytes its parent will hand out too.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._pool = b""
        self._lock = threading.Lock()

    def random_bytes(self, n: int) -> bytes:
        if n > self._refill:
            return os.urandom(n)
        with self._lock:
            if len(self._pool) < n:
                self._pool = os.urandom(self._refill)
            taken, self._pool = self._pool[:n], self._pool[n:]
        return taken
