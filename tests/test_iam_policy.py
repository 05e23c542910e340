"""The function's policy in template.yaml grants what the function calls, and nothing more.

A workload drives every route of the API through the Lambda handler, built by the production
composition root, against DynamoDB and S3 on moto in process, including the failures that
clean up after themselves; a second one calls the store methods of tenancy (listings, counts,
keys, rate counters) directly, so each is recorded whichever routes use it. Every operation the
service issues is recorded (``tests/iam.py``), mapped to the IAM actions and resources it needs,
and compared with the ApiFunction's policy statements both ways: a call the policy does not
allow fails, and so does a grant no call needs.

The pipeline's functions (the outbox, the progress consumer, the sweeper) are checked against
their own policies in tests/test_iam_pipeline.py, with the same recorder.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from attrs import evolve, frozen

from adapters.aws import DYNAMODB_POLICY, S3_POLICY
from adapters.dynamodb import (
    DynamoDBApiKeyStore,
    DynamoDBIdempotencyStore,
    DynamoDBJobStore,
    DynamoDBRateCounter,
)
from domain import api_keys
from domain.api_keys import ApiKey
from domain.job import JobStatus
from domain.principals import SCOPES
from entrypoints import lambda_api
from entrypoints.aws import aws_service, init_storage, jobs_table
from entrypoints.bootstrap import build_api
from entrypoints.http.resources import API_ROUTES
from entrypoints.http.routes import Router
from entrypoints.settings import Settings
from ports.idempotency import IdempotencyRecord
from tests.aws import BUCKET, FAULTS, REGION, TABLE, moto_in_process
from tests.blueprints import pdf, png
from tests.e2e.servers import big_pdf, post_form
from tests.fakes import START
from tests.faults import Fault
from tests.http.clients import Reply, invoke
from tests.iam import (
    ADMIN_OPERATIONS,
    Call,
    Names,
    Recorder,
    Statement,
    compare,
    function_statements,
    granted,
    matches,
    permissions,
    required,
    summary,
)

ROUTER = Router(API_ROUTES)
MIB = 1024 * 1024
NAMES = Names(TABLE, BUCKET, REGION)
SETTINGS = Settings.from_env(
    {
        "AWS_REGION": REGION,
        "BLUEPRINT_JOBS_TABLE": TABLE,
        "BLUEPRINT_JOBS_BUCKET": BUCKET,
        # As the template configures the function.
        "BLUEPRINT_JOBS_MAX_UNFINISHED_JOBS": "100",
    },
    profile="lambda",
)
KEY = "0b0e5b0c-5d1b-4d5e-9f43-2b8a1c7e6f10"
OTHER_KEY = "7d7f4c8e-7c55-4a8b-9d0e-3f1f6f0e2a11"


@frozen
class Recording:
    calls: list[Call]  # set-up's included: their issuer is None
    requested: set[tuple[str, str]]  # (route template, method)

    @property
    def function_calls(self) -> list[Call]:
        return [call for call in self.calls if call.issuer is not None]


@pytest.fixture(scope="module")
def recording() -> Recording:
    """One run of the workload, on its own moto, for the tests that read what it recorded."""
    with pytest.MonkeyPatch.context() as monkeypatch, moto_in_process(monkeypatch) as recorder:
        init_storage(SETTINGS)  # set-up: no port method issues these
        requested = drive_the_function(recorder)
        drive_the_stores(recorder)
    return Recording(list(recorder.calls), requested)


def drive_the_function(recorder: Recorder) -> set[tuple[str, str]]:
    handler = lambda_api.make_handler(build_api(SETTINGS, configure_logs=False))
    requested: set[tuple[str, str]] = set()
    with recorder.paused():  # the operator makes the client's key, with a role of its own
        secret = aws_service(SETTINGS).access.create_key("owner-a", "iam", SCOPES)[1]

    def call(method: str, path: str, status: int, **kwargs: Any) -> Reply:
        headers = {"Authorization": f"Bearer {secret}", **kwargs.pop("headers", {})}
        reply = invoke(handler, method, path, headers=headers, **kwargs)
        assert reply.status == status, reply.body
        requested.add((ROUTER.match(urlsplit(path).path).route.template, method))
        return reply

    def create(status: int, data: bytes, **headers: str) -> Reply:
        kind = "image/png" if data.startswith(b"\x89PNG") else "application/pdf"
        return call(
            "POST", "/api/v1/jobs", status, headers={"Content-Type": kind, **headers}, body=data
        )

    call("GET", "/health", 200)
    call("GET", "/api/v1/openapi.json", 200)
    call("GET", "/health/ready", 200)

    # Idempotency: claimed and completed, replayed, and released by a refused request.
    first = create(201, png(), **{"Idempotency-Key": KEY}).data
    assert create(201, png(), **{"Idempotency-Key": KEY}).headers["idempotent-replayed"] == "true"
    create(400, b"not a blueprint", **{"Idempotency-Key": OTHER_KEY})
    create(201, png(), **{"Idempotency-Key": OTHER_KEY, "Cache-Control": "no-cache"})

    # Past one 8 MiB part: a multipart upload.
    create(201, big_pdf(9 * MIB))

    # An upload session: the presigned form sent to S3, then the job made from it.
    session = call(
        "POST", "/api/v1/uploads", 201, json_body={"format": "pdf", "size_bytes": len(pdf())}
    ).data
    sent = post_form(session, pdf())
    assert sent.status_code < 300, sent.text
    uploaded = call("POST", "/api/v1/jobs", 201, json_body={"upload_id": session["upload_id"]})

    call("GET", f"/api/v1/jobs/{first['job_id']}", 200)
    call("GET", f"/api/v2/jobs/{first['job_id']}", 200)
    # Listings, by owner and by owner and status, a page at a time.
    token = call("GET", "/api/v1/jobs?limit=1", 200).json()["meta"]["next_page_token"]
    call("GET", f"/api/v1/jobs?limit=1&page_token={token}", 200)
    call("GET", "/api/v2/jobs?status=pending", 200)
    call("GET", "/api/v1/jobs", 401, headers={"Authorization": "Bearer bjk_" + "a" * 32})
    call("DELETE", f"/api/v1/jobs/{uploaded.data['job_id']}", 200)

    # The detection pipeline (its own process and role) finishes the first job, its result
    # stored under results/.
    result_key = f"results/{first['job_id']}.json"
    with recorder.paused():
        pipeline = aws_service(SETTINGS)
        pipeline.lifecycle.start_processing(first["job_id"])
        boto3.client("s3", region_name=REGION).put_object(
            Bucket=BUCKET, Key=result_key, Body=b'{"rooms": []}'
        )
        pipeline.lifecycle.complete_job(first["job_id"], result_key)
    result = call("GET", f"/api/v1/jobs/{first['job_id']}/result", 200)
    assert result.data["result"] == {"rooms": []}
    call("POST", f"/api/v1/jobs/{first['job_id']}/feedback", 201, json_body={"rating": 5})
    cached = create(201, png()).data
    assert cached["status"] == "completed"  # the result cache found the first job

    # Failures that clean up: a job that cannot be written removes its blob; a multipart upload
    # that fails is aborted (and what it left is removed).
    dynamodb, s3 = (
        boto3.client("dynamodb", region_name=REGION),
        boto3.client("s3", region_name=REGION),
    )
    # That blueprint's result is cached: its completed job is one PutItem (an unfinished job
    # would be a transaction with its owner's count).
    put = Fault("dynamodb", "InternalServerError", 500, times=DYNAMODB_POLICY.max_attempts)
    put.install(dynamodb, "PutItem")
    create(503, png(), **{"Cache-Control": "no-cache"})
    part = Fault("s3", "InternalError", 500, times=S3_POLICY.max_attempts)
    part.install(s3, "UploadPart")
    create(503, big_pdf(9 * MIB))
    assert (put.injected, part.injected) == (DYNAMODB_POLICY.max_attempts, S3_POLICY.max_attempts)
    FAULTS.clear()
    return requested


OWNER = "owner-iam"


def drive_the_stores(recorder: Recorder) -> None:
    """The store methods tenancy added, called as the function calls them, on the table the
    composition root builds. Keys are made, listed and revoked by operators (the command line,
    with credentials of their own), so those calls are set-up here, not the function's."""
    table = jobs_table(SETTINGS)
    jobs, keys, counter = (
        DynamoDBJobStore(table),
        DynamoDBApiKeyStore(table),
        DynamoDBRateCounter(table),
    )
    secret = api_keys.new_secret(bytes(api_keys.RANDOM_BYTES))
    key = ApiKey(
        api_keys.new_key_id(START, bytes(10)),
        api_keys.digest_of(secret),
        OWNER,
        "iam workload",
        SCOPES,
        START,
    )
    with recorder.paused():
        keys.add_key(key)
        assert keys.list_keys(OWNER) == [key]
        keys.revoke_key(key.key_id, START)
    assert keys.find_key(key.digest) == key.revoked(START)
    assert counter.hit(f"jobs#60#0#{OWNER}", 1, START) == 1
    assert counter.hit(f"jobs#60#0#{OWNER}", 1, START) is None
    assert jobs.unfinished_jobs(OWNER) == 0
    assert jobs.list_jobs(OWNER, None, 10, None).jobs == []
    assert (
        jobs.list_jobs(OWNER, JobStatus.COMPLETED, 10, "job_01jdz5k3a1b2c3d4e5f6g7h8j9").jobs == []
    )


