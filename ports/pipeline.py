"""Where messages for the detection pipeline go."""

from __future__ import annotations

from typing import Protocol

from domain.pipeline import JobMessage


class PipelineQueue(Protocol):
    def send(self, message: JobMessage) -> None:
        """Hand ``message`` to the pipeline's queue (at least once: a message may be sent
        again, and receivers drop repeats by its ``deduplication_id``)."""
