"""The functions' IAM policies in template.yaml, and the AWS operations the service issues.

- ``function_statements`` reads a function's policy statements (the ApiFunction's unless
  another is named) with cfn-lint's decoder and resolves them to ARNs for given table, bucket,
  queue and stream names.
- ``Recorder`` records the operations of every botocore client made while it is installed
  (``before-call`` events, and the signing of presigned POST forms, which make no call but
  which S3 authorizes as the signer when the form arrives). Each call keeps the port method of
  an AWS adapter that issued it: only those are the function's; set-up (``init-storage``) and
  a test's own look at the storage are not issued by any port method. What Lambda's event
  source mappings do with the function's role (read a stream, receive and delete messages,
  send a failed batch's record to its destination) is the function's too: the tests' stand-ins
  for them are marked ``on_behalf_of_the_function``.
- ``OPERATIONS`` says, in one table, which IAM actions on which resources each operation needs.
- ``compare`` finds what the calls need and no statement grants, and what a statement grants
  and no call needs.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import botocore.session
import cfnlint.decode
from attrs import field, frozen

from adapters.dynamodb import (
    DynamoDBApiKeyStore,
    DynamoDBIdempotencyStore,
    DynamoDBJobStore,
    DynamoDBRateCounter,
)
from adapters.s3 import S3BlobStore
from adapters.sqs import SqsPipelineQueue
from ports.access import ApiKeyStore
from ports.blobs import BlobStore
from ports.idempotency import IdempotencyStore
from ports.jobs import JobStore
from ports.pipeline import PipelineQueue
from ports.quotas import RateCounter

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
FUNCTION = "ApiFunction"
FUNCTIONS = ("ApiFunction", "OutboxFunction", "ProgressFunction", "SweeperFunction")
ACCOUNT = "123456789012"  # moto's account; resolving the template needs one

# What IAM checks for each operation (AWS's Service Authorization Reference): the actions, and
# the resource each is checked on:
#   table: the table's ARN; table|index: the index's ARN if the call names an index;
#   object: the object's ARN; source: the object CopySource names; bucket: the bucket's ARN;
#   items: a transaction, whose items are each checked for their own action (TRANSACTION_ITEMS);
#   queue: the ARN of the queue QueueUrl names; stream: the stream's ARN (StreamArn, or the
#   ARN a shard iterator begins with); streams: every stream of the table TableName names.
TABLE, TABLE_OR_INDEX, OBJECT, SOURCE, BUCKET, ITEMS, QUEUE, STREAM, STREAMS = (
    "table",
    "table|index",
    "object",
    "source",
    "bucket",
    "items",
    "queue",
    "stream",
    "streams",
)
PER_ITEM = "the action of each item"
OPERATIONS: Mapping[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("dynamodb", "GetItem"): (("dynamodb:GetItem", TABLE),),
    ("dynamodb", "PutItem"): (("dynamodb:PutItem", TABLE),),
    ("dynamodb", "UpdateItem"): (("dynamodb:UpdateItem", TABLE),),
    ("dynamodb", "DeleteItem"): (("dynamodb:DeleteItem", TABLE),),
    ("dynamodb", "Query"): (("dynamodb:Query", TABLE_OR_INDEX),),
    ("dynamodb", "DescribeTable"): (("dynamodb:DescribeTable", TABLE),),
    ("dynamodb", "TransactWriteItems"): ((PER_ITEM, ITEMS),),
    ("dynamodb", "TransactGetItems"): ((PER_ITEM, ITEMS),),
    ("s3", "PutObject"): (("s3:PutObject", OBJECT),),
    # A presigned POST form: S3 authorizes the upload as whoever signed the form.
    ("s3", "PostObject"): (("s3:PutObject", OBJECT),),
    ("s3", "CreateMultipartUpload"): (("s3:PutObject", OBJECT),),
    ("s3", "UploadPart"): (("s3:PutObject", OBJECT),),
    ("s3", "CompleteMultipartUpload"): (("s3:PutObject", OBJECT),),
    ("s3", "AbortMultipartUpload"): (("s3:AbortMultipartUpload", OBJECT),),
    ("s3", "GetObject"): (("s3:GetObject", OBJECT),),  # with a Range or without
    ("s3", "HeadObject"): (("s3:GetObject", OBJECT),),
    ("s3", "CopyObject"): (("s3:GetObject", SOURCE), ("s3:PutObject", OBJECT)),
    ("s3", "DeleteObject"): (("s3:DeleteObject", OBJECT),),
    ("s3", "HeadBucket"): (("s3:ListBucket", BUCKET),),
    ("sqs", "SendMessage"): (("sqs:SendMessage", QUEUE),),
    ("sqs", "ReceiveMessage"): (("sqs:ReceiveMessage", QUEUE),),
    ("sqs", "DeleteMessage"): (("sqs:DeleteMessage", QUEUE),),
    ("sqs", "GetQueueAttributes"): (("sqs:GetQueueAttributes", QUEUE),),
    # DynamoDB Streams' actions are DynamoDB's.
    ("dynamodbstreams", "ListStreams"): (("dynamodb:ListStreams", STREAMS),),
    ("dynamodbstreams", "DescribeStream"): (("dynamodb:DescribeStream", STREAM),),
    ("dynamodbstreams", "GetShardIterator"): (("dynamodb:GetShardIterator", STREAM),),
    ("dynamodbstreams", "GetRecords"): (("dynamodb:GetRecords", STREAM),),
}
TRANSACTION_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}
# What ``init-storage`` issues that the function never does (it also reads the table's
# description and the bucket's head, as readiness does).
ADMIN_OPERATIONS = frozenset(
    {
        ("dynamodb", "CreateTable"),
        ("dynamodb", "DescribeTimeToLive"),
        ("dynamodb", "UpdateTimeToLive"),
        ("s3", "CreateBucket"),
    }
)


# -- the template ----------------------------------------------------------------------------


@frozen
class Names:
    """Physical names to resolve the template with: the table's, the bucket's, the queues' (by
    their logical ids) and the label of the table's stream."""

    table: str
    bucket: str
    region: str
    account: str = ACCOUNT
    queues: Mapping[str, str] = field(factory=dict)
    stream_label: str = "2026-11-26T03:15:00.000"

    def table_arn(self, table: str | None = None) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{table or self.table}"

    def bucket_arn(self, bucket: str | None = None) -> str:
        return f"arn:aws:s3:::{bucket or self.bucket}"

    def queue_arn(self, logical: str) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account}:{self.queue(logical)}"

    def queue(self, logical: str) -> str:
        return self.queues.get(logical, logical)

    def stream_arn(self) -> str:
        return f"{self.table_arn()}/stream/{self.stream_label}"


