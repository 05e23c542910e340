"""Who is calling: the principal of a request, from an API key or a verified JWT.

- A JWT that API Gateway's authorizer verified reaches us as claims in the event
  (``HttpRequest.verified_claims``): ``sub`` is the owner, ``scope`` or ``scp`` the scopes.
- Otherwise the credential is read from ``Authorization: Bearer <token>`` or ``X-Api-Key``:
  an API key (``bjk_...``) is looked up; any other bearer token is a JWT, verified by the
  configured verifier (the local server's) or refused. A token nobody verified is never
  trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from domain import api_keys
from domain.errors import Forbidden, InvalidRequest, Unauthenticated
from domain.principals import Principal, is_owner, known_scopes
from domain.use_cases import Access
from entrypoints.http.messages import HttpRequest

REALM = "blueprint-jobs"
_MISSING = (
    "Send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>', or a bearer JWT."
)


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Mapping[str, object]:
        """The claims of a valid token; ``Unauthenticated`` for any other."""


class Authenticator:
    def __init__(self, access: Access, verifier: TokenVerifier | None = None) -> None:
        self._access = access
        self._verifier = verifier

    def authenticate(self, request: HttpRequest) -> Principal:
        claims = request.verified_claims
        if claims is not None:
            return principal_of_claims(claims)
        token = _credential(request)
        if token.startswith(api_keys.PREFIX):
            return self._access.authenticate_key(token)
        if self._verifier is not None:
            return principal_of_claims(self._verifier.verify(token))
        raise Unauthenticated("The credential is neither an API key nor a token this API takes.")


def require(principal: Principal, scope: str) -> None:
    if not principal.allows(scope):
        raise Forbidden(f"This needs the {scope} scope, which the credential lacks.", scope=scope)


def principal_of_claims(claims: Mapping[str, object]) -> Principal:
    """The principal a verified JWT names: ``sub`` is the owner; the scopes come from
    ``scope`` (space-separated, RFC 8693) or ``scp`` (a list, or the string API Gateway
    makes of one)."""
    owner = claims.get("sub")
    if not is_owner(owner):
        raise Unauthenticated("The token names no subject this API can use.")
    assert isinstance(owner, str)
    names: list[str] = []
    for claim in ("scope", "scp"):
        value = claims.get(claim)
        if isinstance(value, str):
            names += value.strip("[]").replace(",", " ").split()
        elif isinstance(value, list | tuple):
            names += [str(name) for name in value]
    return Principal(owner, known_scopes(names), "jwt")


def _credential(request: HttpRequest) -> str:
    authorization = request.header("authorization")
    api_key = request.header("x-api-key")
    bearer: str | None = None
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            # Another scheme (Basic...): no Bearer credential at all (RFC 6750, 3.1).
            raise Unauthenticated("Authorization must be 'Bearer <token>'.", given=False)
        if not token.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'.")
        bearer = token.strip()
    if api_key is not None:
        api_key = api_key.strip()
        if bearer is not None and bearer != api_key:
            # A malformed request, not a bad token (RFC 6750, 3.1: invalid_request).
            raise InvalidRequest(
                "Send one credential: Authorization or X-Api-Key, not both.", field="X-Api-Key"
            )
        if not api_key.startswith(api_keys.PREFIX):  # X-Api-Key carries API keys only
            raise Unauthenticated("X-Api-Key takes an API key (bjk_...).")
        return api_key
    if bearer is None:
        raise Unauthenticated(_MISSING, given=False)
    return bearer


def challenge(error: Unauthenticated | Forbidden) -> str:
    """The ``WWW-Authenticate`` value of a refusal (RFC 6750, section 3)."""
    if isinstance(error, Forbidden):
        return f'Bearer realm="{REALM}", error="insufficient_scope", scope="{error.scope}"'
    if not error.given:
        return f'Bearer realm="{REALM}"'
    return f'Bearer realm="{REALM}", error="invalid_token"'
