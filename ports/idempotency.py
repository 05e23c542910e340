"""Where idempotency records are kept."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.idempotency import IdempotencyRecord


class IdempotencyStore(Protocol):
    def claim(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord | None:
        """Store the in-flight ``record`` unless a record of its scope still blocks at ``now``.

        Atomic. Returns None when the claim is taken, else the record in the way.
        """

    def complete(self, record: IdempotencyRecord) -> bool:
        """Replace the claim with the completed ``record`` if the claim (its token) is still
        there; False if another request has taken the scope over meanwhile."""

    def release(self, scope: str, token: str) -> None:
        """Remove the claim if it is still this token's, so the key may be used again."""
