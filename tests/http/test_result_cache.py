"""The blueprint-hash result cache, on both entrypoints."""

from __future__ import annotations

import pytest

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.use_cases import UseCases
from entrypoints.settings import Settings
from tests.blueprints import pdf, png
from tests.fakes import OWNER, SeededEntropy, SteppingClock
from tests.helpers import SETTINGS, create, create_from, finish, open_session, send, use_cases_over
from tests.http.clients import CLIENTS, Client


def test_a_known_blueprint_completes_at_once(client: Client, service: UseCases) -> None:
    first = create(client, png()).data
    finish(service, first["job_id"])
    second = create(client, png())
    assert second.status == 201
    job = second.data
    assert job["status"] == "completed"
    assert job["cached_from"] == first["job_id"]
    assert job["result_s3_key"] == f"results/{first['job_id']}.json"
    assert job["version"] == 1
    assert job["error"] is None
    v2 = client.request("GET", f"/api/v2/jobs/{job['job_id']}").data
    assert v2["done"] is True
    assert v2["cached_from"] == first["job_id"]
    assert v2["result"] == {"s3_key": f"results/{first['job_id']}.json"}


@pytest.mark.parametrize("fresh", ["true", "1"])
def test_fresh_asks_for_a_fresh_detection(client: Client, service: UseCases, fresh: str) -> None:
    first = create(client, png()).data
    finish(service, first["job_id"])
    reply = client.request(
        "POST", f"/api/v1/jobs?fresh={fresh}", headers={"Content-Type": "image/png"}, body=png()
    )
    assert reply.data["status"] == "pending"
    assert reply.data["cached_from"] is None
    reused = client.request(
        "POST", "/api/v1/jobs?fresh=false", headers={"Content-Type": "image/png"}, body=png()
    )
    assert reused.data["cached_from"] == first["job_id"]


@pytest.mark.parametrize("header", ["no-cache", "max-age=0, no-cache", "no-store"])
def test_cache_control_is_an_http_caches_business_not_a_fresh_detection(
    client: Client, service: UseCases, header: str
) -> None:
    """Browsers add it by themselves (devtools' "Disable cache", fetch's cache: "reload")."""
    first = create(client, png()).data
    finish(service, first["job_id"])
    job = create(client, png(), **{"Cache-Control": header}).data
    assert job["cached_from"] == first["job_id"]


def test_a_malformed_fresh_is_refused(client: Client) -> None:
    reply = client.request(
        "POST", "/api/v1/jobs?fresh=maybe", headers={"Content-Type": "image/png"}, body=png()
    )
    assert reply.status == 400
    assert reply.error["details"] == {"field": "fresh"}


@pytest.mark.parametrize("outcome", ["failed", "cancelled", "processing"])
def test_only_completed_jobs_are_reused(client: Client, service: UseCases, outcome: str) -> None:
    first = create(client, png()).data["job_id"]
    if outcome == "failed":
        finish(service, first, failed=True)
    elif outcome == "cancelled":
        service.lifecycle.cancel_job(OWNER, first)
    else:
        service.lifecycle.start_processing(first)
    assert create(client, png()).data["status"] == "pending"


def test_another_blueprint_is_not_reused(client: Client, service: UseCases) -> None:
    finish(service, create(client, png()).data["job_id"])
    assert create(client, pdf(), "application/pdf").data["status"] == "pending"


def test_the_cache_works_for_upload_sessions(client: Client, service: UseCases) -> None:
    first = create(client, pdf(), "application/pdf").data["job_id"]
    finish(service, first)
    session = open_session(client, "pdf", len(pdf())).data
    send(client, session, pdf())
    job = create_from(client, session["upload_id"]).data
    assert job["cached_from"] == first


def test_the_cache_can_be_switched_off(entrypoint: str) -> None:
    service = use_cases_over(
        MemoryJobStore(), MemoryBlobStore(), SteppingClock(), SeededEntropy(), result_cache=False
    )
    client = CLIENTS[entrypoint](service, Settings(result_cache=False))
    first = create(client, png()).data["job_id"]
    finish(service, first)
    assert create(client, png()).data["status"] == "pending"


def test_settings_turn_the_cache_off() -> None:
    assert Settings.from_env({"BLUEPRINT_JOBS_RESULT_CACHE": "off"}).result_cache is False
    assert SETTINGS.result_cache is True
