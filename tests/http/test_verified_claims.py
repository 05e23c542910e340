"""On Lambda, a JWT is taken only as API Gateway's JWT authorizer vouches for it: the claims
under ``requestContext.authorizer.jwt.claims``. Never from a header, never from the body, and
an event of any other shape is read without an exception."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.memory import MemoryApiKeyStore, MemoryBlobStore, MemoryJobStore, MemoryRateCounter
from domain.use_cases import UseCases
from entrypoints import lambda_api
from tests.blueprints import png
from tests.fakes import SeededEntropy, SteppingClock
from tests.helpers import SETTINGS
from tests.http.clients import FakeLambdaContext, Reply, api_gateway_event, make_api
from tests.jwt_tokens import Issuer

# As API Gateway hands them on: every claim a string (numbers and lists too).
CLAIMS = {
    "iss": "https://issuer.example.com",
    "sub": "user-123",
    "aud": "blueprint-jobs-web",
    "scope": "openid jobs:read jobs:write",
    "iat": "1795662800",
    "exp": "1795663400",
}


@pytest.fixture
def handler() -> lambda_api.LambdaHandler:
    clock = SteppingClock()
    service = UseCases.over(
        MemoryJobStore(),
        MemoryBlobStore(upload_secret=b"secret", clock=clock),
        clock,
        SeededEntropy(),
        keys=MemoryApiKeyStore(),
        counter=MemoryRateCounter(clock),
    )
    return lambda_api.make_handler(make_api(service, SETTINGS, clock))


def event(
    method: str = "GET",
    path: str = "/api/v1/jobs",
    authorizer: Any = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> dict[str, Any]:
    made = api_gateway_event(method, path, headers or {}, body)
    if authorizer is not None:
        made["requestContext"]["authorizer"] = authorizer
    return made


def authorized(claims: Any, scopes: Any = None) -> dict[str, Any]:
    """The authorizer part of an event whose route has a JWT authorizer (payload 2.0)."""
    return {"jwt": {"claims": claims, "scopes": scopes}}


def call(handler: lambda_api.LambdaHandler, made: dict[str, Any]) -> Reply:
    result = handler(made, FakeLambdaContext())
    return Reply(
        result["statusCode"],
        {name.lower(): value for name, value in result["headers"].items()},
        result["body"].encode(),
    )


def test_the_authorizers_claims_name_the_owner(handler: lambda_api.LambdaHandler) -> None:
    created = call(
        handler,
        event(
            "POST",
            authorizer=authorized(CLAIMS),
            headers={"content-type": "image/png"},
            body=png(),
        ),
    )
    assert created.status == 201, created.body
    job_id = created.data["job_id"]
    mine = call(handler, event(authorizer=authorized(CLAIMS)))
    assert mine.status == 200
    assert [job["job_id"] for job in mine.data] == [job_id]
    theirs = call(handler, event(authorizer=authorized({**CLAIMS, "sub": "user-456"})))
    assert theirs.status == 200
    assert theirs.data == []


def test_api_gateways_stringified_scp_list_is_read(handler: lambda_api.LambdaHandler) -> None:
    claims = {"sub": "user-123", "scp": "[jobs:read]"}
    assert call(handler, event(authorizer=authorized(claims))).status == 200
    refused = call(
        handler,
        event("POST", authorizer=authorized(claims), headers={"content-type": "image/png"}),
    )
    assert refused.status == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]


def test_claims_without_a_usable_subject_are_unauthenticated(
    handler: lambda_api.LambdaHandler,
) -> None:
    reply = call(handler, event(authorizer=authorized({**CLAIMS, "sub": "has space"})))
    assert reply.status == 401
    assert 'error="invalid_token"' in reply.headers["www-authenticate"]


def test_to_request_reads_the_claims_the_authorizer_verified() -> None:
    request = lambda_api.to_request(event(authorizer=authorized(CLAIMS)))
    assert request.verified_claims == CLAIMS
    assert request.malformed is None
    assert lambda_api.to_request(event()).verified_claims is None


# -- what never authenticates ---------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"x-jwt-claims": json.dumps(CLAIMS)},
        {"x-amzn-oidc-data": json.dumps(CLAIMS)},
        {"x-apigateway-authorizer": json.dumps(authorized(CLAIMS))},
        {"requestcontext": json.dumps({"authorizer": authorized(CLAIMS)})},
        {"authorization": f"Bearer {json.dumps(CLAIMS)}"},
    ],
)
def test_claims_in_a_header_never_authenticate(
    handler: lambda_api.LambdaHandler, headers: dict[str, str]
) -> None:
    made = event(headers=headers)
    assert lambda_api.to_request(made).verified_claims is None
    reply = call(handler, made)
    assert reply.status == 401
    assert reply.headers["www-authenticate"].startswith("Bearer ")


def test_claims_in_the_body_never_authenticate(handler: lambda_api.LambdaHandler) -> None:
    body = json.dumps(
        {"requestContext": {"authorizer": authorized(CLAIMS)}, "authorizer": authorized(CLAIMS)}
    ).encode()
    made = event("POST", headers={"content-type": "application/json"}, body=body)
    assert lambda_api.to_request(made).verified_claims is None
    assert call(handler, made).status == 401


def test_a_signed_jwt_that_api_gateway_did_not_verify_is_never_taken(
    handler: lambda_api.LambdaHandler,
) -> None:
    """On Lambda no verifier is configured: a bearer JWT reaching the function on a route
    without the authorizer (the API-key API) is refused, however well it is signed."""
    token = Issuer().token()
    reply = call(handler, event(headers={"authorization": f"Bearer {token}"}))
    assert reply.status == 401
    assert 'error="invalid_token"' in reply.headers["www-authenticate"]


@pytest.mark.parametrize(
    "authorizer",
    [
        "jwt",
        ["jwt"],
        42,
        {},
        {"jwt": None},
        {"jwt": "claims"},
        {"jwt": []},
        {"jwt": {}},
        {"jwt": {"claims": None}},
        {"jwt": {"claims": "sub=user-123"}},
        {"jwt": {"claims": ["sub", "user-123"]}},
        # Another kind of authorizer's context (a Lambda authorizer, IAM): not a JWT's claims.
        {"lambda": {"sub": "user-123", "scope": "jobs:read jobs:write"}},
        {"iam": {"userId": "AIDA", "principalOrgId": None}},
        {"claims": CLAIMS},
    ],
)
def test_odd_authorizer_shapes_give_no_claims_and_no_error(
    handler: lambda_api.LambdaHandler, authorizer: Any
) -> None:
    made = event(authorizer=authorizer)
    request = lambda_api.to_request(made)
    assert request.verified_claims is None
    assert request.malformed is None
    reply = call(handler, made)
    assert reply.status == 401
    assert reply.headers["www-authenticate"] == 'Bearer realm="blueprint-jobs"'


@pytest.mark.parametrize(
    "request_context",
    [None, "context", [], {"authorizer": None}, {"http": {"method": "GET"}, "authorizer": 1}],
)
def test_odd_request_contexts_never_raise(request_context: Any) -> None:
    made = event()
    made["requestContext"] = request_context
    assert lambda_api.to_request(made).verified_claims is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@given(
    st.one_of(
        JSON,
        st.dictionaries(st.sampled_from(["jwt", "lambda", "claims"]), JSON),
        st.builds(lambda jwt: {"jwt": jwt}, st.dictionaries(st.sampled_from(["claims"]), JSON)),
    )
)
def test_any_authorizer_is_read_without_an_exception(authorizer: Any) -> None:
    made = api_gateway_event("GET", "/api/v1/jobs", {}, b"")
    made["requestContext"]["authorizer"] = authorizer
    claims = lambda_api.to_request(made).verified_claims
    if claims is not None:
        assert claims is authorizer["jwt"]["claims"]
