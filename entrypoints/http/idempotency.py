"""``Idempotency-Key`` (IETF httpapi idempotency-key draft) for the POSTs that create things.

The first request under a key claims it, runs, and stores its 2xx response with a fingerprint
of the request (a SHA-256 of method, route, query, media type and body: the body itself is never
kept). A retry with the same fingerprint gets that response again, marked
``Idempotent-Replayed: true``; a different request under the key gets 422; a retry while the
first still runs gets 409. Anything but a 2xx releases the key, and so does a claim whose
answer never came (it may have been written all the same).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

from attrs import evolve

from domain.errors import DomainError, InvalidRequest, ServiceUnavailable, WriteOutcomeUnknown
from entrypoints.http import bodies
from entrypoints.http.errors import HttpProblem
from entrypoints.http.messages import HttpRequest, HttpResponse, Readable
from ports.idempotency import IdempotencyRecord, IdempotencyStore, RecordState
from ports.system import Clock

log = logging.getLogger("blueprint_jobs.idempotency")

HEADER = "idempotency-key"
_REPLAYED_HEADERS = ("content-type", "cache-control", "etag", "location")
_DRAIN_BYTES = 64 * 1024


class IdempotencyKeyInUse(HttpProblem):
    code = "IDEMPOTENCY_KEY_IN_USE"


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"


def parse_key(header: str) -> str:
    """1..255 visible ASCII characters, bare or as a quoted string."""
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not 1 <= len(value) <= 255 or not all(0x21 <= ord(c) <= 0x7E for c in value):
        raise InvalidRequest(
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            field="Idempotency-Key",
        )
    return value


def scope_of(owner: str, route: str, version: str, key: str) -> str:
    """Keys are per owner, route and API version: one owner's key never meets another's.
    Stores see only this digest, never the key."""
    return hashlib.sha256(f"{owner}\n{route}\n{version}\n{key}".encode()).hexdigest()


class _HashingReader:
    """Passes the body through while hashing it into the request's fingerprint."""

    def __init__(self, body: Readable, digest: Any) -> None:
        self._body = body
        self._digest = digest

    def read(self, size: int = -1, /) -> bytes:
        data = self._body.read(size)
        self._digest.update(data)
        return data

    def drain(self) -> None:
        while self.read(_DRAIN_BYTES):
            pass


class Idempotency:
    def __init__(self, store: IdempotencyStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def run(
        self,
        request: HttpRequest,
        owner: str,
        route: str,
        version: str,
        handler: Callable[[HttpRequest], HttpResponse],
    ) -> HttpResponse:
        scope = scope_of(owner, route, version, parse_key(request.header(HEADER) or ""))
        digest = hashlib.sha256()
        media_type = bodies.media_type(request)
        # The query is part of the request (``?fresh=true`` asks for another job).
        head = f"{request.method.upper()}\n{route}\n{version}\n{request.query}\n{media_type}\n"
        digest.update(head.encode("utf-8", "surrogatepass"))  # hashed, whatever it holds
        reader = _HashingReader(request.body, digest)
        token = secrets.token_hex(16)
        claim = IdempotencyRecord.claim(scope, token, self._clock.now())
        try:
            existing = self._store.claim(claim, self._clock.now())
        except ServiceUnavailable:
            # The claim may have been written though its answer never came (a timeout, or a
            # request that ran out of time before a retry): let it go, or it would hold the
            # key until its lease ran out.
            self._release(scope, token)
            raise
        if existing is not None:
            return self._answer_retry(existing, reader, digest)
        try:
            response = handler(_with_body(request, reader))
        except WriteOutcomeUnknown:
            # The job may exist: keep the claim, so that a retry within the lease is told to
            # wait (409) instead of making a second job; the lease frees the key after.
            raise
        except BaseException:
            self._release(scope, token)
            raise
        if not 200 <= response.status < 300:
            self._release(scope, token)
            return response
        try:
            reader.drain()  # the fingerprint covers the whole body, read or not
            self._store.complete(claim.completed(digest.hexdigest(), _encode(response)))
        except Exception:
            # What was done is done: the client gets its answer. A retry within the lease is
            # told to wait; after it, the key is free.
            log.exception("could not record an idempotent response")
        return response

    def _release(self, scope: str, token: str) -> None:
        """Let the key go. If even that fails, the request still answers as it would have
        (the error it met, or its refusal): the claim's lease frees the key later."""
        try:
            self._store.release(scope, token)
        except Exception:
            log.exception("could not release an idempotency key")

    def _answer_retry(
        self, existing: IdempotencyRecord, reader: _HashingReader, digest: Any
    ) -> HttpResponse:
        if existing.state is RecordState.IN_FLIGHT:
            raise IdempotencyKeyInUse(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                headers={"Retry-After": "1"},
            )
        reader.drain()
        if digest.hexdigest() != existing.fingerprint or existing.response is None:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for a different request; use a new key."
            )
        replay = _decode(existing.response)
        replay.headers.append(("Idempotent-Replayed", "true"))
        return replay


def _with_body(request: HttpRequest, body: Readable) -> HttpRequest:
    # The handler must read through ``body`` (which hashes), not a body held aside.
    return evolve(request, body=body, body_bytes=None)


def _encode(response: HttpResponse) -> str:
    headers = [[k, v] for k, v in response.headers if k.lower() in _REPLAYED_HEADERS]
    return json.dumps(
        {"status": response.status, "headers": headers, "body": response.body.decode()}
    )


def _decode(stored: str) -> HttpResponse:
    data = json.loads(stored)
    headers = [(str(k), str(v)) for k, v in data["headers"]]
    return HttpResponse(int(data["status"]), headers, str(data["body"]).encode())
