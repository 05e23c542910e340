"""Where API keys are kept (by the digest of their secret: never the secret itself)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.api_keys import ApiKey


class ApiKeyStore(Protocol):
    def add_key(self, key: ApiKey) -> None:
        """Record a new key."""

    def find_key(self, digest: str) -> ApiKey | None:
        """The key whose secret has this SHA-256 digest, revoked or not; None if none has."""

    def list_keys(self, owner: str | None = None) -> list[ApiKey]:
        """Every key (of ``owner``, if given), oldest first."""

    def revoke_key(self, key_id: str, now: datetime) -> ApiKey:
        """Mark the key revoked at ``now`` (a revoked key stays revoked at its first time).
        Raises ``ApiKeyNotFound``."""
