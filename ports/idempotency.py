"""Where idempotency records are kept, and what a record is.

A record is first *in flight* (claimed by one request, identified by its token) and then
*completed* with the request's fingerprint and the response to replay. It stops blocking
after its lease if its request never finishes (a crash), and lapses entirely after 24 hours.
The response is opaque here: the HTTP edge encodes and decodes it.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Protocol

from attrs import evolve, frozen

RECORD_TTL = timedelta(hours=24)
IN_FLIGHT_LEASE = timedelta(seconds=60)


class RecordState(enum.StrEnum):
    IN_FLIGHT = "in_flight"
    COMPLETED = "completed"


@frozen
class IdempotencyRecord:
    scope: str  # a digest of the route, the API version and the client's key
    token: str  # which request holds the claim
    state: RecordState
    created_at: datetime
    lease_until: datetime
    expires_at: datetime
    fingerprint: str | None = None
    response: str | None = None  # opaque to the store: the HTTP layer's encoding

    @classmethod
    def claim(cls, scope: str, token: str, now: datetime) -> IdempotencyRecord:
        return cls(
            scope=scope,
            token=token,
            state=RecordState.IN_FLIGHT,
            created_at=now,
            lease_until=now + IN_FLIGHT_LEASE,
            expires_at=now + RECORD_TTL,
        )

    def blocks(self, now: datetime) -> bool:
        """Whether this record still stands in the way of a new claim."""
        if now >= self.expires_at:
            return False
        return self.state is RecordState.COMPLETED or now < self.lease_until

    def completed(self, fingerprint: str, response: str) -> IdempotencyRecord:
        return evolve(self, state=RecordState.COMPLETED, fingerprint=fingerprint, response=response)


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
