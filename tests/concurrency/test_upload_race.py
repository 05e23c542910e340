"""16 requests create a job from one upload at once: one job, and every other answer 409."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from adapters.memory import MemoryBlobStore
from adapters.s3 import S3BlobStore
from entrypoints.lambda_api import make_handler
from ports.blobs import BlobStore
from ports.jobs import JobStore
from tests.blueprints import pdf
from tests.fakes import OWNER, SeededEntropy, SteppingClock
from tests.helpers import SETTINGS, use_cases_over
from tests.http.clients import FakeLambdaContext, api_gateway_event, api_key, make_api

REQUESTS = 16


def _send(blobs: BlobStore, fields: dict[str, str], key: str, data: bytes) -> None:
    """The client's upload: to the local store's form receiver, or straight into S3."""
    if hasattr(blobs, "accept_upload"):
        blobs.accept_upload(fields, [data])
    else:
        blobs.put(key, [data], len(data))


def test_sixteen_creations_from_one_upload_make_one_job(
    stores: tuple[JobStore, BlobStore, int],
) -> None:
    jobs, blobs, _ = stores
    clock = SteppingClock()
    service = use_cases_over(jobs, blobs, clock, SeededEntropy(), result_cache=False)
    handler = make_handler(make_api(service, SETTINGS, clock))
    session, form = service.intake.open_upload(OWNER, "pdf", len(pdf()))
    _send(blobs, dict(form.fields), session.key, pdf())

    body = f'{{"upload_id": "{session.upload_id}"}}'.encode()
    headers = {"Content-Type": "application/json", "X-Api-Key": api_key(service)}
    event = api_gateway_event("POST", "/api/v1/jobs", headers, body)
    answers: list[dict[str, Any]] = []
    barrier = threading.Barrier(REQUESTS)

    def create() -> None:
        barrier.wait()
        answers.append(handler(event, FakeLambdaContext()))

    threads = [threading.Thread(target=create) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = Counter(answer["statusCode"] for answer in answers)
    assert statuses == {201: 1, 409: REQUESTS - 1}, [a["body"] for a in answers]
    (winner,) = [a for a in answers if a["statusCode"] == 201]
    job_id = winner["headers"]["Location"].rsplit("/", 1)[1]
    for answer in answers:
        if answer["statusCode"] == 409:
            assert '"code":"UPLOAD_ALREADY_USED"' in answer["body"]
            assert f'"job_id":"{job_id}"' in answer["body"]
    # One blob: the job's. The losers' copies and the upload itself are gone.
    assert _stored_keys(blobs) == [jobs.get(job_id).blueprint_s3_key]


def _stored_keys(blobs: BlobStore) -> list[str]:
    if isinstance(blobs, MemoryBlobStore):
        return blobs.keys()
    assert isinstance(blobs, S3BlobStore)
    listed = blobs.client.list_objects_v2(Bucket=blobs.bucket).get("Contents", [])
    return sorted(str(item["Key"]) for item in listed)
