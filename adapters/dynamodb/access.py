"""API keys and rate counters in the jobs table.

An API key is kept twice, both copies written and changed in one transaction: under the
digest of its secret (``pk = "KEY#<digest>"``, ``sk = "KEY"``), which authentication reads,
and in the partition of every key (``pk = "KEYS"``, ``sk`` = the key id), which a listing
queries (key ids are ULIDs: oldest first) and a revocation finds the key's digest in. Keys are
few and made by operators, so one partition holds them all.

A rate counter (``pk = "RATE#<counter>"``, ``sk = "RATE"``) is one conditional ``UpdateItem``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from adapters.dynamodb.outcomes import (
    TRANSACTION_ATTEMPTS,
    ConditionFailed,
    TransactionCancelled,
    pause_after_conflict,
)
from adapters.dynamodb.schema import (
    KEY_PREFIX,
    KEY_SK,
    KEYS_PK,
    RATE_PREFIX,
    RATE_SK,
    ApiKeyItem,
    Item,
    RateItem,
)
from adapters.dynamodb.table import Table
from domain.api_keys import ApiKey
from domain.errors import ApiKeyNotFound, ConcurrentModification

_INSTANT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _format(moment: datetime) -> str:
    """RFC 3339 UTC to the microsecond: a key's times read back exactly as they were given."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime(_INSTANT)


def _parse(text: str) -> datetime:
    return datetime.strptime(text, _INSTANT).replace(tzinfo=UTC)


class DynamoDBApiKeyStore:
    """The ``ApiKeyStore`` port on ``table``, the one the job store keeps jobs in."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def add_key(self, key: ApiKey) -> None:
        copies = [
            (self._to_item(key, KEY_PREFIX + key.digest, KEY_SK), Item.pk.does_not_exist()),
            (self._to_item(key, KEYS_PK, key.key_id), Item.pk.does_not_exist()),
        ]
        try:
            # The key's id as the token: a retry of this transaction after it landed (its
            # answer lost) is answered as done.
            self._table.transact_write(key.key_id, puts=copies)
        except TransactionCancelled as cancelled:
            if not cancelled.any_condition_failed:
                raise
            stored = self.find_key(key.digest)
            if stored is None or stored.key_id != key.key_id:
                raise ValueError("An API key with this id or digest exists.") from None
            # This very key: an earlier attempt landed.

    def find_key(self, digest: str) -> ApiKey | None:
        item = self._table.get_item(ApiKeyItem, KEY_PREFIX + digest, KEY_SK)
        return None if item is None else self._to_key(item)

    def list_keys(self, owner: str | None = None) -> list[ApiKey]:
        """A query of the keys' partition (strongly consistent), in key id order."""
        keys = [self._to_key(item) for item in self._table.query(ApiKeyItem, KEYS_PK)]
        return [key for key in keys if owner is None or key.owner == owner]

    def revoke_key(self, key_id: str, now: datetime) -> ApiKey:
        """Both copies at once; each keeps the time it was first revoked at."""
        listed = self._table.get_item(ApiKeyItem, KEYS_PK, key_id)
        if listed is None:
            raise ApiKeyNotFound("No API key has this id.", key_id=key_id)
        first = ApiKeyItem.revoked_at.set(ApiKeyItem.revoked_at | _format(now))
        updates = [
            (ApiKeyItem(pk=pk, sk=sk), [first], Item.pk.exists())
            for pk, sk in ((KEYS_PK, key_id), (KEY_PREFIX + listed.digest, KEY_SK))
        ]
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                # Setting a time only where none is makes a repeat harmless: any token will do.
                self._table.transact_write(secrets.token_hex(16), updates=updates)
                break
            except TransactionCancelled as cancelled:
                if cancelled.any_condition_failed:
                    raise ApiKeyNotFound("No API key has this id.", key_id=key_id) from None
                if not cancelled.conflicted:
                    raise
                pause_after_conflict(attempt)
        else:
            raise ConcurrentModification(
                "This API key is being changed concurrently; try again.", key_id=key_id
            )
        revoked = self.find_key(listed.digest)
        if revoked is None:  # keys are never deleted
            raise ApiKeyNotFound("No API key has this id.", key_id=key_id)
        return revoked

    @staticmethod
    def _to_item(key: ApiKey, pk: str, sk: str) -> ApiKeyItem:
        return ApiKeyItem(
            pk=pk,
            sk=sk,
            key_id=key.key_id,
            digest=key.digest,
            key_owner=key.owner,
            name=key.name,
            scopes=set(key.scopes),
            created_at=_format(key.created_at),
            revoked_at=None if key.revoked_at is None else _format(key.revoked_at),
        )

    @staticmethod
    def _to_key(item: ApiKeyItem) -> ApiKey:
        return ApiKey(
            key_id=item.key_id,
            digest=item.digest,
            owner=item.key_owner,
            name=item.name,
            scopes=frozenset(item.scopes),
            created_at=_parse(item.created_at),
            revoked_at=None if item.revoked_at is None else _parse(item.revoked_at),
        )


class DynamoDBRateCounter:
    """The ``RateCounter`` port on ``table``: one conditional ``UpdateItem`` per hit.

    A hit whose answer is lost after it was counted is counted again by botocore's retry:
    the count may then run one ahead, which refuses a request early, never lets one more
    through. The counter expires (TTL) at ``expires_at``; its name holds its window, so a
    counter DynamoDB has not deleted yet is never counted on again anyway.
    """

    def __init__(self, table: Table) -> None:
        self._table = table

    def hit(self, counter: str, quota: int, expires_at: datetime) -> int | None:
        within = RateItem.hits < quota
        if quota > 0:  # a quota of 0 refuses even the first hit
            within |= RateItem.hits.does_not_exist()
        actions = [
            RateItem.hits.add(1),
            RateItem.expires.set(expires_at),
            RateItem.kind.set(RateItem),
        ]
        try:
            changed = self._table.update_item(
                RateItem(pk=RATE_PREFIX + counter, sk=RATE_SK), actions, within
            )
        except ConditionFailed:
            return None
        return int(changed["hits"]["N"])
