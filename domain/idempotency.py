"""Idempotency records: what a retried request under the same ``Idempotency-Key`` gets back.

A record is first *in flight* (claimed by one request, identified by its token) and then
*completed* with the request's fingerprint and the response to replay. It stops blocking
after its lease if its request never finishes (a crash), and lapses entirely after 24 hours.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

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
