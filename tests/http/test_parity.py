"""The same script against both entrypoints gives byte-identical answers."""

from __future__ import annotations

import base64

from adapters.memory import MemoryBlobStore, MemoryJobStore
from domain.use_cases import UseCases
from tests.blueprints import jpeg, pdf, png
from tests.fakes import SeededEntropy, SteppingClock
from tests.helpers import SETTINGS, use_cases_over
from tests.http.clients import CLIENTS, Client, Reply

ORIGIN = {"Origin": "http://localhost:3000"}


def script(client: Client, service: UseCases) -> list[Reply]:
    replies = [
        client.request("GET", "/health", headers=ORIGIN),
        client.request("GET", "/health/ready"),
        client.request("POST", "/api/v1/jobs", headers={"Content-Type": "image/png"}, body=png()),
        client.request("POST", "/api/v2/jobs", json_body={"blueprint": base64.b64encode(jpeg()).decode()}),
        client.request("POST", "/api/v1/jobs", headers={"Content-Type": "image/jpeg"}, body=pdf()),
        client.request("POST", "/api/v9/jobs", headers={"Content-Type": "image/png"}, body=png()),
        client.request("PATCH", "/api/v1/jobs"),
        client.request("OPTIONS", "/api/v1/jobs", headers={**ORIGIN, "Access-Control-Request-Method": "POST"}),
        client.request("OPTIONS", "/api/v1/jobs", headers={"Origin": "https://x.example", "Access-Control-Request-Method": "POST"}),
        client.request("GET", "/api/v1/jobs/job_nope"),
    ]  # fmt: skip
    job_id = replies[2].data["job_id"]
    service.lifecycle.start_processing(job_id)
    replies += [
        client.request("GET", f"/api/v1/jobs/{job_id}", headers={"If-None-Match": '"2"'}),
        client.request("DELETE", f"/api/v1/jobs/{job_id}", headers={"If-Match": '"1"'}),
        client.request("DELETE", f"/api/v1/jobs/{job_id}", headers={**ORIGIN, "X-Correlation-ID": "c-1"}),
        client.request("POST", f"/api/v1/jobs/{job_id}/feedback", json_body={"rating": 2}),
        client.request("GET", f"/api/v2/jobs/{replies[3].data['id']}"),
        client.request("GET", "/api/v2/openapi.json"),
    ]  # fmt: skip
    return replies


def test_both_entrypoints_answer_identically() -> None:
    answers = {}
    for kind, make in CLIENTS.items():
        service = use_cases_over(
            MemoryJobStore(), MemoryBlobStore(), SteppingClock(), SeededEntropy()
        )
        answers[kind] = script(make(service, SETTINGS), service)
    falcon, aws = answers["falcon"], answers["lambda"]
    assert len(falcon) == len(aws)
    for index, (left, right) in enumerate(zip(falcon, aws, strict=True)):
        assert left.status == right.status, index
        assert left.headers == right.headers, index
        assert left.body == right.body, index
    assert [reply.status for reply in falcon] == [
        200, 200, 201, 201, 400, 404, 405, 204, 403, 400, 304, 412, 200, 409, 200, 200,
    ]  # fmt: skip
