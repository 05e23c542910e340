"""Quotas: each owner's requests of a kind per window, counted atomically by the store."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from domain.errors import RateLimited
from domain.quotas import RatePolicy, RateState
from ports.quotas import RateCounter
from ports.system import Clock


class Quotas:
    def __init__(
        self, counter: RateCounter, clock: Clock, policies: Mapping[str, RatePolicy]
    ) -> None:
        self._counter = counter
        self._clock = clock
        self.policies = dict(policies)

    def take(self, owner: str, name: str) -> RateState | None:
        """Count one request of ``owner`` against the policy ``name``: its state after this
        request, None if no such policy is configured; ``RateLimited`` past the quota."""
        policy = self.policies.get(name)
        if policy is None:
            return None
        now = self._clock.now()
        start, reset = policy.window(now)
        counter = f"{policy.name}#{policy.window_seconds}#{start}#{owner}"
        # Kept a window past its own end: a counter is never read after that.
        expires = datetime.fromtimestamp(start + 2 * policy.window_seconds, UTC)
        count = self._counter.hit(counter, policy.quota, expires)
        if count is None:
            raise RateLimited(
                f"At most {policy.quota} requests of this kind are allowed per "
                f"{policy.window_seconds} seconds; retry in {reset} seconds.",
                policy=policy.name,
                quota=policy.quota,
                retry_after=reset,
                window_seconds=policy.window_seconds,
            )
        return RateState(policy, max(0, policy.quota - count), reset)
