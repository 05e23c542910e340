"""The ApiKeyStore and RateCounter ports' promises, checked against every adapter."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import attrs
import pytest

from domain.api_keys import ApiKey, new_key_id
from domain.errors import ApiKeyNotFound
from domain.principals import JOBS_READ, JOBS_WRITE
from ports.access import ApiKeyStore
from ports.quotas import RateCounter
from tests.fakes import START, SeededEntropy
from tests.helpers import OWNER

OTHER = "owner-z"
_entropy = SeededEntropy(11)


def a_key(owner: str = OWNER, minutes: int = 0, name: str = "ci") -> ApiKey:
    """A key made ``minutes`` after START, to the microsecond (as a system clock gives)."""
    made = START + timedelta(minutes=minutes, microseconds=654_321)
    secret = _entropy.random_bytes(32)
    return ApiKey(
        key_id=new_key_id(made, _entropy.random_bytes(10)),
        digest=hashlib.sha256(secret).hexdigest(),
        owner=owner,
        name=name,
        scopes=frozenset({JOBS_READ, JOBS_WRITE}),
        created_at=made,
    )


# -- API keys --------------------------------------------------------------------------------


def test_a_key_is_found_by_its_digest_exactly_as_added(key_store: ApiKeyStore) -> None:
    key = a_key(name="Deploy bot ✓")
    read_only = attrs.evolve(a_key(OTHER), scopes=frozenset({JOBS_READ}))
    key_store.add_key(key)
    key_store.add_key(read_only)
    assert key_store.find_key(key.digest) == key
    assert key_store.find_key(read_only.digest) == read_only
    assert key_store.find_key("0" * 64) is None


def test_keys_are_listed_oldest_first_and_by_owner(key_store: ApiKeyStore) -> None:
    newest, oldest, middle = a_key(minutes=2), a_key(minutes=0), a_key(OTHER, minutes=1)
    for key in (newest, oldest, middle):
        key_store.add_key(key)
    assert key_store.list_keys() == [oldest, middle, newest]
    assert key_store.list_keys(OWNER) == [oldest, newest]
    assert key_store.list_keys(OTHER) == [middle]
    assert key_store.list_keys("owner-nobody") == []


def test_no_keys_list_empty(key_store: ApiKeyStore) -> None:
    assert key_store.list_keys() == []


def test_a_revoked_key_stays_revoked_at_its_first_time(key_store: ApiKeyStore) -> None:
    key, kept = a_key(), a_key()
    key_store.add_key(key)
    key_store.add_key(kept)
    when = START + timedelta(hours=1, microseconds=12)
    revoked = key_store.revoke_key(key.key_id, when)
    assert revoked == key.revoked(when)
    assert not revoked.active
    assert key_store.find_key(key.digest) == revoked
    assert key_store.revoke_key(key.key_id, when + timedelta(hours=1)) == revoked
    assert key_store.find_key(key.digest) == revoked
    assert key_store.list_keys() == sorted([revoked, kept], key=lambda k: k.key_id)
    assert key_store.find_key(kept.digest) == kept


def test_revoking_an_unknown_key_is_not_found(key_store: ApiKeyStore) -> None:
    key_store.add_key(a_key())
    with pytest.raises(ApiKeyNotFound):
        key_store.revoke_key(a_key().key_id, START)


# -- rate counters ---------------------------------------------------------------------------

EXPIRES = START + timedelta(minutes=2)


def test_a_counter_counts_up_to_its_quota(rate_counter: RateCounter) -> None:
    counts = [rate_counter.hit("jobs#60#0#owner-a", 3, EXPIRES) for _ in range(5)]
    assert counts == [1, 2, 3, None, None]


def test_counters_are_independent(rate_counter: RateCounter) -> None:
    assert rate_counter.hit("jobs#60#0#owner-a", 1, EXPIRES) == 1
    assert rate_counter.hit("jobs#60#0#owner-a", 1, EXPIRES) is None
    assert rate_counter.hit("jobs#60#60#owner-a", 1, EXPIRES) == 1  # the next window
    assert rate_counter.hit("jobs#60#0#owner-b", 1, EXPIRES) == 1
    assert rate_counter.hit("uploads#60#0#owner-a", 2, EXPIRES) == 1


def test_a_refused_hit_is_not_counted(rate_counter: RateCounter) -> None:
    assert rate_counter.hit("c", 2, EXPIRES) == 1
    assert rate_counter.hit("c", 1, EXPIRES) is None  # at a smaller quota: refused,
    assert rate_counter.hit("c", 2, EXPIRES) == 2  # and not counted


def test_a_quota_of_zero_refuses_the_first_hit(rate_counter: RateCounter) -> None:
    assert rate_counter.hit("c", 0, EXPIRES) is None
    assert rate_counter.hit("c", 1, EXPIRES) == 1
