"""The local server's own check of bearer JWTs (on Lambda, API Gateway's authorizer checks
them and this module is never imported).

A token is taken when its signature verifies with a key of the issuer's JWKS under an
asymmetric algorithm (never ``none``, never an HMAC whose secret could be the public key),
``iss`` is the issuer, ``aud`` (or, lacking it, ``client_id``, as API Gateway reads them) names
the audience if one is configured, ``exp`` is in the future and ``nbf``/``iat`` are not, with a
little leeway for clocks. Keys come from ``jwks_url``, or from the ``jwks_uri`` of the issuer's
OpenID discovery document, fetched at the first token, not before, and cached by PyJWT's
``PyJWKClient``. Every refusal is ``Unauthenticated`` with a short message that never repeats
the token.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import jwt

from domain.errors import ServiceUnavailable, Unauthenticated
from entrypoints.settings import ConfigurationError, Settings

log = logging.getLogger("blueprint_jobs.jwt")

# Asymmetric only: the JWKS holds public keys, and a verifier that took HS256 could be handed a
# token MACed with one of them.
ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
LEEWAY_SECONDS = 30
FETCH_TIMEOUT_SECONDS = 5.0
# How long a fetched JWKS is used before it is fetched again.
JWKS_LIFESPAN_SECONDS = 300.0
# The least time between two fetches for an unknown kid, so that tokens naming random kids
# cannot make each request fetch the JWKS.
REFETCH_COOLDOWN_SECONDS = 30.0
UNAVAILABLE_RETRY_SECONDS = 5

_KEYS_UNAVAILABLE = "The issuer's signing keys could not be fetched."
_REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "The token has expired."),
    (jwt.ImmatureSignatureError, "The token is not valid yet."),
    (jwt.InvalidIssuerError, "The token comes from another issuer."),
    (jwt.InvalidSignatureError, "The token's signature does not verify."),
    (jwt.PyJWKClientError, "The token's signing key is not one of the issuer's."),
)


class JwtVerifier:
    """A ``TokenVerifier`` (``entrypoints.http.auth``) over the issuer's published keys."""

    def __init__(
        self,
        issuer: str,
        audience: str | None = None,
        jwks_url: str | None = None,
        *,
        timeout_seconds: float = FETCH_TIMEOUT_SECONDS,
        refetch_cooldown_seconds: float = REFETCH_COOLDOWN_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Checks the URLs (a setting the server cannot run with fails at its start) but
        fetches nothing."""
        for name, url in (("issuer", issuer), ("JWKS URL", jwks_url)):
            if url is not None and not _is_web_url(url):
                raise ConfigurationError(f"The JWT {name} must be an http(s) URL: {url!r}")
        self._issuer = issuer
        self._audience = audience
        self._jwks_url = jwks_url
        self._timeout = timeout_seconds
        self._cooldown = refetch_cooldown_seconds
        self._monotonic = monotonic
        self._client: jwt.PyJWKClient | None = None
        self._failed_at: float | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, settings: Settings) -> JwtVerifier:
        if not settings.jwt_issuer:
            raise ConfigurationError("A JWT verifier needs an issuer.")
        if settings.jwt_audience is None:
            # As the template requires both: a token of the issuer meant for any other
            # application must not be taken for one meant for this API.
            raise ConfigurationError(
                "BLUEPRINT_JOBS_JWT_AUDIENCE must be set with BLUEPRINT_JOBS_JWT_ISSUER"
            )
        return cls(settings.jwt_issuer, settings.jwt_audience, settings.jwks_url)

    @property
    def discovery_url(self) -> str:
        return f"{self._issuer.rstrip('/')}/.well-known/openid-configuration"

    def verify(self, token: str) -> Mapping[str, object]:
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError):
            raise Unauthenticated("The token is not a valid JWT.") from None
        if header.get("alg") not in ALGORITHMS:
            raise Unauthenticated("The token's signing algorithm is not accepted.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("The token names no signing key (kid).")
        try:
            key = self._keys().get_signing_key(kid)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                # The audience is checked below, as API Gateway checks it.
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.PyJWKClientConnectionError as error:
            log.warning("could not fetch the issuer's signing keys: %s", error)
            raise _keys_unavailable() from None
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise Unauthenticated(_refusal(error)) from None
        if self._audience is not None and not _names(claims, self._audience):
            raise Unauthenticated("The token is meant for another audience.")
        return claims

    def _keys(self) -> jwt.PyJWKClient:
        """The JWKS client, made at the first token (the discovery document read then)."""
        with self._lock:
            if self._client is None:
                url = self._jwks_url or self._discover()
                self._client = jwt.PyJWKClient(
                    url,
                    lifespan=JWKS_LIFESPAN_SECONDS,
                    timeout=self._timeout,
                    cooldown_duration=self._cooldown,
                )
            return self._client

    def _discover(self) -> str:
        """The ``jwks_uri`` of the issuer's OpenID discovery document. After a failure, tokens
        are refused without asking again for the cooldown's time: requests wait for no
        unreachable issuer."""
        now = self._monotonic()
        if self._failed_at is not None and now - self._failed_at < self._cooldown:
            raise _keys_unavailable()
        url = self.discovery_url
        try:
            # The scheme is checked at construction.
            with urllib.request.urlopen(url, timeout=self._timeout) as response:  # noqa: S310
                jwks_uri = json.load(response)["jwks_uri"]
            if not isinstance(jwks_uri, str) or not _is_web_url(jwks_uri):
                raise ValueError("its jwks_uri is not an http(s) URL")
        except (OSError, ValueError, LookupError, TypeError) as error:
            self._failed_at = now
            log.warning("could not read the issuer's discovery document %s: %s", url, error)
            raise _keys_unavailable() from None
        return jwks_uri


def _keys_unavailable() -> ServiceUnavailable:
    """Not the token's fault: it cannot be checked now. A 503 tells the client to retry, where
    a 401 would send a browser's user to sign in again for nothing."""
    return ServiceUnavailable(_KEYS_UNAVAILABLE, retry_after=UNAVAILABLE_RETRY_SECONDS)


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _names(claims: Mapping[str, Any], audience: str) -> bool:
    """Whether the token is meant for ``audience``: its ``aud`` (a string or a list) names it,
    or, only when it has no ``aud``, its ``client_id`` does (API Gateway's JWT authorizer reads
    them so, and Cognito's access tokens carry only ``client_id``)."""
    aud = claims.get("aud")
    if aud is None:
        return claims.get("client_id") == audience
    if isinstance(aud, str):
        return aud == audience
    return isinstance(aud, list) and audience in aud


def _refusal(error: Exception) -> str:
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"The token lacks the {error.claim} claim."
    for kind, message in _REFUSALS:
        if isinstance(error, kind):
            return message
    return "The token is not a valid JWT."
