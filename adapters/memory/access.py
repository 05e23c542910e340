"""API keys and quota counters in memory."""

from __future__ import annotations

import threading
from datetime import datetime

from domain.api_keys import ApiKey
from domain.errors import ApiKeyNotFound
from ports.system import Clock


class MemoryApiKeyStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_digest: dict[str, ApiKey] = {}

    def add_key(self, key: ApiKey) -> None:
        with self._lock:
            self._by_digest[key.digest] = key

    def find_key(self, digest: str) -> ApiKey | None:
        with self._lock:
            return self._by_digest.get(digest)

    def list_keys(self, owner: str | None = None) -> list[ApiKey]:
        with self._lock:
            keys = [k for k in self._by_digest.values() if owner is None or k.owner == owner]
        return sorted(keys, key=lambda key: key.key_id)

    def revoke_key(self, key_id: str, now: datetime) -> ApiKey:
        with self._lock:
            for digest, key in self._by_digest.items():
                if key.key_id == key_id:
                    revoked = key.revoked(now)
                    self._by_digest[digest] = revoked
                    return revoked
        raise ApiKeyNotFound("No API key has this id.", key_id=key_id)


class MemoryRateCounter:
    """Counters under one lock; those past their expiry are dropped as new ones come."""

    def __init__(self, clock: Clock) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._counts: dict[str, tuple[int, datetime]] = {}

    def hit(self, counter: str, quota: int, expires_at: datetime) -> int | None:
        with self._lock:
            count, _ = self._counts.get(counter, (0, expires_at))
            if count >= quota:
                return None
            if counter not in self._counts:
                self._collect()
            self._counts[counter] = (count + 1, expires_at)
            return count + 1

    def _collect(self) -> None:
        now = self._clock.now()
        for name in [name for name, (_, expires) in self._counts.items() if expires <= now]:
            del self._counts[name]
