"""What the stores learn from a refused write, and how they try a conflicted one again.

``Table`` raises ``ConditionFailed`` for a write whose condition failed and
``TransactionCancelled`` for a cancelled transaction; a store reads the reasons of the items it
sent, in the order ``Table.transact_write`` sends them (condition checks, puts, updates).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from adapters.dynamodb.schema import Item

TRANSACTION_ATTEMPTS = 4
# One update of a transaction: the item (its key), the actions, the condition if any.
Update = tuple[Item, Sequence[Action], Condition | None]


class ConditionFailed(Exception):
    """The write's condition did not hold: nothing was written."""


class TransactionCancelled(Exception):
    """DynamoDB cancelled a transaction; ``reasons`` has one code (or None) per item, in the
    order ``Table.transact_write`` sends them: condition checks, then puts, then updates."""

    def __init__(self, reasons: Sequence[str | None]) -> None:
        super().__init__(f"The transaction was cancelled: {list(reasons)}")
        self.reasons = tuple(reasons)

    def condition_failed(self, item: int) -> bool:
        """Whether the condition of the ``item``-th item (from 0) failed."""
        return item < len(self.reasons) and self.reasons[item] == "ConditionalCheckFailed"

    @property
    def any_condition_failed(self) -> bool:
        return "ConditionalCheckFailed" in self.reasons

    @property
    def conflicted(self) -> bool:
        """Another transaction was writing the same items: trying again may succeed."""
        return "TransactionConflict" in self.reasons


def pause_after_conflict(attempt: int) -> None:
    """Wait a little, jittered and growing, before trying a conflicted transaction again, so
    that the transactions in the way can finish (about 0.2 s in all over the attempts)."""
    time.sleep(random.uniform(0, 0.025 * 2**attempt))  # noqa: S311 - jitter, not a secret