@frozen
class Statement:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def document(self) -> dict[str, Any]:
        return {
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": list(self.actions),
            "Resource": list(self.resources),
        }


def policy_document(statements: Iterable[Statement]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [s.document() for s in statements]}


def function_statements(
    names: Names, template: Path = TEMPLATE, function: str = FUNCTION
) -> list[Statement]:
    """The ``Policies`` statements of ``function``, resources resolved for ``names``."""
    decoded, problems = cfnlint.decode.decode(str(template))
    if problems or decoded is None:
        raise ValueError(f"{template} does not decode: {problems}")
    resources = decoded["Resources"]
    statements: list[Statement] = []
    for policy in resources[function]["Properties"].get("Policies", []):
        if not isinstance(policy, Mapping) or "Statement" not in policy:
            raise ValueError(f"only inline policy documents are understood, not {policy!r}")
        for raw in _listed(policy["Statement"]):
            if raw.get("Effect") != "Allow" or set(raw) - {"Sid", "Effect", "Action", "Resource"}:
                raise ValueError(f"only Allow statements of Action and Resource: {raw!r}")
            statements.append(
                Statement(
                    sid=str(raw.get("Sid", f"#{len(statements) + 1}")),
                    actions=tuple(str(a) for a in _listed(raw["Action"])),
                    resources=tuple(
                        _resolve(r, resources, names) for r in _listed(raw["Resource"])
                    ),
                )
            )
    return statements


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _resolve(value: Any, resources: Mapping[str, Any], names: Names) -> str:
    """``!Ref``, ``!GetAtt X.Arn`` and ``!Sub`` of those, for the template's table and bucket."""

    def physical(logical: str) -> str:
        kind = resources[logical]["Type"]
        if kind == "AWS::DynamoDB::Table":
            return names.table
        if kind == "AWS::S3::Bucket":
            return names.bucket
        if kind == "AWS::SQS::Queue":  # Ref gives its URL
            name = names.queue(logical)
            return f"https://sqs.{names.region}.amazonaws.com/{names.account}/{name}"
        raise ValueError(f"cannot name {logical} ({kind})")

    def arn(logical: str) -> str:
        kind = resources[logical]["Type"]
        if kind == "AWS::DynamoDB::Table":
            return names.table_arn(physical(logical))
        if kind == "AWS::S3::Bucket":
            return names.bucket_arn(physical(logical))
        if kind == "AWS::SQS::Queue":
            return names.queue_arn(logical)
        raise ValueError(f"cannot give the ARN of {logical} ({kind})")

    def stream_arn(logical: str) -> str:
        if resources[logical]["Type"] != "AWS::DynamoDB::Table":
            raise ValueError(f"{logical} has no stream")
        return names.stream_arn()

    def variable(name: str) -> str:
        pseudo = {"AWS::Region": names.region, "AWS::AccountId": names.account}
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::Partition":
            return "aws"
        if name.endswith(".Arn"):
            return arn(name.removesuffix(".Arn"))
        if name.endswith(".StreamArn"):
            return stream_arn(name.removesuffix(".StreamArn"))
        return physical(name)

    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return variable(str(argument))
        if function == "Fn::GetAtt":
            logical, attribute = (
                argument if isinstance(argument, list) else str(argument).split(".", 1)
            )
            if attribute == "Arn":
                return arn(str(logical))
            if attribute == "StreamArn":
                return stream_arn(str(logical))
        if function == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{([^}!]+)\}", lambda found: variable(found[1]), argument)
    raise ValueError(f"cannot resolve {value!r}")


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcards: ``*`` any run of characters (``/`` included), ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


