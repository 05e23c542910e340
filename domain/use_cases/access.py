"""Access: API keys made, listed and revoked, and callers authenticated by them.

A key's lookup is cached per process for at most ``KEY_CACHE_SECONDS`` (a revoked key stops
working within that time), unknown keys included, so that one bad key repeated costs one store
read a minute. Known and unknown keys are cached apart, each bounded (at ``KEY_CACHE_ENTRIES``
a cache starts afresh): a stream of made-up keys, each a read of its own, never evicts the
keys of real callers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from domain import api_keys
from domain.api_keys import ApiKey
from domain.errors import Unauthenticated
from domain.principals import Principal
from ports.access import ApiKeyStore
from ports.system import Clock, Entropy

V = TypeVar("V")
KEY_CACHE_SECONDS = 60
KEY_CACHE_ENTRIES = 4096
_UNKNOWN_KEY = "The API key is unknown or has been revoked."


class Access:
    def __init__(self, keys: ApiKeyStore, clock: Clock, entropy: Entropy) -> None:
        self._keys = keys
        self._clock = clock
        self._entropy = entropy
        self._lock = threading.Lock()
        # digest -> (until when, the key's principal); and digest -> until when, for digests
        # of no active key
        self._known: dict[str, tuple[datetime, Principal]] = {}
        self._unknown: dict[str, datetime] = {}
        self._ttl = timedelta(seconds=KEY_CACHE_SECONDS)

    def create_key(
        self, owner: str, name: str, scopes: Iterable[str], secret: str | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret: the secret is returned this once and never stored.
        ``secret`` records a key whose secret was made elsewhere (a development key)."""
        now = self._clock.now()
        if secret is None:
            secret = api_keys.new_secret(self._entropy.random_bytes(api_keys.RANDOM_BYTES))
        elif not api_keys.well_formed(secret):
            raise ValueError("an API key is bjk_ and 32 characters with a valid checksum")
        key = ApiKey(
            key_id=api_keys.new_key_id(now, self._entropy.random_bytes(10)),
            digest=api_keys.digest_of(secret),
            owner=owner,
            name=name,
            scopes=frozenset(scopes),
            created_at=now,
        )
        self._keys.add_key(key)
        return key, secret

    def list_keys(self, owner: str | None = None) -> list[ApiKey]:
        return self._keys.list_keys(owner)

    def revoke_key(self, key_id: str) -> ApiKey:
        return self._keys.revoke_key(key_id, self._clock.now())

    def authenticate_key(self, secret: str) -> Principal:
        """The principal of an active key; ``Unauthenticated`` for anything else."""
        if len(secret) != api_keys.SECRET_CHARS:
            raise Unauthenticated("The API key is malformed.")
        digest = api_keys.digest_of(secret)
        now = self._clock.now()
        known = self._known.get(digest)  # a dict read is atomic; writes take the lock
        if known is not None and known[0] > now:
            return known[1]
        unknown_until = self._unknown.get(digest)
        if unknown_until is not None and unknown_until > now:
            raise Unauthenticated(_UNKNOWN_KEY)
        # Checked in full only before a lookup: a cached digest was checked then.
        if not api_keys.well_formed(secret):
            raise Unauthenticated("The API key is malformed.")
        key = self._keys.find_key(digest)
        until = now + self._ttl
        with self._lock:
            if key is None or not key.active:
                self._known.pop(digest, None)
                _remember(self._unknown, digest, until)
                raise Unauthenticated(_UNKNOWN_KEY)
            principal = key.principal()
            self._unknown.pop(digest, None)
            _remember(self._known, digest, (until, principal))
        return principal


def _remember(cache: dict[str, V], digest: str, value: V) -> None:
    """Keep ``value``; a cache grown to ``KEY_CACHE_ENTRIES`` starts afresh first."""
    if len(cache) >= KEY_CACHE_ENTRIES:
        cache.clear()
    cache[digest] = value
