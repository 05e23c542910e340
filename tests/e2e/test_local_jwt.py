"""``blueprint-jobs serve`` verifying bearer JWTs itself against an issuer's JWKS served over
HTTP, and a Lambda that never does (API Gateway verifies there)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.servers import cli, free_port, running
from tests.jwt_tokens import AUDIENCE, DISCOVERY_PATH, JWKS_PATH, Issuer, served_issuer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def issuer_and_server() -> Iterator[tuple[Issuer, list[str], str]]:
    with served_issuer() as (issuer, fetches):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        # The issuer from the environment, the audience from a flag: both reach the settings.
        command = [*cli(), "serve", "--port", str(port), "--jwt-audience", AUDIENCE]
        env = {"BLUEPRINT_JOBS_STORAGE": "memory", "BLUEPRINT_JOBS_JWT_ISSUER": issuer.url}
        with running(command, f"{base}/health", env=env):
            yield issuer, fetches, base


def _list(base: str, token: str) -> requests.Response:
    return requests.get(
        f"{base}/api/v1/jobs", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_a_valid_jwt_lists_the_callers_jobs(
    issuer_and_server: tuple[Issuer, list[str], str],
) -> None:
    issuer, fetches, base = issuer_and_server
    reply = _list(base, issuer.token())
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"] == []
    assert DISCOVERY_PATH in fetches and JWKS_PATH in fetches


@pytest.mark.parametrize("forgery", ["stranger", "none", "hs256", "audience", "expired"])
def test_a_forged_jwt_is_refused_with_a_bearer_challenge(
    issuer_and_server: tuple[Issuer, list[str], str], forgery: str
) -> None:
    issuer, _, base = issuer_and_server
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forgeries: dict[str, Callable[[], str]] = {
        "stranger": lambda: jwt.encode(
            issuer.claims(), stranger, algorithm="RS256", headers={"kid": issuer.current}
        ),
        "none": issuer.unsigned,
        "hs256": issuer.hs256_with_public_key,
        "audience": lambda: issuer.token(aud="another-api"),
        "expired": lambda: issuer.token(exp=1_700_000_000),
    }
    token = forgeries[forgery]()
    reply = _list(base, token)
    assert reply.status_code == 401, reply.text
    challenge = reply.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert reply.json()["error"]["code"] == "UNAUTHENTICATED"
    assert token not in reply.text


def test_a_lambda_configured_with_an_issuer_never_loads_jwt() -> None:
    """On Lambda API Gateway verifies: the function takes claims from the event, builds no
    verifier and never imports PyJWT, whatever the environment says."""
    probe = (
        "import os, sys, json\n"
        "os.environ.update(BLUEPRINT_JOBS_STORAGE='memory',"
        " BLUEPRINT_JOBS_JWT_ISSUER='https://issuer.example.com',"
        " BLUEPRINT_JOBS_JWT_AUDIENCE='web')\n"
        "from entrypoints import lambda_api\n"
        "event = {'version': '2.0', 'rawPath': '/api/v1/jobs', 'rawQueryString': '',"
        " 'headers': {}, 'requestContext': {'http': {'method': 'GET', 'path': '/api/v1/jobs'},"
        " 'requestId': 'r', 'authorizer': {'jwt': {'claims': {'sub': 'user-1',"
        " 'scope': 'jobs:read'}, 'scopes': None}}}, 'isBase64Encoded': False}\n"
        "result = lambda_api.handler(event, None)\n"
        "print(json.dumps([result['statusCode'], sorted(m for m in sys.modules "
        "if m.split('.')[0] == 'jwt' or m == 'entrypoints.jwt_verifier')]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [200, []]
