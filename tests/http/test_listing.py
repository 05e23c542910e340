"""``GET /api/{v}/jobs``: the caller's jobs, newest first, a page at a time."""

from __future__ import annotations

import base64
import json

import pytest

from domain.use_cases import UseCases
from tests.blueprints import jpeg, pdf, png
from tests.fakes import OTHER_OWNER, SteppingClock
from tests.helpers import SETTINGS, assert_error, create, finish
from tests.http.clients import CLIENTS, Client


def _jobs(client: Client, n: int) -> list[str]:
    made = []
    for index in range(n):
        blueprint = (png, jpeg, pdf)[index % 3]()
        reply = create(client, blueprint, "application/octet-stream")
        assert reply.status == 201
        made.append(reply.data["job_id"])
    return made


def _page(client: Client, query: str = "", version: str = "v1") -> tuple[list[str], str | None]:
    reply = client.request("GET", f"/api/{version}/jobs{query}")
    assert reply.status == 200, reply.body
    body = reply.json()
    if version == "v1":
        return [job["job_id"] for job in body["data"]], body["meta"]["next_page_token"]
    data = body["data"]
    return [job["id"] for job in data["jobs"]], data["next_page_token"]


def test_an_owner_without_jobs_has_an_empty_listing(client: Client) -> None:
    assert _page(client) == ([], None)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_pages_go_from_newest_to_oldest_without_gaps_or_repeats(
    client: Client, version: str
) -> None:
    made = _jobs(client, 7)
    seen: list[str] = []
    ids, token = _page(client, "?limit=3", version)
    seen += ids
    while token is not None:
        assert len(ids) == 3
        ids, token = _page(client, f"?limit=3&page_token={token}", version)
        seen += ids
    assert seen == made[::-1]


def test_the_default_page_is_twenty_and_the_most_is_a_hundred(client: Client) -> None:
    made = _jobs(client, 21)
    ids, token = _page(client)
    assert ids == made[::-1][:20]
    assert token is not None
    assert _page(client, "?limit=100") == (made[::-1], None)


def test_a_status_filter_lists_only_that_status(client: Client, service: UseCases) -> None:
    made = _jobs(client, 5)
    for job_id in made[1::2]:
        finish(service, job_id)
    ids, token = _page(client, "?status=completed&limit=1")
    assert ids == [made[3]]
    assert token is not None
    assert _page(client, f"?status=completed&limit=1&page_token={token}") == ([made[1]], None)
    assert _page(client, "?status=pending")[0] == [made[4], made[2], made[0]]
    assert _page(client, "?status=failed") == ([], None)


@pytest.mark.parametrize(
    "query",
    ["?limit=0", "?limit=101", "?limit=ten", "?limit=-1", "?limit=1&limit=2", "?status=done"],
)
def test_bad_parameters_are_400(client: Client, query: str) -> None:
    assert_error(client.request("GET", f"/api/v1/jobs{query}"), 400, "INVALID_REQUEST_BODY")


def test_a_token_works_only_in_the_listing_that_gave_it(
    client: Client, service: UseCases, entrypoint: str, clock: SteppingClock
) -> None:
    _jobs(client, 3)
    _, token = _page(client, "?limit=1")
    assert token is not None
    # Another owner cannot use it, even to see an empty page.
    other: Client = CLIENTS[entrypoint](service, SETTINGS, clock, owner=OTHER_OWNER)
    reply = other.request("GET", f"/api/v1/jobs?limit=1&page_token={token}")
    assert_error(reply, 400, "INVALID_PAGE_TOKEN")
    # Nor another listing of the same owner (another status).
    reply = client.request("GET", f"/api/v1/jobs?status=pending&page_token={token}")
    assert_error(reply, 400, "INVALID_PAGE_TOKEN")


def test_a_token_rewritten_to_name_another_owners_listing_is_refused(
    client: Client, service: UseCases, entrypoint: str, clock: SteppingClock
) -> None:
    other: Client = CLIENTS[entrypoint](service, SETTINGS, clock, owner=OTHER_OWNER)
    theirs = _jobs(other, 2)
    _jobs(client, 2)
    _, token = _page(client, "?limit=1")
    assert token is not None
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    data["a"] = theirs[-1]  # start after their newest job: still only our own partition
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    ids, _ = _page(client, f"?page_token={forged}")
    assert not set(ids) & set(theirs)


@pytest.mark.parametrize(
    "token",
    ["garbage", "", "eyJ9", "e30", "W10", "x" * 600, base64.urlsafe_b64encode(b"\xff").decode()],
)
def test_a_token_not_given_by_the_service_is_400(client: Client, token: str) -> None:
    reply = client.request("GET", f"/api/v1/jobs?page_token={token}")
    assert_error(reply, 400, "INVALID_PAGE_TOKEN")


def test_listed_jobs_are_the_jobs_representation(client: Client) -> None:
    job_id = _jobs(client, 1)[0]
    listed = client.request("GET", "/api/v2/jobs").data["jobs"][0]
    assert listed == client.request("GET", f"/api/v2/jobs/{job_id}").data


@pytest.mark.parametrize("value", [0, 1, 20, 100, 101])
def test_the_documented_limit_is_the_one_served(client: Client, value: int) -> None:
    """What the OpenAPI document calls a valid ``limit`` is what the server takes."""
    from entrypoints.http import openapi

    [parameter] = [
        p
        for p in openapi.document("v1")["paths"]["/api/v1/jobs"]["get"]["parameters"]
        if p["name"] == "limit"
    ]
    schema = parameter["schema"]
    documented = schema["minimum"] <= value <= schema["maximum"]
    reply = client.request("GET", f"/api/v1/jobs?limit={value}")
    assert (reply.status == 200) == documented, reply.body
    assert schema["default"] == 20