# -- recording -------------------------------------------------------------------------------


@frozen
class Call:
    service: str  # botocore's name: "dynamodb", "s3"
    operation: str  # the API's: "PutItem", and "PostObject" for a presigned form
    params: Mapping[str, Any] = field(eq=False)
    region: str
    issuer: str | None  # e.g. "DynamoDBIdempotencyStore.release"; None: not a port method

    def __str__(self) -> str:
        return f"{self.issuer or 'set-up'}: {self.service} {self.operation}"


PORT_METHODS = frozenset(
    name
    for port in (JobStore, BlobStore, IdempotencyStore, ApiKeyStore, RateCounter, PipelineQueue)
    for name, member in vars(port).items()
    if callable(member) and not name.startswith("_")
)
# The code of each port method of the AWS adapters: whichever module the work is then done in,
# the call is the function's if one of these is on the stack.
_PORT_METHOD_CODE = frozenset(
    vars(adapter)[name].__code__
    for adapter in (
        DynamoDBJobStore,
        DynamoDBIdempotencyStore,
        DynamoDBApiKeyStore,
        DynamoDBRateCounter,
        S3BlobStore,
        SqsPipelineQueue,
    )
    for name in PORT_METHODS
    if name in vars(adapter)
)
# What the tests' stand-ins for Lambda's event source mappings run (on_behalf_of_the_function).
_PLATFORM_CODE: set[Any] = set()
_PARAMS = "iam-recorder-params"
F = TypeVar("F", bound=Callable[..., Any])


def on_behalf_of_the_function(function: F) -> F:
    """Mark ``function`` as doing what Lambda does with the function's role: its calls are
    the function's (an event source mapping reads the stream or the queue with that role)."""
    _PLATFORM_CODE.add(function.__code__)
    return function


def _issuer(frame: FrameType | None) -> str | None:
    """The innermost port method of an AWS adapter, or stand-in of Lambda's, on the stack."""
    while frame is not None:
        if frame.f_code in _PORT_METHOD_CODE or frame.f_code in _PLATFORM_CODE:
            return frame.f_code.co_qualname
        frame = frame.f_back
    return None


