"""One connection to the jobs table, shared by the stores that keep their items in it.

Every call goes through one PynamoDB ``Connection`` (one botocore client), made here from the
table's name, region, endpoint and call policy, with the deadline guard on its client. PynamoDB
6.1 has no public way to give its models a connection, nor to reach the one each model makes
for itself, so the models (``schema``) only describe and convert items, and the calls are made
through the connection's public operations.

Errors come out in the stores' terms: a write whose condition failed is ``ConditionFailed``, a
cancelled transaction ``TransactionCancelled`` with its reasons, a lasting fault
``ServiceUnavailable`` (``raise_translated``); anything else as it is (see ``outcomes``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast
from weakref import WeakSet

from attrs import field, frozen
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.connection import Connection
from pynamodb.connection.base import MetaTable
from pynamodb.constants import ATTRIBUTES, ITEM, STRING, UPDATED_NEW
from pynamodb.exceptions import PynamoDBException, TableDoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from adapters.aws import DYNAMODB_POLICY, AttemptGuard, CallPolicy, error_code, raise_translated
from adapters.dynamodb.outcomes import ConditionFailed, TransactionCancelled, Update
from adapters.dynamodb.schema import EXPIRES, Item, table_schema
from domain.errors import ServiceUnavailable, WriteOutcomeUnknown

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WHAT = "The job store"
_CONDITION_FAILED = "ConditionalCheckFailedException"
# Cancellation reasons that mean "busy, try later" (DynamoDB's transaction documentation).
_THROTTLED = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})

M = TypeVar("M", bound=Item)


def cancellation_reasons(error: PynamoDBException) -> list[str | None]:
    """The per-item reason codes of a cancelled transaction, in the order of its items (empty
    for any other error)."""
    reasons = error.cancellation_reasons if isinstance(error, TransactWriteError) else []
    return [reason.code if reason else None for reason in reasons]


@frozen
class Table:
    """The jobs table ``name``, called through ``connection``; ``guard``, if given, keeps every
    call inside the request's deadline."""

    name: str
    connection: Connection
    guard: AttemptGuard | None = None
    # The clients the guard is on (installing it again would change nothing, but costs more
    # than looking here).
    _guarded: WeakSet[object] = field(factory=WeakSet, init=False, eq=False, repr=False)

    @classmethod
    def build(
        cls,
        name: str,
        *,
        region: str | None = None,
        host: str | None = None,
        policy: CallPolicy = DYNAMODB_POLICY,
        guard: AttemptGuard | None = None,
    ) -> Table:
        connection = Connection(
            region=region,
            host=host,
            connect_timeout_seconds=policy.connect_timeout,
            read_timeout_seconds=policy.read_timeout,
            # PynamoDB turns this into botocore's "standard" retry mode, 1 + n attempts in all.
            max_retry_attempts=policy.max_attempts - 1,
        )
        return cls.on(connection, name, guard)

    @classmethod
    def on(cls, connection: Connection, name: str, guard: AttemptGuard | None = None) -> Table:
        """The table ``name`` through ``connection``, which learns the table's keys here."""
        connection.add_meta_table(MetaTable(dict(table_schema(name))))
        return cls(name, connection, guard)

    @property
    def client(self) -> DynamoDBClient:
        """The botocore client underneath, with the guard on it."""
        return cast("DynamoDBClient", self._guarded_client())

    @property
    def _calls(self) -> Connection:
        """The connection, once the guard is on the client it will call through."""
        self._guarded_client()
        return self.connection

    def _guarded_client(self) -> object:
        # PynamoDB makes its client on first use, and a new one if it had found no
        # credentials: so the guard is looked for before every call, not put on once.
        client = self.connection.client
        if self.guard is not None and client not in self._guarded:
            self.guard.install(client)
            self._guarded.add(client)
        return client

    # -- items ------------------------------------------------------------------------------

    def get_item(self, model: type[M], pk: str, sk: str) -> M | None:
        """The item under ``pk``, ``sk`` (a strongly consistent read), if there is one."""
        try:
            data = self._calls.get_item(self.name, pk, sk, consistent_read=True)
        except PynamoDBException as error:
            raise_translated(error, WHAT)
        raw = data.get(ITEM)
        return model.from_raw_data(raw) if raw else None

    def put_item(self, item: Item, condition: Condition | None = None) -> None:
        try:
            self._calls.put_item(
                self.name, item.pk, item.sk, attributes=item.serialize(), condition=condition
            )
        except PynamoDBException as error:
            _raise_refused(error)

    def delete_item(self, pk: str, sk: str, condition: Condition | None = None) -> None:
        try:
            self._calls.delete_item(self.name, pk, sk, condition=condition)
        except PynamoDBException as error:
            _raise_refused(error)

    def query(
        self,
        model: type[M],
        key: str,
        condition: Condition | None = None,
        *,
        index: str | None = None,
        limit: int | None = None,
        descending: bool = False,
        after: Mapping[str, str] | None = None,
    ) -> list[M]:
        """The items of ``model`` under ``key`` (of the table, strongly consistent, or of
        ``index``, eventually), in sort key order (or the reverse, ``descending``); at most
        ``limit``, each page asking no more than are still wanted. ``after`` (the string
        attributes of a key: the index's and the table's) is where the query starts,
        exclusively; no item need have that key."""
        kind = Item.kind.is_in(*Item.kind.get_registered_subclasses(model))
        found: list[M] = []
        start: dict[str, Any] | None = (
            None if after is None else {name: {STRING: value} for name, value in after.items()}
        )
        while True:
            try:
                page = self._calls.query(
                    self.name,
                    key,
                    condition,
                    kind,
                    consistent_read=index is None,
                    exclusive_start_key=start,
                    index_name=index,
                    limit=None if limit is None else limit - len(found),
                    scan_index_forward=False if descending else None,
                )
            except PynamoDBException as error:
                raise_translated(error, WHAT)
            found += [model.from_raw_data(raw) for raw in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if start is None or (limit is not None and len(found) >= limit):
                return found

    def update_item(
        self, item: Item, actions: Sequence[Action], condition: Condition | None = None
    ) -> dict[str, Any]:
        """An ``UpdateItem`` of the item with ``item``'s key: the attributes it changed, as
        stored after it (raw). A failed condition is ``ConditionFailed``."""
        try:
            answer = self._calls.update_item(
                self.name,
                item.pk,
                item.sk,
                actions=actions,
                condition=condition,
                return_values=UPDATED_NEW,
            )
        except PynamoDBException as error:
            _raise_refused(error)
        changed: dict[str, Any] = answer.get(ATTRIBUTES, {})
        return changed

    def transact_write(
        self,
        token: str,
        *,
        checks: Sequence[tuple[str, str, Condition]] = (),
        puts: Sequence[tuple[Item, Condition]] = (),
        updates: Sequence[Update] = (),
    ) -> None:
        """One ``TransactWriteItems``: condition checks (pk, sk, condition), puts (item,
        condition) and updates (item, actions, condition or None), all or none. ``token`` is its
        ``ClientRequestToken``: DynamoDB answers a retry of a transaction that landed as done."""
        try:
            self._calls.transact_write_items(
                condition_check_items=[
                    self._kwargs(pk, sk, condition=condition) for pk, sk, condition in checks
                ],
                delete_items=[],
                put_items=[
                    self._kwargs(
                        item.pk, item.sk, key=ITEM, attributes=item.serialize(), condition=c
                    )
                    for item, c in puts
                ],
                update_items=[
                    self._kwargs(item.pk, item.sk, actions=actions, condition=c)
                    for item, actions, c in updates
                ],
                client_request_token=token,
            )
        except PynamoDBException as error:
            if error_code(error) == "TransactionInProgressException":
                # A transaction with this token is still being carried out (an earlier
                # attempt, whose answer was lost): it may land after any read of ours.
                raise WriteOutcomeUnknown(
                    f"{WHAT} is still carrying out this write.", retry_after=1
                ) from error
            reasons = cancellation_reasons(error)
            if any(reason in _THROTTLED for reason in reasons):
                raise ServiceUnavailable(
                    f"{WHAT} is throttled ({', '.join(r for r in reasons if r)}).", retry_after=1
                ) from error
            if reasons:
                raise TransactionCancelled(reasons) from error
            raise_translated(error, WHAT)

    def _kwargs(self, pk: str, sk: str, **kwargs: Any) -> dict[str, Any]:
        operation: dict[str, Any] = self.connection.get_operation_kwargs(
            self.name, pk, sk, **kwargs
        )
        return operation

    # -- the table --------------------------------------------------------------------------

    def ping(self) -> None:
        try:
            self._calls.describe_table(self.name)
        except TableDoesNotExist:
            raise ServiceUnavailable(f"The job table {self.name!r} does not exist.") from None
        except (PynamoDBException, ClientError, BotoCoreError) as error:
            # PynamoDB lets some botocore errors of DescribeTable through unwrapped.
            raise_translated(error, WHAT)

    def create(self) -> None:
        """Create the table as template.yaml declares it, if it does not exist: on-demand
        capacity, the result cache's index, and expiry (TTL) on ``expires``."""
        client = self.client
        try:
            client.describe_table(TableName=self.name)
        except client.exceptions.ResourceNotFoundException:
            client.create_table(**table_schema(self.name))
            # Until it is ACTIVE, as PynamoDB's create_table(wait=True) did: up to 5 minutes.
            client.get_waiter("table_exists").wait(
                TableName=self.name, WaiterConfig={"Delay": 2, "MaxAttempts": 150}
            )
        answer = client.describe_time_to_live(TableName=self.name)
        if answer["TimeToLiveDescription"].get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=self.name,
                TimeToLiveSpecification={"AttributeName": EXPIRES, "Enabled": True},
            )


def _raise_refused(error: PynamoDBException) -> NoReturn:
    """A failed condition as ``ConditionFailed``; any other error translated."""
    if error_code(error) == _CONDITION_FAILED:
        raise ConditionFailed from None
    raise_translated(error, WHAT)
