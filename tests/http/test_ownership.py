"""Object-level authorization (OWASP API1): every route, for an object of one's own, of another
owner's, and for none at all, on both entrypoints and on both storages. Another owner's job or
upload is answered exactly as one that does not exist."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adapters.memory import MemoryApiKeyStore, MemoryBlobStore, MemoryJobStore, MemoryRateCounter
from domain.blueprint import MAX_BLUEPRINT_BYTES
from domain.job import JobStatus
from domain.use_cases import UseCases
from entrypoints.http.resources import API_ROUTES
from entrypoints.http.routes import PUBLIC
from ports.blobs import BlobStore
from tests.aws import dynamodb_use_cases, moto_in_process, new_blob_store, new_job_store
from tests.blueprints import pdf, png
from tests.fakes import OTHER_OWNER, OWNER, SeededEntropy, SteppingClock
from tests.helpers import SETTINGS, UNKNOWN, create, finish, use_cases_over
from tests.http.clients import CLIENTS, Client, Reply

UNKNOWN_UPLOAD = "upl_01jdz5k3a1b2c3d4e5f6g7h8j9"


class World:
    """One service, a client for each of two owners, and what the test needs to set up."""

    def __init__(self, service: UseCases, blobs: BlobStore, entrypoint: str) -> None:
        self.service = service
        self.blobs = blobs
        clock = SteppingClock()
        self.mine: Client = CLIENTS[entrypoint](service, SETTINGS, clock, owner=OWNER)
        self.theirs: Client = CLIENTS[entrypoint](service, SETTINGS, clock, owner=OTHER_OWNER)

    def job(self, client: Client, *, finished: bool = False) -> str:
        reply = create(client, png())
        assert reply.status == 201, reply.body
        job_id: str = reply.data["job_id"]
        if finished:
            finish(self.service, job_id)
            # What the pipeline stores where its update says (tests.helpers.finish).
            self.blobs.put(f"results/{job_id}.json", [b'{"rooms": []}'], MAX_BLUEPRINT_BYTES)
        return job_id

    def upload(self, client: Client) -> str:
        """An upload session of ``client``'s owner whose file is in storage."""
        reply = client.request(
            "POST", "/api/v1/uploads", json_body={"format": "pdf", "size_bytes": len(pdf())}
        )
        assert reply.status == 201, reply.body
        session = reply.data
        self.blobs.put(session["fields"]["key"], [pdf()], MAX_BLUEPRINT_BYTES)
        upload_id: str = session["upload_id"]
        return upload_id


@pytest.fixture(params=["memory", "dynamodb"])
def storage(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[UseCases, BlobStore]]:
    if request.param == "memory":
        blobs = MemoryBlobStore(upload_secret=b"test-secret")
        service = use_cases_over(MemoryJobStore(), blobs)
        yield service, blobs
        return
    with moto_in_process(monkeypatch):
        jobs = new_job_store()
        s3 = new_blob_store()
        service = dynamodb_use_cases(jobs, s3)
        yield service, s3


@pytest.fixture
def world(storage: tuple[UseCases, BlobStore], entrypoint: str) -> World:
    return World(*storage, entrypoint)


# What each route does with an object of one's own, another owner's, and none. Each case is
# (request as the owner, what the store must still show afterwards).
Case = Callable[[World, str | None], Reply]


def _get_job(world: World, job_id: str | None) -> Reply:
    return world.mine.request("GET", f"/api/v1/jobs/{job_id or UNKNOWN}")


def _cancel_job(world: World, job_id: str | None) -> Reply:
    return world.mine.request("DELETE", f"/api/v1/jobs/{job_id or UNKNOWN}")


def _feedback(world: World, job_id: str | None) -> Reply:
    return world.mine.request(
        "POST", f"/api/v1/jobs/{job_id or UNKNOWN}/feedback", json_body={"rating": 5}
    )


def _result(world: World, job_id: str | None) -> Reply:
    return world.mine.request("GET", f"/api/v1/jobs/{job_id or UNKNOWN}/result")


def _create_from_upload(world: World, upload_id: str | None) -> Reply:
    return world.mine.request(
        "POST", "/api/v1/jobs", json_body={"upload_id": upload_id or UNKNOWN_UPLOAD}
    )


# Routes whose path or body names an object, and how the matrix makes that object.
OBJECT_ROUTES: dict[tuple[str, str], tuple[Case, str, int]] = {
    ("/api/{v}/jobs/{job_id}", "GET"): (_get_job, "job", 200),
    ("/api/{v}/jobs/{job_id}", "DELETE"): (_cancel_job, "job", 200),
    ("/api/{v}/jobs/{job_id}/feedback", "POST"): (_feedback, "finished job", 201),
    ("/api/{v}/jobs/{job_id}/result", "GET"): (_result, "finished job", 200),
    ("/api/{v}/jobs", "POST"): (_create_from_upload, "upload", 201),
}
# Routes that name no object: they act on the caller's own collection (tested below).
COLLECTION_ROUTES = {("/api/{v}/jobs", "GET"), ("/api/{v}/uploads", "POST")}


