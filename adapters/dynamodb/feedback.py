"""Feedback in the jobs table, for the job store: one item per entry under its job
(``sk = "FB#<created_at>#<feedback_id>"``) and a counter (``sk = "FEEDBACK_COUNT"``)."""

from __future__ import annotations

from adapters.dynamodb.outcomes import (
    TRANSACTION_ATTEMPTS,
    TransactionCancelled,
    pause_after_conflict,
)
from adapters.dynamodb.schema import (
    COUNTER_SK,
    FEEDBACK_PREFIX,
    JOB_SK,
    CounterItem,
    FeedbackItem,
    Item,
)
from adapters.dynamodb.table import Table
from domain.errors import ConcurrentModification, FeedbackLimitReached, JobNotFound
from domain.feedback import Feedback
from domain.timestamps import format_timestamp, parse_timestamp


class FeedbackEntries:
    def __init__(self, table: Table) -> None:
        self._table = table

    def add(self, feedback: Feedback, limit: int) -> None:
        """One transaction: the job exists, the counter stays within ``limit``, the entry is
        new. Conflicting transactions on the counter are retried a few times."""
        created = format_timestamp(feedback.created_at)
        entry = FeedbackItem(
            pk=feedback.job_id,
            sk=f"{FEEDBACK_PREFIX}{created}#{feedback.feedback_id}",
            feedback_id=feedback.feedback_id,
            rating=feedback.rating,
            comment=feedback.comment,
            created_at=created,
        )
        counter = CounterItem(pk=feedback.job_id, sk=COUNTER_SK)
        within_limit = (CounterItem.entries < limit) | CounterItem.entries.does_not_exist()
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                # The token makes DynamoDB take a retry of a transaction that landed as done.
                self._table.transact_write(
                    feedback.feedback_id,
                    checks=[(feedback.job_id, JOB_SK, Item.pk.exists())],
                    puts=[(entry, Item.pk.does_not_exist())],
                    updates=[
                        (
                            counter,
                            [CounterItem.entries.add(1), CounterItem.kind.set(CounterItem)],
                            within_limit,
                        )
                    ],
                )
                return
            except TransactionCancelled as cancelled:
                # Items in the order sent: the job's check, the entry, the counter.
                if cancelled.condition_failed(1):  # the entry, with its unique id, is there
                    return  # this write landed
                if cancelled.condition_failed(0):
                    raise JobNotFound("No job has this id.", job_id=feedback.job_id) from None
                if cancelled.condition_failed(2):
                    raise FeedbackLimitReached(
                        f"A job takes at most {limit} feedback entries.", limit=limit
                    ) from None
                if not cancelled.conflicted:
                    raise
                pause_after_conflict(attempt)
        raise ConcurrentModification(
            "Feedback for this job is being written concurrently; try again.",
            job_id=feedback.job_id,
        )

    def list(self, job_id: str) -> list[Feedback]:
        items = self._table.query(FeedbackItem, job_id, Item.sk.startswith(FEEDBACK_PREFIX))
        return [
            Feedback(
                feedback_id=item.feedback_id,
                job_id=item.pk,
                rating=int(item.rating),
                comment=item.comment,
                created_at=parse_timestamp(item.created_at),
            )
            for item in items
        ]
