"""The principal a verified JWT names: ``sub`` the owner, the scopes from ``scope`` or ``scp``
in every form issuers and API Gateway give them."""

from __future__ import annotations

import pytest

from domain.errors import Unauthenticated
from domain.principals import JOBS_READ, JOBS_WRITE
from entrypoints.http.auth import principal_of_claims

BOTH = frozenset({JOBS_READ, JOBS_WRITE})


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"scope": "jobs:read jobs:write"}, BOTH),
        ({"scope": "  jobs:read   jobs:write "}, BOTH),
        ({"scp": ["jobs:read", "jobs:write"]}, BOTH),
        ({"scp": ("jobs:read",)}, {JOBS_READ}),
        ({"scp": "jobs:write"}, {JOBS_WRITE}),
        # API Gateway's JWT authorizer hands every claim on as a string: a list becomes this.
        ({"scp": "[jobs:read jobs:write]"}, BOTH),
        ({"scope": "[jobs:read, jobs:write]"}, BOTH),
        ({"scope": "jobs:read", "scp": ["jobs:write"]}, BOTH),
        # Scopes this service does not know mean nothing here.
        ({"scope": "openid profile email jobs:read admin jobs:*"}, {JOBS_READ}),
        ({"scope": "JOBS:READ jobs:read:all"}, set()),
        ({"scope": ""}, set()),
        ({}, set()),
        ({"scope": 42, "scp": {"jobs:read": True}}, set()),
    ],
)
def test_scopes(claims: dict[str, object], scopes: set[str]) -> None:
    principal = principal_of_claims({"sub": "user-1", **claims})
    assert principal.owner == "user-1"
    assert principal.scopes == scopes
    assert principal.via == "jwt"
    assert principal.key_id is None


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"sub": None},
        {"sub": ""},
        {"sub": 123},
        {"sub": ["user-1"]},
        {"sub": "has space"},
        {"sub": "x" * 129},
        {"sub": "caf\u00e9"},
        {"sub": "line\nbreak"},
    ],
)
def test_a_missing_or_unusable_subject_is_unauthenticated(claims: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated) as caught:
        principal_of_claims({**claims, "scope": "jobs:read jobs:write"})
    assert caught.value.given  # a credential was given: the challenge says invalid_token


def test_the_longest_subject_is_taken() -> None:
    assert principal_of_claims({"sub": "x" * 128}).owner == "x" * 128


@pytest.mark.parametrize(
    ("scope", "granted"),
    [
        ("https://api.example.com/jobs:read", {"jobs:read"}),
        ("blueprint-jobs/jobs:write openid", {"jobs:write"}),
        ("https://api.example.com/jobs:readonly", set()),
        ("xjobs:read", set()),
    ],
)
def test_a_scope_may_be_qualified_by_its_resource_server(scope: str, granted: set[str]) -> None:
    """Cognito names custom scopes <resource server>/<scope>: the last segment counts."""
    assert principal_of_claims({"sub": "user-1", "scope": scope}).scopes == granted
