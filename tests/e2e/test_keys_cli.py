"""``blueprint-jobs keys create|list|revoke`` on a moto.server table, as an operator runs them,
and the keys they make used against ``serve --storage aws``."""

from __future__ import annotations

import os
import subprocess

import pytest
import requests

from domain import api_keys
from tests.blueprints import png
from tests.e2e.servers import (
    aws_env_for,
    bearer,
    cli,
    create_key,
    free_port,
    init_storage,
    keys_cli,
    running,
)

pytestmark = pytest.mark.slow
OWNER = "cli-owner"


@pytest.fixture(scope="module")
def env(moto_server: str) -> dict[str, str]:
    env = aws_env_for(moto_server, "keys")
    assert init_storage(env).returncode == 0
    return env


def listed(env: dict[str, str], *args: str) -> dict[str, list[str]]:
    """``keys list``'s lines by key id, each split in its fields."""
    done = keys_cli(env, "list", *args)
    assert done.returncode == 0, done.stderr
    lines = [line.split("  ") for line in done.stdout.splitlines()]
    return {fields[0]: fields[1:] for fields in lines}


def test_keys_create_shows_the_secret_once_and_it_works_against_the_server(
    env: dict[str, str],
) -> None:
    made = keys_cli(env, "create", "--owner", OWNER, "--name", "nightly import")
    assert made.returncode == 0, made.stderr
    first, second = made.stdout.splitlines()
    key_id, owner, scopes = first.split("  ")
    assert api_keys.KEY_ID.fullmatch(key_id)
    assert (owner, scopes) == (f"owner={OWNER}", "scopes=jobs:read jobs:write")
    assert second.startswith("secret: bjk_")
    secret = second.removeprefix("secret: ")
    assert api_keys.well_formed(secret)
    assert (made.stdout + made.stderr).count(secret) == 1
    assert "cannot be shown again" in made.stderr

    _, reader = create_key(env, OWNER, "dashboard", scopes=["jobs:read"])
    gone_id, gone = create_key(env, OWNER, "retired")
    assert keys_cli(env, "revoke", gone_id).returncode == 0  # before the server ever saw it
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*cli(), "serve", "--port", str(port), "--storage", "aws"]
    with running(command, f"{base}/health", env=env):
        jobs = requests.get(f"{base}/api/v1/jobs", headers=bearer(secret), timeout=30)
        read = requests.get(f"{base}/api/v1/jobs", headers=bearer(reader), timeout=30)
        write = requests.post(
            f"{base}/api/v1/jobs",
            data=png(),
            headers={"Content-Type": "image/png", **bearer(reader)},
            timeout=30,
        )
        revoked = requests.get(f"{base}/api/v1/jobs", headers=bearer(gone), timeout=30)
    assert jobs.status_code == 200, jobs.text
    assert jobs.json()["data"] == []
    assert read.status_code == 200, read.text
    assert write.status_code == 403, write.text
    assert write.json()["error"]["code"] == "FORBIDDEN"
    assert write.json()["error"]["details"]["required_scope"] == "jobs:write"
    assert write.headers["WWW-Authenticate"] == (
        'Bearer realm="blueprint-jobs", error="insufficient_scope", scope="jobs:write"'
    )
    assert revoked.status_code == 401, revoked.text
    assert revoked.json()["error"]["code"] == "UNAUTHENTICATED"


def test_keys_list_shows_a_key_but_never_its_secret_and_revoke_marks_it(
    env: dict[str, str],
) -> None:
    key_id, secret = create_key(env, OWNER, "reports")
    create_key(env, "another-owner", "theirs")
    done = keys_cli(env, "list")
    assert secret not in done.stdout + done.stderr
    assert api_keys.digest_of(secret) not in done.stdout + done.stderr
    owner, scopes, created, revoked, name = listed(env)[key_id]
    assert (owner, scopes, revoked, name) == (OWNER, "jobs:read jobs:write", "revoked=-", "reports")
    assert created.startswith("created=20")
    mine = listed(env, "--owner", OWNER)
    assert key_id in mine
    assert {fields[0] for fields in mine.values()} == {OWNER}
    assert key_id not in listed(env, "--owner", "another-owner")

    revoked_now = keys_cli(env, "revoke", key_id)
    assert revoked_now.returncode == 0, revoked_now.stderr
    assert revoked_now.stdout.strip() == f"{key_id} revoked; it stops working within 60 s"
    *_, revoked, _ = listed(env, "--owner", OWNER)[key_id]
    assert revoked.startswith("revoked=20")


def test_revoking_an_unknown_key_exits_1(env: dict[str, str]) -> None:
    unknown = "key_01jdz5k3a1b2c3d4e5f6g7h8j9"
    done = keys_cli(env, "revoke", unknown)
    assert done.returncode == 1
    assert done.stderr.strip() == f"blueprint-jobs: no API key has the id {unknown!r}"


def test_keys_need_aws_storage(env: dict[str, str]) -> None:
    done = subprocess.run(
        [*cli(), "keys", "create", "--owner", OWNER, "--name", "laptop"],
        env={**os.environ, **env, "BLUEPRINT_JOBS_STORAGE": "memory"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("blueprint-jobs: keys are kept in the AWS table")
    assert "the server makes its own development key" in done.stderr


def test_a_key_the_model_refuses_exits_2(env: dict[str, str]) -> None:
    done = keys_cli(env, "create", "--owner", OWNER, "--name", "")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "name" in done.stderr