# -- the policy against the recording ---------------------------------------------------------


def test_the_policy_grants_what_the_function_calls_and_nothing_more(
    recording: Recording,
) -> None:
    findings = compare(recording.function_calls, function_statements(NAMES))
    assert findings.ok, f"\n{findings}"


def test_the_policy_grants_what_the_stores_of_tenancy_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stores' workload alone, against the policy: whatever it needs is granted (the
    comparison both ways is the whole recording's)."""
    with moto_in_process(monkeypatch) as recorder:
        init_storage(SETTINGS)
        drive_the_stores(recorder)
    findings = compare(recorder.function_calls(), function_statements(NAMES))
    assert (findings.unmapped, findings.missing) == ([], [])
    issued = {(call.issuer, call.operation) for call in recorder.function_calls()}
    assert issued == {
        ("DynamoDBApiKeyStore.find_key", "GetItem"),
        ("DynamoDBRateCounter.hit", "UpdateItem"),
        ("DynamoDBJobStore.unfinished_jobs", "GetItem"),
        ("DynamoDBJobStore.list_jobs", "Query"),
    }
    indexes = {
        call.params["IndexName"] for call in recorder.function_calls() if call.operation == "Query"
    }
    assert indexes == {"jobs-by-owner", "jobs-by-owner-status"}


