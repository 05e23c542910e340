"""Idempotency records in memory."""

from __future__ import annotations

import threading
from datetime import datetime

from ports.idempotency import IdempotencyRecord


class MemoryIdempotencyStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, IdempotencyRecord] = {}

    def claim(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord | None:
        with self._lock:
            current = self._records.get(record.scope)
            if current is not None and current.blocks(now):
                return current
            self._records[record.scope] = record
            return None

    def complete(self, record: IdempotencyRecord) -> bool:
        with self._lock:
            current = self._records.get(record.scope)
            if current is None or current.token != record.token:
                return False
            self._records[record.scope] = record
            return True

    def release(self, scope: str, token: str) -> None:
        with self._lock:
            current = self._records.get(scope)
            if current is not None and current.token == token:
                del self._records[scope]
