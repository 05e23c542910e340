"""A JWT issuer for the tests: RSA keys made with ``cryptography``, signed tokens, forged ones,
and its OpenID discovery document and JWKS served over real HTTP on a loopback port."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "blueprint-jobs-web"
SUBJECT = "user-123"
SCOPES = "openid jobs:read jobs:write"
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/keys.json"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS in compact form with the signature given (none at all for ``alg: none``)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url(signature)}"


class Issuer:
    """An identity provider's signing side: keys by kid, the newest one signing."""

    def __init__(self, url: str = "http://127.0.0.1") -> None:
        self.url = url
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.current = ""
        self.rotate()

    def rotate(self) -> str:
        """A new key, published in the JWKS and signing from now on; its kid."""
        kid = f"key-{len(self.keys) + 1}"
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.current = kid
        return kid

    def jwks(self) -> dict[str, Any]:
        published = []
        for kid, key in self.keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            published.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": published}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": SUBJECT,
            "aud": AUDIENCE,
            "scope": SCOPES,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, kid: str | None = None, **overrides: Any) -> str:
        """A token signed with RS256 by ``kid`` (the current key); ``overrides`` set claims,
        a claim set to None is left out."""
        kid = kid or self.current
        return jwt.encode(
            self.claims(**overrides), self.keys[kid], algorithm="RS256", headers={"kid": kid}
        )

    def public_pem(self, kid: str | None = None) -> bytes:
        return (
            self.keys[kid or self.current]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def hs256_with_public_key(self, **overrides: Any) -> str:
        """The algorithm-confusion forgery: HMAC-SHA256 keyed with the issuer's public key."""
        header = {"alg": "HS256", "typ": "JWT", "kid": self.current}
        unsigned = compact(header, self.claims(**overrides)).rsplit(".", 1)[0]
        mac = hmac.new(self.public_pem(), unsigned.encode(), hashlib.sha256).digest()
        return f"{unsigned}.{b64url(mac)}"

    def unsigned(self, **overrides: Any) -> str:
        """``alg: none``: no signature at all."""
        return compact({"alg": "none", "typ": "JWT", "kid": self.current}, self.claims(**overrides))


class _Handler(BaseHTTPRequestHandler):
    server: _IssuerServer

    def do_GET(self) -> None:
        issuer = self.server.issuer
        if self.path == DISCOVERY_PATH:
            body: dict[str, Any] = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}{JWKS_PATH}"}
        elif self.path == JWKS_PATH:
            body = issuer.jwks()
        else:
            self.send_error(404)
            return
        self.server.fetches.append(self.path)
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # the tests' output stays quiet
        pass


class _IssuerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, issuer: Issuer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.issuer = issuer
        self.fetches: list[str] = []


@contextmanager
def served_issuer() -> Iterator[tuple[Issuer, list[str]]]:
    """An issuer whose URL is a loopback server publishing its discovery document and JWKS,
    and the paths fetched from it so far."""
    issuer = Issuer()
    server = _IssuerServer(issuer)
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield issuer, server.fetches
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
