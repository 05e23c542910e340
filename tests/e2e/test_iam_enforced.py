"""The API over real HTTP while moto enforces IAM: ``serve --storage aws`` signs as a user whose
policy is the ApiFunction's statements from template.yaml, with the real table and bucket ARNs.

moto.server runs on its own here: enforcement is process-wide. Set-up (users, policies, keys,
``init-storage``) runs before it is switched on, unauthenticated; then ``/moto-api/reset-auth``
sets moto's INITIAL_NO_AUTH_ACTION_COUNT to 0, and from then on every request must be signed by
a known key and allowed by its user's policies. moto has no root credentials, so the detection
pipeline that completes a job signs as a user allowed everything.

moto 5.2's IAM simulation (moto/core/authorization.py, moto/iam/access_control.py) differs from
AWS in ways that shape the user's policy; ``moto_statements`` adapts the template's statements
where it must, and tests/test_iam_policy.py checks the template's actions and resources exactly:

- DynamoDB requests are checked against the resource ``*``, never the table's ARN, so a
  statement scoped to the table matches nothing: moto's user gets DynamoDB's actions, exactly
  the template's, on ``*``.
- moto checks TransactWriteItems as the action ``dynamodb:TransactWriteItems``, which IAM does
  not have (AWS checks each item's own action; moto checks none of them): granted beside them.
- moto checks HeadBucket as ``s3:HeadBucket`` (AWS: ``s3:ListBucket``): granted beside it.
- A presigned POST form carries no Authorization header, which moto's check reads (it answers
  500), so the form is sent with enforcement suspended for that request. That S3 authorizes the
  upload as the function (``s3:PutObject`` on ``uploads/*``) is checked only statically.
- CopyObject is checked on its target only, not on the source it reads.

S3 requests are checked on the object's or the bucket's ARN as AWS does, so the S3 statements
keep the template's resources: an object outside them is refused.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
import requests
from attrs import evolve, frozen
from botocore.exceptions import ClientError

from entrypoints.aws import aws_service
from entrypoints.settings import Settings
from tests.blueprints import pdf, png
from tests.e2e.servers import (
    REGION,
    bearer,
    cli,
    create_key,
    free_port,
    init_storage,
    post_form,
    running,
)
from tests.iam import Names, Statement, function_statements, policy_document

pytestmark = pytest.mark.slow

TABLE, BUCKET = "iam-jobs", "iam-blueprints"
NAMES = Names(TABLE, BUCKET, REGION)
EVERYTHING = [Statement("Everything", ("*",), ("*",))]
# moto's name for an operation -> the IAM actions AWS checks for it instead.
MOTO_ACTIONS = {
    "dynamodb:TransactWriteItems": {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    },
    "s3:HeadBucket": {"s3:ListBucket"},
}


def moto_statements(statements: list[Statement]) -> list[Statement]:
    """The template's statements as moto can evaluate them (see the module's docstring)."""
    adapted = []
    for statement in statements:
        services = {action.split(":")[0] for action in statement.actions}
        if len(services) != 1:
            raise ValueError(f"one service per statement, please: {statement}")
        extra = tuple(
            name for name, actions in MOTO_ACTIONS.items() if actions & set(statement.actions)
        )
        resources = ("*",) if services == {"dynamodb"} else statement.resources
        adapted.append(evolve(statement, actions=statement.actions + extra, resources=resources))
    return adapted


@frozen
class Keys:
    access_key_id: str
    secret_access_key: str


@frozen
class Moto:
    endpoint: str
    function: Keys  # exactly the template's policy
    no_delete: Keys  # the template's policy without dynamodb:DeleteItem
    pipeline: Keys  # everything

    def env(self, keys: Keys) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": keys.access_key_id,
            "AWS_SECRET_ACCESS_KEY": keys.secret_access_key,
            "BLUEPRINT_JOBS_TABLE": TABLE,
            "BLUEPRINT_JOBS_BUCKET": BUCKET,
        }

    def client(self, service: str, keys: Keys) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
        )

    def enforce(self, count: str) -> None:
        """moto's INITIAL_NO_AUTH_ACTION_COUNT: requests let through before enforcement."""
        answer = requests.post(f"{self.endpoint}/moto-api/reset-auth", data=count, timeout=10)
        assert answer.status_code == 200, answer.text

    @contextmanager
    def suspended(self) -> Iterator[None]:
        self.enforce("inf")
        try:
            yield
        finally:
            self.enforce("0")


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    env = {"INITIAL_NO_AUTH_ACTION_COUNT": "inf"}  # set-up first, unauthenticated
    with running(command, f"{endpoint}/moto-api/", env=env):
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="set-up",
            aws_secret_access_key="set-up",
        )

        def user(name: str, statements: list[Statement]) -> Keys:
            iam.create_user(UserName=name)
            iam.put_user_policy(
                UserName=name,
                PolicyName=name,
                PolicyDocument=json.dumps(policy_document(statements)),
            )
            key = iam.create_access_key(UserName=name)["AccessKey"]
            return Keys(key["AccessKeyId"], key["SecretAccessKey"])

        template = function_statements(NAMES)
        no_delete = [
            evolve(s, actions=tuple(a for a in s.actions if a != "dynamodb:DeleteItem"))
            for s in template
        ]
        found = Moto(
            endpoint,
            function=user("blueprint-jobs-function", moto_statements(template)),
            no_delete=user("blueprint-jobs-no-delete", moto_statements(no_delete)),
            pipeline=user("detection-pipeline", EVERYTHING),
        )
        init = init_storage(found.env(found.pipeline))
        assert init.returncode == 0, init.stderr
        found.enforce("0")
        yield found