class Recorder:
    """Records the operations of the botocore clients it is attached to."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._paused = False

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-parameter-build", self._keep_params)
        events.register("before-call", self._record)
        events.register("before-sign.s3.PutObject", self._record_presigned_post)

    @contextmanager
    def on_new_clients(self) -> Iterator[Recorder]:
        """Attach to every botocore client made inside the block (boto3's and PynamoDB's)."""
        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            recorder.attach(client)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[assignment]
        try:
            yield self
        finally:
            botocore.session.Session.create_client = original  # type: ignore[method-assign]

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Calls in the block are not recorded (another process's work, done in this one)."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False

    def function_calls(self) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.issuer is not None]

    def _add(self, call: Call) -> None:
        if not self._paused:
            with self._lock:
                self.calls.append(call)

    @staticmethod
    def _keep_params(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        # before-call carries the serialized request; the API's parameters are kept from here.
        context[_PARAMS] = dict(params)

    def _record(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        self._add(
            Call(
                service=model.service_model.service_name,
                operation=model.name,
                params=context.get(_PARAMS, {}),
                region=str(context.get("client_region") or ""),
                issuer=_issuer(sys._getframe(1)),
            )
        )

    def _record_presigned_post(self, request: Any, **_: Any) -> None:
        # botocore signs a presigned POST as "PutObject", with the form in the request context.
        fields = request.context.get("s3-presign-post-fields")
        if fields is None:
            return
        conditions = request.context["s3-presign-post-policy"]["conditions"]
        bucket = next(c["bucket"] for c in conditions if isinstance(c, dict) and "bucket" in c)
        self._add(
            Call(
                service="s3",
                operation="PostObject",
                params={"Bucket": bucket, "Key": fields["key"]},
                region="",
                issuer=_issuer(sys._getframe(1)),
            )
        )


# -- comparing -------------------------------------------------------------------------------


@frozen
class Permission:
    action: str
    resource: str
    call: Call = field(eq=False)


class UnmappedOperation(Exception):
    pass


def required(call: Call, account: str = ACCOUNT) -> list[Permission]:
    """The permissions ``call`` needs, by OPERATIONS."""
    rows = OPERATIONS.get((call.service, call.operation))
    if rows is None:
        raise UnmappedOperation(
            f"{call}: tests/iam.py's OPERATIONS does not say which IAM actions this needs"
        )
    params = call.params
    needed: list[Permission] = []
    for action, on in rows:
        if on == QUEUE:
            needed.append(Permission(action, _queue_arn(call, params["QueueUrl"], account), call))
        elif on == STREAM:
            arn = params.get("StreamArn") or str(params["ShardIterator"]).split("|")[0]
            needed.append(Permission(action, arn, call))
        elif on == STREAMS:
            # No resource-level permission exists for ListStreams (the Service Authorization
            # Reference): it is granted on * or not at all.
            needed.append(Permission(action, "*", call))
        elif on == ITEMS:
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                table = _table_arn(call, body["TableName"], account)
                needed.append(Permission(TRANSACTION_ITEMS[kind], table, call))
        elif on in (TABLE, TABLE_OR_INDEX):
            resource = _table_arn(call, params["TableName"], account)
            if on == TABLE_OR_INDEX and params.get("IndexName"):
                resource = f"{resource}/index/{params['IndexName']}"
            needed.append(Permission(action, resource, call))
        elif on == BUCKET:
            needed.append(Permission(action, f"arn:aws:s3:::{params['Bucket']}", call))
        elif on == SOURCE:
            bucket, key = _copy_source(params["CopySource"])
            needed.append(Permission(action, f"arn:aws:s3:::{bucket}/{key}", call))
        else:
            needed.append(
                Permission(action, f"arn:aws:s3:::{params['Bucket']}/{params['Key']}", call)
            )
    return needed


def _table_arn(call: Call, table: str, account: str) -> str:
    return f"arn:aws:dynamodb:{call.region}:{account}:table/{table}"


def _queue_arn(call: Call, url: str, account: str) -> str:
    """A queue's URL is ``<endpoint>/<account>/<name>``, on AWS and on moto alike."""
    owner, name = urlsplit(url).path.strip("/").split("/")[-2:]
    return f"arn:aws:sqs:{call.region}:{owner or account}:{name}"