def test_the_workload_requests_every_route(recording: Recording) -> None:
    """A route added without a step here could call what nobody checked."""
    every = {(route.template, method) for route in API_ROUTES for method in route.operations}
    assert recording.requested == every


def test_the_function_never_administers_storage(recording: Recording) -> None:
    function = {(call.service, call.operation) for call in recording.function_calls}
    set_up = {(call.service, call.operation) for call in recording.calls if call.issuer is None}
    assert not function & ADMIN_OPERATIONS
    assert set_up >= ADMIN_OPERATIONS  # the list names what init-storage issues,
    assert set_up <= ADMIN_OPERATIONS | function  # and set-up issues nothing else of its own


# -- the checker -------------------------------------------------------------------------------


def without(statements: list[Statement], action: str) -> list[Statement]:
    return [evolve(s, actions=tuple(a for a in s.actions if a != action)) for s in statements]


def test_a_policy_without_delete_item_fails_release(monkeypatch: pytest.MonkeyPatch) -> None:
    with moto_in_process(monkeypatch) as recorder:
        store = DynamoDBIdempotencyStore(jobs_table(SETTINGS))
        init_storage(SETTINGS)
        record = IdempotencyRecord.claim("a" * 64, "token", START)
        assert store.claim(record, START) is None
        store.release(record.scope, "token")
    statements = without(function_statements(NAMES), "dynamodb:DeleteItem")
    findings = compare(recorder.function_calls(), statements)
    assert findings.missing == [
        "DynamoDBIdempotencyStore.release: dynamodb DeleteItem needs dynamodb:DeleteItem on "
        f"{NAMES.table_arn()}"
    ]
    assert compare(recorder.function_calls(), function_statements(NAMES)).missing == []


def test_a_grant_nothing_needs_is_reported(recording: Recording) -> None:
    table, blueprints = NAMES.table_arn(), f"{NAMES.bucket_arn()}/blueprints/*"
    extra = Statement("Extra", ("dynamodb:Scan", "s3:PutObjectAcl"), (table, blueprints))
    findings = compare(recording.function_calls, [*function_statements(NAMES), extra])
    assert (findings.unmapped, findings.missing) == ([], [])
    assert findings.unused == [
        f"dynamodb:Scan on {table} (statement Extra)",
        f"dynamodb:Scan on {blueprints} (statement Extra)",
        f"s3:PutObjectAcl on {table} (statement Extra)",
        # The bucket enforces object ownership: the function never sets an ACL.
        f"s3:PutObjectAcl on {blueprints} (statement Extra)",
    ]
    assert "statement Extra" in str(findings)


def test_an_operation_without_an_entry_is_reported() -> None:
    scan = Call("dynamodb", "Scan", {"TableName": TABLE}, REGION, "DynamoDBJobStore.get")
    findings = compare([scan], [])
    assert findings.unmapped == [
        "DynamoDBJobStore.get: dynamodb Scan: tests/iam.py's OPERATIONS does not say which "
        "IAM actions this needs"
    ]