def test_the_matrix_covers_every_route_that_needs_a_principal() -> None:
    secured = {
        (route.template, method)
        for route in API_ROUTES
        for method, operation in route.operations.items()
        if operation.scope is not PUBLIC
    }
    assert secured == set(OBJECT_ROUTES) | COLLECTION_ROUTES


def _make(world: World, kind: str, client: Client) -> str:
    if kind == "upload":
        return world.upload(client)
    return world.job(client, finished=kind == "finished job")


def _same_refusal(theirs: Reply, absent: Reply) -> None:
    """Nothing in the answer tells another owner's object from a missing one."""
    assert theirs.status == absent.status == 404
    assert theirs.error["code"] == absent.error["code"]
    assert theirs.error["message"] == absent.error["message"]
    assert set(theirs.error["details"]) == set(absent.error["details"])
    ignored = {"x-request-id", "x-correlation-id"}
    assert {k: v for k, v in theirs.headers.items() if k not in ignored} == {
        k: v for k, v in absent.headers.items() if k not in ignored
    }


@pytest.mark.parametrize("route", sorted(OBJECT_ROUTES), ids="-".join)
def test_another_owners_object_is_answered_as_a_missing_one(
    world: World, route: tuple[str, str]
) -> None:
    case, kind, success = OBJECT_ROUTES[route]
    own = _make(world, kind, world.mine)
    theirs = _make(world, kind, world.theirs)
    before = None if kind == "upload" else _snapshot(world.service, theirs)

    assert case(world, own).status == success
    refused, absent = case(world, theirs), case(world, None)
    _same_refusal(refused, absent)
    # Nothing of theirs changed: their job and its feedback are as they were, their upload is
    # still theirs to use.
    if kind == "upload":
        reply = world.theirs.request("POST", "/api/v1/jobs", json_body={"upload_id": theirs})
        assert reply.status == 201, reply.body
    else:
        assert _snapshot(world.service, theirs) == before


def _snapshot(service: UseCases, job_id: str) -> Any:
    job = service.lifecycle.get_job(OTHER_OWNER, job_id)
    return job, service.feedback.list_feedback(OTHER_OWNER, job_id)


def test_a_listing_shows_only_the_callers_jobs(world: World) -> None:
    own = {world.job(world.mine) for _ in range(2)}
    theirs = {world.job(world.theirs) for _ in range(3)}
    listed = {job["job_id"] for job in world.mine.request("GET", "/api/v1/jobs").data}
    assert listed == own
    listed = {job["job_id"] for job in world.theirs.request("GET", "/api/v1/jobs").data}
    assert listed == theirs


def test_an_upload_session_serves_only_its_owner(world: World) -> None:
    upload_id = world.upload(world.theirs)
    assert _create_from_upload(world, upload_id).error["code"] == "UPLOAD_NOT_FOUND"
    reply = world.theirs.request("POST", "/api/v1/jobs", json_body={"upload_id": upload_id})
    assert reply.status == 201


def test_the_result_cache_never_hands_out_another_owners_job(world: World) -> None:
    theirs = world.job(world.theirs, finished=True)
    mine = create(world.mine, png()).data
    assert mine["cached_from"] is None
    assert mine["status"] == JobStatus.PENDING.value
    finish(world.service, mine["job_id"])
    again = create(world.mine, png()).data
    assert again["cached_from"] == mine["job_id"] != theirs


def test_idempotency_keys_are_each_owners_own(world: World) -> None:
    headers = {"Idempotency-Key": "same-key"}
    first = create(world.mine, png(), **headers)
    second = create(world.theirs, png(), **headers)
    assert first.status == second.status == 201
    assert "idempotent-replayed" not in second.headers
    assert first.data["job_id"] != second.data["job_id"]
    assert world.theirs.request("GET", f"/api/v1/jobs/{first.data['job_id']}").status == 404


def test_the_store_never_lists_a_key_of_one_owner_as_anothers() -> None:
    service = UseCases.over(
        MemoryJobStore(),
        MemoryBlobStore(),
        SteppingClock(),
        SeededEntropy(),
        keys=MemoryApiKeyStore(),
        counter=MemoryRateCounter(SteppingClock()),
    )
    service.access.create_key(OWNER, "a", ["jobs:read"])
    service.access.create_key(OTHER_OWNER, "b", ["jobs:read"])
    assert [key.owner for key in service.access.list_keys(OWNER)] == [OWNER]
