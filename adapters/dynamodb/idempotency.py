"""Idempotency records in the jobs table (``pk = "IDEM#<scope>"``, ``sk = "IDEMPOTENCY"``).

Timestamps are stored in one fixed RFC 3339 form, so they compare correctly as strings in
condition expressions.
"""

from __future__ import annotations

from datetime import datetime

from adapters.aws import finishing
from adapters.dynamodb.outcomes import ConditionFailed
from adapters.dynamodb.schema import IDEMPOTENCY_PREFIX, IDEMPOTENCY_SK, IdempotencyItem, Item
from adapters.dynamodb.table import Table
from domain.errors import ConcurrentModification
from domain.timestamps import format_timestamp, parse_timestamp
from ports.idempotency import IdempotencyRecord, RecordState

_CLAIM_ATTEMPTS = 3


class DynamoDBIdempotencyStore:
    """The ``IdempotencyStore`` port on ``table``, the one the job store keeps jobs in."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def claim(self, record: IdempotencyRecord, now: datetime) -> IdempotencyRecord | None:
        moment = format_timestamp(now)
        free = (
            Item.pk.does_not_exist()
            | (IdempotencyItem.expires_at <= moment)
            | (
                (IdempotencyItem.state == RecordState.IN_FLIGHT.value)
                & (IdempotencyItem.lease_until <= moment)
            )
        )
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                self._table.put_item(self._to_item(record), condition=free)
                return None
            except ConditionFailed:
                pass
            current = self._get(record.scope)
            if current is not None:
                # botocore retries a write whose answer was lost; if the first attempt had
                # landed, the retry finds this very claim, which is ours.
                return None if current.token == record.token else current
            # Released between our write and our read: try to claim again.
        raise ConcurrentModification("The idempotency key is contended; try again.")

    def complete(self, record: IdempotencyRecord) -> bool:
        # Recording the outcome finishes the request: it may use the reserve.
        try:
            with finishing():
                self._table.put_item(
                    self._to_item(record), condition=IdempotencyItem.token == record.token
                )
        except ConditionFailed:
            return False
        return True

    def release(self, scope: str, token: str) -> None:
        # Letting the key go is what a request that failed still owes: it may use the reserve.
        try:
            with finishing():
                self._table.delete_item(
                    IDEMPOTENCY_PREFIX + scope,
                    IDEMPOTENCY_SK,
                    condition=IdempotencyItem.token == token,
                )
        except ConditionFailed:
            pass  # another request holds the key now: it is not ours to let go

    @staticmethod
    def _to_item(record: IdempotencyRecord) -> IdempotencyItem:
        return IdempotencyItem(
            pk=IDEMPOTENCY_PREFIX + record.scope,
            sk=IDEMPOTENCY_SK,
            token=record.token,
            state=record.state.value,
            created_at=format_timestamp(record.created_at),
            lease_until=format_timestamp(record.lease_until),
            expires_at=format_timestamp(record.expires_at),
            fingerprint=record.fingerprint,
            response=record.response,
            expires=record.expires_at,
        )

    def _get(self, scope: str) -> IdempotencyRecord | None:
        item = self._table.get_item(IdempotencyItem, IDEMPOTENCY_PREFIX + scope, IDEMPOTENCY_SK)
        if item is None:
            return None
        return IdempotencyRecord(
            scope=scope,
            token=item.token,
            state=RecordState(item.state),
            created_at=parse_timestamp(item.created_at),
            lease_until=parse_timestamp(item.lease_until),
            expires_at=parse_timestamp(item.expires_at),
            fingerprint=item.fingerprint,
            response=item.response,
        )