def test_a_transaction_needs_the_action_of_each_item() -> None:
    items = [
        {"ConditionCheck": {"TableName": TABLE, "Key": {}}},
        {"Update": {"TableName": TABLE, "Key": {}}},
        {"Put": {"TableName": "other", "Item": {}}},
        {"Delete": {"TableName": TABLE, "Key": {}}},
    ]
    call = Call("dynamodb", "TransactWriteItems", {"TransactItems": items}, REGION, "x")
    assert [(p.action, p.resource) for p in required(call)] == [
        ("dynamodb:ConditionCheckItem", NAMES.table_arn()),
        ("dynamodb:UpdateItem", NAMES.table_arn()),
        ("dynamodb:PutItem", NAMES.table_arn("other")),
        ("dynamodb:DeleteItem", NAMES.table_arn()),
    ]
    gets = Call(
        "dynamodb",
        "TransactGetItems",
        {"TransactItems": [{"Get": {"TableName": TABLE}}]},
        REGION,
        "x",
    )
    assert [p.action for p in required(gets)] == ["dynamodb:GetItem"]


@pytest.mark.parametrize(
    "source",
    [f"{BUCKET}/uploads/upl_1/blueprint", {"Bucket": BUCKET, "Key": "uploads/upl_1/blueprint"}],
)
def test_a_copy_reads_its_source_and_writes_its_target(source: Any) -> None:
    params = {"Bucket": BUCKET, "Key": "blueprints/job_1/source.pdf", "CopySource": source}
    call = Call("s3", "CopyObject", params, REGION, "S3BlobStore.copy")
    assert [(p.action, p.resource) for p in required(call)] == [
        ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/uploads/upl_1/blueprint"),
        ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/blueprints/job_1/source.pdf"),
    ]


def test_a_query_on_an_index_needs_the_index() -> None:
    on_index = Call("dynamodb", "Query", {"TableName": TABLE, "IndexName": "i"}, REGION, "x")
    on_table = Call("dynamodb", "Query", {"TableName": TABLE}, REGION, "x")
    assert [p.resource for p in required(on_index)] == [f"{NAMES.table_arn()}/index/i"]
    assert [p.resource for p in required(on_table)] == [NAMES.table_arn()]
    statements = function_statements(NAMES)
    assert granted(required(on_index)[0], statements) is False  # only the result cache's index
    assert granted(required(on_table)[0], statements) is False  # the function never lists


def test_wildcards_are_iams() -> None:
    assert matches("arn:aws:s3:::b/blueprints/*", "arn:aws:s3:::b/blueprints/job_1/source.png")
    assert not matches("arn:aws:s3:::b/blueprints/*", "arn:aws:s3:::b/uploads/x")
    assert not matches("arn:aws:s3:::b", "arn:aws:s3:::b/x")
    assert matches("arn:aws:s3:::?/x", "arn:aws:s3:::b/x")
    assert matches("dynamodb:getitem", "dynamodb:GetItem", ignore_case=True)
    assert not matches("dynamodb:Get*", "dynamodb:PutItem", ignore_case=True)
    assert matches("s3:*", "s3:GetObject")


def test_the_template_resolves_to_the_tables_and_buckets_arns() -> None:
    resources = {r for s in function_statements(NAMES) for r in s.resources}
    assert resources == {
        NAMES.table_arn(),
        f"{NAMES.table_arn()}/index/completed-by-blueprint-hash",
        f"{NAMES.table_arn()}/index/jobs-by-owner",
        f"{NAMES.table_arn()}/index/jobs-by-owner-status",
        f"arn:aws:s3:::{BUCKET}",
        f"arn:aws:s3:::{BUCKET}/blueprints/*",
        f"arn:aws:s3:::{BUCKET}/uploads/*",
        f"arn:aws:s3:::{BUCKET}/results/*",
    }


@pytest.mark.parametrize(
    "policy",
    [
        "- AWSLambdaBasicExecutionRole",
        "- Statement:\n    - {Effect: Deny, Action: s3:*, Resource: '*'}",
        "- Statement:\n    - {Effect: Allow, Action: s3:*, Resource: !ImportValue Other}",
        "- Statement:\n    - {Effect: Allow, Action: s3:*, Resource: !GetAtt Log.Arn}",
    ],
)
def test_what_the_reader_does_not_understand_is_an_error(tmp_path: Any, policy: str) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n"
        "  Log: {Type: AWS::Logs::LogGroup}\n"
        "  ApiFunction:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Policies:\n" + "".join(f"        {line}\n" for line in policy.splitlines())
    )
    with pytest.raises(ValueError):
        function_statements(NAMES, template)


def test_the_summary_names_key_prefixes() -> None:
    put = Call("s3", "PutObject", {"Bucket": BUCKET, "Key": "blueprints/j/source.png"}, REGION, "x")
    needed, _ = permissions([put])
    assert summary(needed) == [
        f"s3 PutObject -> s3:PutObject on arn:aws:s3:::{BUCKET}/blueprints/*"
    ]
