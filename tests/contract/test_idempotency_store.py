"""The IdempotencyStore port's promises, checked against every adapter."""

from __future__ import annotations

import threading
from datetime import timedelta

from ports.idempotency import (
    IN_FLIGHT_LEASE,
    RECORD_TTL,
    IdempotencyRecord,
    IdempotencyStore,
    RecordState,
)
from tests.fakes import START

SCOPE = "a" * 64


def test_a_free_scope_is_claimed(idempotency_store: IdempotencyStore) -> None:
    assert idempotency_store.claim(IdempotencyRecord.claim(SCOPE, "t1", START), START) is None


def test_an_in_flight_claim_blocks_until_its_lease_ends(
    idempotency_store: IdempotencyStore,
) -> None:
    first = IdempotencyRecord.claim(SCOPE, "t1", START)
    idempotency_store.claim(first, START)
    during = START + IN_FLIGHT_LEASE - timedelta(seconds=1)
    assert idempotency_store.claim(IdempotencyRecord.claim(SCOPE, "t2", during), during) == first
    after = START + IN_FLIGHT_LEASE
    assert idempotency_store.claim(IdempotencyRecord.claim(SCOPE, "t3", after), after) is None
    # The crashed first request can no longer complete what is now the third one's.
    assert not idempotency_store.complete(first.completed("f", "r"))


def test_a_completed_record_blocks_until_it_expires(idempotency_store: IdempotencyStore) -> None:
    first = IdempotencyRecord.claim(SCOPE, "t1", START)
    idempotency_store.claim(first, START)
    done = first.completed("fingerprint", '{"status": 201}')
    assert idempotency_store.complete(done)
    later = START + RECORD_TTL - timedelta(seconds=1)
    found = idempotency_store.claim(IdempotencyRecord.claim(SCOPE, "t2", later), later)
    assert found == done
    assert found is not None
    assert found.state is RecordState.COMPLETED
    expired = START + RECORD_TTL
    assert idempotency_store.claim(IdempotencyRecord.claim(SCOPE, "t3", expired), expired) is None


def test_release_frees_only_its_own_claim(idempotency_store: IdempotencyStore) -> None:
    first = IdempotencyRecord.claim(SCOPE, "t1", START)
    idempotency_store.claim(first, START)
    idempotency_store.release(SCOPE, "someone-else")
    assert idempotency_store.claim(IdempotencyRecord.claim(SCOPE, "t2", START), START) == first
    idempotency_store.release(SCOPE, "t1")
    assert idempotency_store.claim(IdempotencyRecord.claim(SCOPE, "t3", START), START) is None


def test_scopes_are_independent(idempotency_store: IdempotencyStore) -> None:
    idempotency_store.claim(IdempotencyRecord.claim(SCOPE, "t1", START), START)
    other = IdempotencyRecord.claim("b" * 64, "t2", START)
    assert idempotency_store.claim(other, START) is None


def test_racing_claims_have_one_winner(idempotency_store: IdempotencyStore) -> None:
    outcomes: list[bool] = []
    barrier = threading.Barrier(8)

    def attempt(token: str) -> None:
        barrier.wait()
        claimed = idempotency_store.claim(IdempotencyRecord.claim(SCOPE, token, START), START)
        outcomes.append(claimed is None)

    threads = [threading.Thread(target=attempt, args=(f"t{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 7 + [True]
