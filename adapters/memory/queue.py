"""The pipeline's queue in memory, for the local server: in-process, drained by the local
worker (``entrypoints.local_pipeline``)."""

from __future__ import annotations

import queue

from domain.pipeline import JobMessage


class MemoryPipelineQueue:
    def __init__(self) -> None:
        self._queue: queue.Queue[JobMessage] = queue.Queue()

    def send(self, message: JobMessage) -> None:
        self._queue.put(message)

    def receive(self, timeout: float | None = None) -> JobMessage | None:
        """The next message, waiting up to ``timeout`` seconds; None if none came."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def pending(self) -> int:
        return self._queue.qsize()