def _copy_source(source: Any) -> tuple[str, str]:
    if isinstance(source, Mapping):
        return str(source["Bucket"]), str(source["Key"])
    # botocore turns the dict into "bucket/key", quoted, maybe with "?versionId=".
    bucket, _, key = unquote(str(source).split("?versionId=")[0]).lstrip("/").partition("/")
    return bucket, key


def granted(permission: Permission, statements: Iterable[Statement]) -> bool:
    return any(
        any(matches(a, permission.action, ignore_case=True) for a in s.actions)
        and any(matches(r, permission.resource) for r in s.resources)
        for s in statements
    )


@frozen
class Findings:
    unmapped: list[str]
    missing: list[str]
    unused: list[str]
    function: str = FUNCTION

    @property
    def ok(self) -> bool:
        return not (self.unmapped or self.missing or self.unused)

    def __str__(self) -> str:
        sections = [
            ("operations with no entry in tests/iam.py's OPERATIONS", self.unmapped),
            (
                f"needed, and not granted by {self.function}'s policy in template.yaml",
                self.missing,
            ),
            (
                f"granted by {self.function}'s policy in template.yaml, and needed by nothing",
                self.unused,
            ),
        ]
        return "\n".join(
            f"{title}:\n" + "".join(f"  - {line}\n" for line in lines)
            for title, lines in sections
            if lines
        )


def permissions(
    calls: Iterable[Call], account: str = ACCOUNT
) -> tuple[list[Permission], list[str]]:
    """What ``calls`` need, and the calls OPERATIONS does not know."""
    needed: list[Permission] = []
    unmapped: set[str] = set()
    for call in calls:
        try:
            needed.extend(required(call, account))
        except UnmappedOperation as error:
            unmapped.add(str(error))
    return needed, sorted(unmapped)


def compare(
    calls: Iterable[Call], statements: list[Statement], function: str = FUNCTION
) -> Findings:
    """Both ways: every permission the calls need is granted, and every (action, resource)
    pair a statement of ``function``'s policy grants is needed by some call."""
    needed, unmapped = permissions(calls)
    missing = sorted(
        {f"{p.call} needs {p.action} on {p.resource}" for p in needed if not granted(p, statements)}
    )
    unused = [
        f"{action} on {resource} (statement {s.sid})"
        for s in statements
        for action in s.actions
        for resource in s.resources
        if not any(
            matches(action, p.action, ignore_case=True) and matches(resource, p.resource)
            for p in needed
        )
    ]
    return Findings(unmapped, missing, unused, function)


def ungranted_actions(calls: Iterable[Call], statements: list[Statement]) -> list[str]:
    """The weaker check, for tests whose keys and names are not the service's: each action
    the calls need is granted on some resource (by the policies ``statements`` are of)."""
    needed, unmapped = permissions(calls)
    return unmapped + sorted(
        {
            f"{p.call} needs {p.action} on {p.resource}; no function's policy in "
            f"template.yaml grants {p.action} on anything"
            for p in needed
            if not any(
                matches(a, p.action, ignore_case=True) for s in statements for a in s.actions
            )
        }
    )


def summary(permissions_: Iterable[Permission]) -> list[str]:
    """One line per operation, action and kind of resource: keys cut to their first segment."""

    def kind(resource: str) -> str:
        if resource.startswith("arn:aws:s3:::") and "/" in resource:
            bucket_and_key = resource.removeprefix("arn:aws:s3:::")
            bucket, _, key = bucket_and_key.partition("/")
            return f"arn:aws:s3:::{bucket}/{key.split('/')[0]}/*"
        return resource

    return sorted(
        {
            f"{p.call.service} {p.call.operation} -> {p.action} on {kind(p.resource)}"
            for p in permissions_
        }
    )
