"""The local server's JWT verifier against a real issuer: its discovery document and JWKS
served over HTTP, its tokens signed with RSA keys, and the usual forgeries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from domain.errors import ServiceUnavailable, Unauthenticated
from entrypoints.bootstrap import build_api
from entrypoints.http.api import Api
from entrypoints.http.messages import NO_BODY, HttpRequest, HttpResponse
from entrypoints.jwt_verifier import LEEWAY_SECONDS, JwtVerifier
from entrypoints.settings import ConfigurationError, Settings
from tests.e2e.servers import free_port
from tests.jwt_tokens import (
    AUDIENCE,
    DISCOVERY_PATH,
    JWKS_PATH,
    SUBJECT,
    Issuer,
    b64url,
    compact,
    served_issuer,
)


@pytest.fixture
def served() -> Iterator[tuple[Issuer, list[str]]]:
    with served_issuer() as served:
        yield served


@pytest.fixture
def issuer(served: tuple[Issuer, list[str]]) -> Issuer:
    return served[0]


@pytest.fixture
def fetches(served: tuple[Issuer, list[str]]) -> list[str]:
    return served[1]


@pytest.fixture
def verifier(issuer: Issuer) -> JwtVerifier:
    return JwtVerifier(issuer.url, AUDIENCE)


def refused(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token)
    message = caught.value.message
    # Short, and nothing of the token in it: no segment, not even the signature's.
    assert len(message) < 80
    assert all(part not in message for part in token.split(".") if len(part) > 3)
    return message


def test_a_valid_token_gives_its_claims_and_the_keys_are_fetched_once(
    issuer: Issuer, fetches: list[str]
) -> None:
    verifier = JwtVerifier(issuer.url, AUDIENCE)
    assert fetches == []  # nothing fetched before the first token
    claims = verifier.verify(issuer.token())
    assert claims["sub"] == SUBJECT
    assert claims["scope"] == "openid jobs:read jobs:write"
    verifier.verify(issuer.token(sub="someone-else"))
    assert fetches == [DISCOVERY_PATH, JWKS_PATH]


def test_a_configured_jwks_url_needs_no_discovery(issuer: Issuer, fetches: list[str]) -> None:
    verifier = JwtVerifier(issuer.url, AUDIENCE, jwks_url=f"{issuer.url}{JWKS_PATH}")
    assert verifier.verify(issuer.token())["sub"] == SUBJECT
    assert fetches == [JWKS_PATH]


def test_the_settings_name_the_issuer_audience_and_keys(issuer: Issuer) -> None:
    settings = Settings(jwt_issuer=issuer.url, jwt_audience=AUDIENCE)
    assert JwtVerifier.of(settings).verify(issuer.token())["sub"] == SUBJECT
    with pytest.raises(ConfigurationError):
        JwtVerifier.of(Settings())


@pytest.mark.parametrize(
    ("issuer_url", "jwks_url"),
    [("issuer.example.com", None), ("file:///etc", None), ("https://ok.example", "ftp://x/k")],
)
def test_urls_that_are_not_http_are_refused_at_the_start(
    issuer_url: str, jwks_url: str | None
) -> None:
    with pytest.raises(ConfigurationError):
        JwtVerifier(issuer_url, AUDIENCE, jwks_url)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"iss": "https://attacker.example"}, "another issuer"),
        ({"iss": None}, "lacks the iss claim"),
        ({"aud": "another-api"}, "another audience"),
        ({"aud": ["another-api", "a-third"]}, "another audience"),
        ({"aud": None}, "another audience"),
        ({"exp": None}, "lacks the exp claim"),
        # Times as seconds from when the test runs (collection may be minutes earlier).
        ({"exp": -LEEWAY_SECONDS - 60}, "expired"),
        ({"nbf": LEEWAY_SECONDS + 60}, "not valid yet"),
        ({"iat": LEEWAY_SECONDS + 60}, "not valid yet"),
    ],
)
def test_claims_out_of_bounds_are_refused(
    verifier: JwtVerifier, issuer: Issuer, overrides: dict[str, Any], expected: str
) -> None:
    now = int(time.time())
    claims = {
        name: now + value if name in ("exp", "nbf", "iat") and isinstance(value, int) else value
        for name, value in overrides.items()
    }
    assert expected in refused(verifier, issuer.token(**claims))


def test_clocks_a_little_apart_are_tolerated(verifier: JwtVerifier, issuer: Issuer) -> None:
    now = int(time.time())
    skew = LEEWAY_SECONDS // 2
    assert verifier.verify(issuer.token(exp=now - skew, nbf=now + skew, iat=now + skew))


def test_the_audience_is_read_as_api_gateway_reads_it(issuer: Issuer) -> None:
    verifier = JwtVerifier(issuer.url, AUDIENCE)
    assert verifier.verify(issuer.token(aud=["another-api", AUDIENCE]))
    # No aud: client_id names the audience (Cognito's access tokens); never when aud is there.
    assert verifier.verify(issuer.token(aud=None, client_id=AUDIENCE))
    refused(verifier, issuer.token(aud="another-api", client_id=AUDIENCE))
    # No audience configured: aud is not checked.
    assert JwtVerifier(issuer.url).verify(issuer.token(aud="any-api"))


def test_an_unknown_key_is_refused(verifier: JwtVerifier, issuer: Issuer) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(issuer.claims(), stranger, algorithm="RS256", headers={"kid": "ghost"})
    assert "signing key" in refused(verifier, forged)
    # A known kid on a token some other key signed: the signature does not verify.
    posing = jwt.encode(
        issuer.claims(), stranger, algorithm="RS256", headers={"kid": issuer.current}
    )
    assert "signature" in refused(verifier, posing)


def test_alg_none_is_refused(verifier: JwtVerifier, issuer: Issuer, fetches: list[str]) -> None:
    assert "algorithm" in refused(verifier, issuer.unsigned())
    assert fetches == []  # refused before any key is looked up


def test_hs256_keyed_with_the_public_key_is_refused(verifier: JwtVerifier, issuer: Issuer) -> None:
    assert "algorithm" in refused(verifier, issuer.hs256_with_public_key())


def test_a_tampered_payload_is_refused(verifier: JwtVerifier, issuer: Issuer) -> None:
    header, _, signature = issuer.token().split(".")
    claims = compact({}, issuer.claims(sub="admin")).split(".")[1]
    assert "signature" in refused(verifier, f"{header}.{claims}.{signature}")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b.c",
        "a.b",
        "....",
        f"{b64url(b'[1, 2]')}.{b64url(b'{}')}.",
        f"{b64url(b'not json')}.{b64url(b'{}')}.sig",
        "\u00e9t\u00e9.\u00e9t\u00e9.\u00e9t\u00e9",
    ],
)
def test_garbage_is_refused(verifier: JwtVerifier, token: str) -> None:
    refused(verifier, token)


def test_a_token_without_kid_is_refused(verifier: JwtVerifier, issuer: Issuer) -> None:
    token = jwt.encode(issuer.claims(), issuer.keys[issuer.current], algorithm="RS256")
    assert "kid" in refused(verifier, token)


def test_a_rotated_key_is_fetched_when_a_token_names_it(issuer: Issuer, fetches: list[str]) -> None:
    verifier = JwtVerifier(issuer.url, AUDIENCE, refetch_cooldown_seconds=0)
    assert verifier.verify(issuer.token())
    new_kid = issuer.rotate()
    assert verifier.verify(issuer.token())["sub"] == SUBJECT
    assert verifier.verify(issuer.token(kid="key-1"))  # the old key is still published
    assert fetches == [DISCOVERY_PATH, JWKS_PATH, JWKS_PATH]
    assert new_kid == "key-2"


def test_unknown_kids_do_not_make_every_request_fetch_the_keys(
    verifier: JwtVerifier, issuer: Issuer, fetches: list[str]
) -> None:
    assert verifier.verify(issuer.token())
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(5):
        forged = jwt.encode(issuer.claims(), stranger, algorithm="RS256", headers={"kid": f"k{n}"})
        refused(verifier, forged)
    assert fetches == [DISCOVERY_PATH, JWKS_PATH]


def unavailable(verifier: JwtVerifier, token: str) -> str:
    """The token could not be checked: a 503 with Retry-After, not a 401."""
    with pytest.raises(ServiceUnavailable) as caught:
        verifier.verify(token)
    assert caught.value.retry_after > 0
    return caught.value.message


def test_an_unreachable_issuer_is_unavailable_and_not_asked_at_each_request() -> None:
    now = [100.0]
    verifier = JwtVerifier(
        f"http://127.0.0.1:{free_port()}",
        AUDIENCE,
        timeout_seconds=2,
        refetch_cooldown_seconds=30,
        monotonic=lambda: now[0],
    )
    token = Issuer().token()
    assert "could not be fetched" in unavailable(verifier, token)
    started = time.monotonic()
    assert "could not be fetched" in unavailable(verifier, token)
    assert time.monotonic() - started < 0.5
    now[0] += 31
    assert "could not be fetched" in unavailable(verifier, token)


def test_keys_that_cannot_be_fetched_are_unavailable(issuer: Issuer) -> None:
    verifier = JwtVerifier(issuer.url, AUDIENCE, jwks_url=f"http://127.0.0.1:{free_port()}/k")
    assert "could not be fetched" in unavailable(verifier, issuer.token())


def test_an_issuer_without_a_discovery_document_is_unavailable(issuer: Issuer) -> None:
    verifier = JwtVerifier(f"{issuer.url}/nowhere", AUDIENCE)  # answers 404
    assert "could not be fetched" in unavailable(verifier, issuer.token())


# -- the composition root: the local server verifies, a Lambda never does ----------------


def _list_jobs(api: Api, token: str) -> HttpResponse:
    headers = {"authorization": f"Bearer {token}"}
    return api.handle(HttpRequest("GET", "/api/v1/jobs", headers, NO_BODY))


def test_the_local_server_verifies_jwts_of_the_configured_issuer(issuer: Issuer) -> None:
    settings = Settings(jwt_issuer=issuer.url, jwt_audience=AUDIENCE)
    api = build_api(settings, configure_logs=False, verify_jwts=True)
    assert _list_jobs(api, issuer.token()).status == 200
    assert _list_jobs(api, issuer.unsigned()).status == 401


def test_without_an_issuer_or_on_lambda_no_jwt_is_taken(issuer: Issuer) -> None:
    on_lambda = Settings(jwt_issuer=issuer.url, jwt_audience=AUDIENCE)
    for api in (
        build_api(Settings(), configure_logs=False, verify_jwts=True),
        build_api(on_lambda, configure_logs=False),
    ):
        assert _list_jobs(api, issuer.token()).status == 401


def test_an_issuer_without_an_audience_does_not_start() -> None:
    """As the template requires: a token meant for another application of the issuer must not
    pass for one meant for this API."""
    settings = Settings(jwt_issuer="https://issuer.example")
    with pytest.raises(ConfigurationError, match="AUDIENCE"):
        JwtVerifier.of(settings)
