"""Who may call (OWASP API2): API keys, scopes and the answers to everyone else; and the
per-owner quotas (API4), on both entrypoints."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from domain import api_keys
from domain.use_cases import UseCases
from domain.use_cases.access import KEY_CACHE_SECONDS
from entrypoints.http.messages import HttpRequest
from entrypoints.settings import Settings
from tests.blueprints import png
from tests.fakes import OTHER_OWNER, OWNER, START, SteppingClock
from tests.helpers import ALLOWED_ORIGIN, SETTINGS, UNKNOWN, assert_error, create, parsed
from tests.http.clients import CLIENTS, Client, api_key, make_api

JOBS = "/api/v1/jobs"


def anonymous(entrypoint: str, service: UseCases, clock: SteppingClock) -> Client:
    made: Client = CLIENTS[entrypoint](service, SETTINGS, clock, owner=None)
    return made


def _challenge(reply: object) -> str:
    headers = reply.headers  # type: ignore[attr-defined]
    value: str = headers["www-authenticate"]
    return value


# -- authentication --------------------------------------------------------------------------


def test_no_credentials_is_401_with_a_bearer_challenge(
    entrypoint: str, service: UseCases, clock: SteppingClock
) -> None:
    reply = anonymous(entrypoint, service, clock).request("GET", JOBS)
    assert_error(reply, 401, "UNAUTHENTICATED")
    assert _challenge(reply) == 'Bearer realm="blueprint-jobs"'


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer bjk_notakey"},
        {"Authorization": "Bearer"},
        {"X-Api-Key": "bjk_" + "a" * 32},  # the right form, a wrong checksum
        {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},  # a JWT nobody checks
        {"X-Api-Key": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},  # X-Api-Key takes keys only
    ],
    ids=["short", "empty-bearer", "checksum", "unverified-jwt", "jwt-as-api-key"],
)
def test_a_malformed_or_unverifiable_credential_is_401_invalid_token(
    client: Client, headers: dict[str, str]
) -> None:
    reply = client.request("GET", JOBS, headers=headers)
    assert_error(reply, 401, "UNAUTHENTICATED")
    assert _challenge(reply) == 'Bearer realm="blueprint-jobs", error="invalid_token"'


def test_an_unknown_key_is_401(client: Client) -> None:
    unknown = api_keys.new_secret(b"\x01" * api_keys.RANDOM_BYTES)
    assert api_keys.well_formed(unknown)
    assert_error(
        client.request("GET", JOBS, headers={"X-Api-Key": unknown}), 401, "UNAUTHENTICATED"
    )


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key"])
def test_a_key_is_taken_from_either_header(
    entrypoint: str, service: UseCases, clock: SteppingClock, header: str
) -> None:
    key = api_key(service)
    value = f"Bearer {key}" if header == "Authorization" else key
    reply = anonymous(entrypoint, service, clock).request("GET", JOBS, headers={header: value})
    assert reply.status == 200, reply.body


def test_another_scheme_is_no_bearer_credential(client: Client) -> None:
    """RFC 6750, 3.1: a request without a Bearer credential gets the bare challenge."""
    reply = client.request("GET", JOBS, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_error(reply, 401, "UNAUTHENTICATED")
    assert _challenge(reply) == 'Bearer realm="blueprint-jobs"'


def test_two_different_credentials_are_a_malformed_request(
    client: Client, service: UseCases
) -> None:
    headers = {"Authorization": f"Bearer {api_key(service)}", "X-Api-Key": api_key(service)}
    details = assert_error(
        client.request("GET", JOBS, headers=headers), 400, "INVALID_REQUEST_BODY"
    )
    assert details == {"field": "X-Api-Key"}


def test_made_up_keys_never_push_a_real_callers_key_out_of_the_cache() -> None:
    from adapters.memory import MemoryApiKeyStore, MemoryBlobStore, MemoryJobStore
    from domain.errors import Unauthenticated
    from domain.use_cases.access import KEY_CACHE_ENTRIES
    from tests.helpers import use_cases_over

    class CountingKeys(MemoryApiKeyStore):
        lookups = 0

        def find_key(self, digest: str) -> api_keys.ApiKey | None:
            self.lookups += 1
            return super().find_key(digest)

    keys = CountingKeys()
    service = use_cases_over(MemoryJobStore(), MemoryBlobStore(), keys=keys)
    key = api_key(service)
    service.access.authenticate_key(key)
    for n in range(KEY_CACHE_ENTRIES + 10):
        made_up = api_keys.new_secret(n.to_bytes(api_keys.RANDOM_BYTES, "big"))
        for _ in range(2):  # the second time, answered from the cache
            with pytest.raises(Unauthenticated):
                service.access.authenticate_key(made_up)
    assert keys.lookups == 1 + KEY_CACHE_ENTRIES + 10  # one read per made-up key
    assert service.access.authenticate_key(key).owner == OWNER
    assert keys.lookups == 1 + KEY_CACHE_ENTRIES + 10  # the real key is still cached


def test_a_revoked_key_stops_working_within_the_cache_time(
    entrypoint: str, service: UseCases, clock: SteppingClock
) -> None:
    key = api_key(service)
    client = anonymous(entrypoint, service, clock)
    headers = {"X-Api-Key": key}
    assert client.request("GET", JOBS, headers=headers).status == 200
    [stored] = [k for k in service.access.list_keys(OWNER) if k.digest == api_keys.digest_of(key)]
    service.access.revoke_key(stored.key_id)
    clock.set(START + timedelta(seconds=KEY_CACHE_SECONDS + 1))
    assert_error(client.request("GET", JOBS, headers=headers), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "path", ["/health", "/health/ready", "/api/v1/openapi.json", "/api/v2/openapi.json"]
)
def test_health_and_the_documents_need_no_credentials(
    entrypoint: str, service: UseCases, clock: SteppingClock, path: str
) -> None:
    assert anonymous(entrypoint, service, clock).request("GET", path).status == 200


def test_a_preflight_needs_no_credentials(
    entrypoint: str, service: UseCases, clock: SteppingClock
) -> None:
    reply = anonymous(entrypoint, service, clock).request(
        "OPTIONS",
        JOBS,
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert reply.status == 204
    assert "authorization" in reply.headers["access-control-allow-headers"].lower()


def test_credentials_are_checked_before_the_body_is_read(service: UseCases) -> None:
    class Unreadable(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("the body was read")

    response = make_api(service, SETTINGS).handle(
        HttpRequest("POST", JOBS, {"content-type": "application/pdf"}, Unreadable())
    )
    assert response.status == 401


# -- scopes ----------------------------------------------------------------------------------


def test_a_read_only_key_reads_but_does_not_write(
    entrypoint: str, service: UseCases, clock: SteppingClock
) -> None:
    writer = CLIENTS[entrypoint](service, SETTINGS, clock)
    job_id = create(writer, png()).data["job_id"]
    reader = anonymous(entrypoint, service, clock)
    headers = {"X-Api-Key": api_key(service, scopes=("jobs:read",))}
    assert reader.request("GET", f"{JOBS}/{job_id}", headers=headers).status == 200
    for method, path in (("POST", JOBS), ("DELETE", f"{JOBS}/{job_id}")):
        reply = reader.request(method, path, headers={**headers, "Content-Type": "image/png"})
        details = assert_error(reply, 403, "FORBIDDEN")
        assert details == {"required_scope": "jobs:write"}
        assert _challenge(reply) == (
            'Bearer realm="blueprint-jobs", error="insufficient_scope", scope="jobs:write"'
        )
    assert service.lifecycle.get_job(OWNER, job_id).status.value == "pending"


def test_a_write_only_key_does_not_read(
    entrypoint: str, service: UseCases, clock: SteppingClock
) -> None:
    headers = {"X-Api-Key": api_key(service, scopes=("jobs:write",))}
    reply = anonymous(entrypoint, service, clock).request(
        "GET", f"{JOBS}/{UNKNOWN}", headers=headers
    )
    assert_error(reply, 403, "FORBIDDEN")


def test_the_access_line_names_the_owner_never_the_key(
    client: Client, log_lines: io.StringIO
) -> None:
    client.request("GET", JOBS)
    [line] = [entry for entry in parsed(log_lines) if entry.get("message") == "request"]
    assert line["owner"] == OWNER
    assert client.key is not None  # type: ignore[attr-defined]
    assert client.key not in log_lines.getvalue()  # type: ignore[attr-defined]


# -- quotas ----------------------------------------------------------------------------------


def limited(entrypoint: str, service: UseCases, clock: SteppingClock, owner: str = OWNER) -> Client:
    made: Client = CLIENTS[entrypoint](service, SETTINGS, clock, owner=owner)
    return made


@pytest.fixture
def quota_service(clock: SteppingClock) -> UseCases:
    from adapters.memory import MemoryBlobStore, MemoryJobStore
    from tests.helpers import use_cases_over

    settings = Settings(jobs_per_minute=3, uploads_per_minute=2)
    return use_cases_over(
        MemoryJobStore(), MemoryBlobStore(), clock, rate_policies=settings.rate_policies
    )


def test_creations_past_the_quota_are_429_with_the_ratelimit_headers(
    entrypoint: str, quota_service: UseCases, clock: SteppingClock
) -> None:
    clock.set(START.replace(second=0, microsecond=0))
    client = limited(entrypoint, quota_service, clock)
    for remaining in (2, 1, 0):
        reply = create(client, png())
        assert reply.status == 201
        assert reply.headers["ratelimit-policy"] == '"jobs";q=3;w=60'
        assert reply.headers["ratelimit"].startswith(f'"jobs";r={remaining};t=')
    refused = create(client, png())
    details = assert_error(refused, 429, "RATE_LIMITED")
    assert details["policy"] == "jobs"
    assert details["quota"] == 3
    retry = int(refused.headers["retry-after"])
    assert 1 <= retry <= 60
    assert refused.headers["ratelimit"] == f'"jobs";r=0;t={retry}'
    assert refused.headers["ratelimit-policy"] == '"jobs";q=3;w=60'
    # Another owner has a quota of its own; the next window lets the owner in again.
    assert create(limited(entrypoint, quota_service, clock, OTHER_OWNER), png()).status == 201
    clock.set(START.replace(second=0, microsecond=0) + timedelta(seconds=60))
    assert create(client, png()).status == 201


def test_upload_sessions_have_their_own_quota(
    entrypoint: str, quota_service: UseCases, clock: SteppingClock
) -> None:
    clock.set(START.replace(second=0, microsecond=0))
    client = limited(entrypoint, quota_service, clock)
    body = {"format": "pdf", "size_bytes": 100}
    assert [client.request("POST", "/api/v1/uploads", json_body=body).status for _ in range(3)] == [
        201,
        201,
        429,
    ]
    assert create(client, png()).status == 201  # the jobs quota is untouched


def test_reads_are_not_counted(
    entrypoint: str, quota_service: UseCases, clock: SteppingClock
) -> None:
    client = limited(entrypoint, quota_service, clock)
    for _ in range(5):
        reply = client.request("GET", JOBS)
        assert reply.status == 200
        assert "ratelimit" not in reply.headers


def test_unfinished_jobs_past_the_limit_are_429_until_one_finishes(
    entrypoint: str, clock: SteppingClock
) -> None:
    from adapters.memory import MemoryBlobStore, MemoryJobStore
    from tests.helpers import use_cases_over

    service = use_cases_over(MemoryJobStore(), MemoryBlobStore(), clock, unfinished_limit=2)
    client = limited(entrypoint, service, clock)
    first = create(client, png()).data["job_id"]
    assert create(client, png()).status == 201
    refused = create(client, png())
    details = assert_error(refused, 429, "RATE_LIMITED")
    assert details == {"policy": "unfinished", "quota": 2}
    assert refused.headers["retry-after"] == "60"
    assert refused.headers["ratelimit-policy"] == '"unfinished";q=2'
    assert client.request("DELETE", f"{JOBS}/{first}").status == 200
    assert create(client, png()).status == 201


def test_a_429_is_in_the_envelope_and_says_when_to_retry(
    entrypoint: str, quota_service: UseCases, clock: SteppingClock
) -> None:
    client = limited(entrypoint, quota_service, clock)
    replies = [create(client, png()) for _ in range(4)]
    body = json.loads(replies[-1].body)
    assert body["status"] == "error"
    assert "retry in" in body["error"]["message"]
