"""Each owner's count of unfinished jobs (``pk = "OWNER#<owner>"``, ``sk = "UNFINISHED"``).

The count is never written alone: it is one update of the transaction that writes the job it
counts, so the job and its count land together or not at all. A job is counted when it is
added unfinished, and taken off when a save finishes it; a job added finished (the result
cache) is never counted.
"""

from __future__ import annotations

from attrs import frozen
from pynamodb.expressions.condition import Condition

from adapters.dynamodb.outcomes import TransactionCancelled, Update
from adapters.dynamodb.schema import UNFINISHED_PREFIX, UNFINISHED_SK, UnfinishedItem
from adapters.dynamodb.table import Table
from domain.quotas import unfinished_limit_reached


def _counter(owner: str) -> UnfinishedItem:
    return UnfinishedItem(pk=UNFINISHED_PREFIX + owner, sk=UNFINISHED_SK)


@frozen
class Counted:
    """One more unfinished job of ``owner``, refused past ``limit`` if there is one."""

    owner: str
    limit: int | None

    def update(self) -> Update:
        within: Condition | None = None
        if self.limit is not None:
            within = UnfinishedItem.jobs < self.limit
            if self.limit > 0:  # a limit of 0 refuses even the first job
                within |= UnfinishedItem.jobs.does_not_exist()
        actions = [UnfinishedItem.jobs.add(1), UnfinishedItem.kind.set(UnfinishedItem)]
        return _counter(self.owner), actions, within

    def raise_if_refused(self, cancelled: TransactionCancelled, position: int) -> None:
        """Raise ``RateLimited`` if the count, the ``position``-th item of the cancelled
        transaction, was refused by its limit."""
        if self.limit is not None and cancelled.condition_failed(position):
            raise unfinished_limit_reached(self.limit) from None


def released(owner: str) -> Update:
    """One unfinished job of ``owner`` fewer: it has finished."""
    actions = [UnfinishedItem.jobs.add(-1), UnfinishedItem.kind.set(UnfinishedItem)]
    return _counter(owner), actions, None


def unfinished(table: Table, owner: str) -> int:
    """The owner's count now (a strongly consistent read; 0 if none was ever counted)."""
    item = table.get_item(UnfinishedItem, UNFINISHED_PREFIX + owner, UNFINISHED_SK)
    # Never below 0, whatever was released of jobs counted before counting began.
    return 0 if item is None else max(0, int(item.jobs))