@pytest.fixture(scope="module")
def auth(moto: Moto) -> dict[str, str]:
    """A key made by ``keys create`` as the operator makes it: signing as a user allowed
    everything, with enforcement on."""
    return bearer(create_key(moto.env(moto.pipeline), name="iam")[1])


@contextmanager
def serving(moto: Moto, keys: Keys, log: list[str]) -> Iterator[str]:
    """``serve --storage aws`` signing with ``keys``; its output is added to ``log``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--port", str(port), "--storage", "aws"]
    with running(command, f"{base}/health", env=moto.env(keys)) as server:
        try:
            yield base
        finally:
            server.terminate()
            output, _ = server.communicate(timeout=10)
            log.extend(output.splitlines())


def post_job(base: str, auth: dict[str, str], data: bytes, **headers: str) -> requests.Response:
    kind = "image/png" if data.startswith(b"\x89PNG") else "application/pdf"
    return requests.post(
        f"{base}/api/v1/jobs",
        data=data,
        headers={"Content-Type": kind, **auth, **headers},
        timeout=30,
    )


def test_the_api_works_with_exactly_the_functions_policy(
    moto: Moto, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log: list[str] = []
    with serving(moto, moto.function, log) as base:
        ready = requests.get(f"{base}/health/ready", timeout=30)
        assert ready.status_code == 200, ready.text

        key = {"Idempotency-Key": "iam-e2e-first"}
        created = post_job(base, auth, png(), **key)
        assert created.status_code == 201, created.text
        job_id = created.json()["data"]["job_id"]
        replayed = post_job(base, auth, png(), **key)
        assert replayed.status_code == 201, replayed.text
        assert replayed.headers["Idempotent-Replayed"] == "true"
        assert replayed.json()["data"]["job_id"] == job_id

        # Refused: the key is released (DeleteItem), so the next request under it may run.
        other = {"Idempotency-Key": "iam-e2e-refused", "Cache-Control": "no-cache"}
        refused = post_job(base, auth, b"not a blueprint", **other)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == "INVALID_FILE_FORMAT"
        after = post_job(base, auth, png(), **other)
        assert after.status_code == 201, after.text

        opened = requests.post(
            f"{base}/api/v1/uploads",
            json={"format": "pdf", "size_bytes": len(pdf())},
            headers=auth,
            timeout=30,
        )
        assert opened.status_code == 201, opened.text
        session = opened.json()["data"]
        with moto.suspended():  # moto cannot authenticate presigned forms
            sent = post_form(session, pdf())
        assert sent.status_code < 300, sent.text
        from_upload = requests.post(
            f"{base}/api/v1/jobs",
            json={"upload_id": session["upload_id"]},
            headers=auth,
            timeout=30,
        )
        assert from_upload.status_code == 201, from_upload.text

        fetched = requests.get(f"{base}/api/v2/jobs/{job_id}", headers=auth, timeout=10)
        assert fetched.status_code == 200, fetched.text
        cancelled = requests.delete(
            f"{base}/api/v1/jobs/{from_upload.json()['data']['job_id']}",
            headers=auth,
            timeout=10,
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["data"]["status"] == "cancelled"

        for name, value in moto.env(moto.pipeline).items():
            monkeypatch.setenv(name, value)
        pipeline = aws_service(Settings.from_env(dict(os.environ), profile="lambda"))
        pipeline.lifecycle.start_processing(job_id)
        moto.client("s3", moto.pipeline).put_object(
            Bucket=BUCKET, Key=f"results/{job_id}.json", Body=b'{"rooms": 3}'
        )
        pipeline.lifecycle.complete_job(job_id, f"results/{job_id}.json")
        result = requests.get(f"{base}/api/v1/jobs/{job_id}/result", headers=auth, timeout=10)
        assert result.status_code == 200, result.text
        assert result.json()["data"]["result"] == {"rooms": 3}

        feedback = requests.post(
            f"{base}/api/v1/jobs/{job_id}/feedback", json={"rating": 4}, headers=auth, timeout=10
        )
        assert feedback.status_code == 201, feedback.text
        cached = post_job(base, auth, png())
        assert cached.status_code == 201, cached.text
        assert cached.json()["data"]["cached_from"] == job_id
    assert not [line for line in log if "AccessDenied" in line or '"status": 500' in line]


def test_moto_enforces_the_policy(moto: Moto, auth: dict[str, str]) -> None:
    """Without dynamodb:DeleteItem, a refused request cannot release its key: the client still
    gets the real answer, but the key stays locked (and the log says why). And the function's
    own keys may not scan the table, read outside its three prefixes or write results."""
    log: list[str] = []
    with serving(moto, moto.no_delete, log) as base:
        key = {"Idempotency-Key": "iam-e2e-no-delete"}
        refused = post_job(base, auth, b"not a blueprint", **key)
        assert refused.status_code == 400, refused.text
        locked = post_job(base, auth, png(), **key)
        assert locked.status_code == 409, locked.text
        assert locked.json()["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert any("AccessDenied" in line and "DeleteItem" in line for line in log)

    dynamodb = moto.client("dynamodb", moto.function)
    with pytest.raises(ClientError, match="AccessDenied"):
        dynamodb.scan(TableName=TABLE)
    stored = "elsewhere/job_01jdz5k3a1b2c3d4e5f6g7h8j9/result.json"
    moto.client("s3", moto.pipeline).put_object(Bucket=BUCKET, Key=stored, Body=pdf())
    s3 = moto.client("s3", moto.function)
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.get_object(Bucket=BUCKET, Key=stored)  # outside blueprints/, uploads/ and results/
    with pytest.raises(ClientError, match="AccessDenied"):  # results are read, never written
        s3.put_object(Bucket=BUCKET, Key="results/job_01jdz5k3a1b2c3d4e5f6g7h8j9.json", Body=b"{}")
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.put_object(Bucket=BUCKET, Key="elsewhere/blueprint", Body=pdf())
    s3.put_object(Bucket=BUCKET, Key="uploads/upl_01jdz5k3a1b2c3d4e5f6g7h8j9/blueprint", Body=pdf())
