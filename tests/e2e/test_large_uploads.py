"""Large blueprints over real HTTP, against the local server (memory) and against moto.server
(AWS storage): upload sessions with the returned form, limits and formats, inline and not."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
import requests

from domain.blueprint import MAX_BLUEPRINT_BYTES
from tests.blueprints import pdf, png
from tests.e2e.servers import Served, big_pdf, post_form

pytestmark = pytest.mark.slow
MIB = 1024 * 1024


def open_session(server: Served, fmt: str, size: int) -> Any:
    answer = requests.post(
        f"{server.base}/api/v1/uploads",
        json={"format": fmt, "size_bytes": size},
        headers=server.auth,
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["data"]


def create(server: Served, upload_id: str) -> requests.Response:
    return requests.post(
        f"{server.base}/api/v1/jobs",
        json={"upload_id": upload_id},
        headers=server.auth,
        timeout=120,
    )


def test_a_20_mib_pdf_through_a_session(server: Served) -> None:
    data = big_pdf(20 * MIB)
    session = open_session(server, "pdf", len(data))
    assert session["url"].startswith("http://127.0.0.1:")
    assert post_form(session, data).status_code in (200, 201, 204)
    created = create(server, session["upload_id"])
    assert created.status_code == 201, created.text
    job_id = created.json()["data"]["job_id"]
    job = requests.get(f"{server.base}/api/v2/jobs/{job_id}", headers=server.auth, timeout=30)
    job = job.json()["data"]
    assert job["blueprint"] == {
        "format": "pdf",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": 20 * MIB,
    }


def test_the_limit_through_a_session(server: Served) -> None:
    exact = big_pdf(MAX_BLUEPRINT_BYTES)
    over = exact + b"\x00"
    refused = open_session(server, "pdf", MAX_BLUEPRINT_BYTES)
    sent = post_form(refused, over)
    if sent.status_code < 300:  # a store that does not enforce the policy: refused at creation
        answer = create(server, refused["upload_id"])
        assert answer.status_code == 413, answer.text
        assert answer.json()["error"]["code"] == "FILE_TOO_LARGE"
    else:
        assert sent.status_code in (400, 403, 413)
    accepted = open_session(server, "pdf", MAX_BLUEPRINT_BYTES)
    assert post_form(accepted, exact).status_code < 300
    created = create(server, accepted["upload_id"])
    assert created.status_code == 201, created.text
    assert created.json()["data"]["blueprint_size_bytes"] == MAX_BLUEPRINT_BYTES


def test_the_limit_inline(server: Served) -> None:
    exact = big_pdf(MAX_BLUEPRINT_BYTES)
    headers = {"Content-Type": "application/pdf", **server.auth}
    over = requests.post(
        f"{server.base}/api/v1/jobs", data=exact + b"\x00", headers=headers, timeout=120
    )
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "FILE_TOO_LARGE"
    ok = requests.post(f"{server.base}/api/v1/jobs", data=exact, headers=headers, timeout=120)
    assert ok.status_code == 201, ok.text
    assert ok.json()["data"]["blueprint_hash"] == hashlib.sha256(exact).hexdigest()


WRONG = [
    (b"Just a text file, renamed to plan.png\n" * 10, "png", "image/png"),
    (b"\x89PNG\r\n", "png", "image/png"),
    (pdf(), "jpg", "image/jpeg"),
]


@pytest.mark.parametrize(("data", "fmt", "content_type"), WRONG)
def test_wrong_formats_inline_and_through_sessions(
    server: Served, data: bytes, fmt: str, content_type: str
) -> None:
    inline = requests.post(
        f"{server.base}/api/v1/jobs",
        data=data,
        headers={"Content-Type": content_type, **server.auth},
        timeout=30,
    )
    assert inline.status_code == 400
    assert inline.json()["error"]["code"] == "INVALID_FILE_FORMAT"
    as_json = requests.post(
        f"{server.base}/api/v1/jobs",
        json={"blueprint": base64.b64encode(data).decode(), "format": fmt},
        headers=server.auth,
        timeout=30,
    )
    assert as_json.json()["error"]["code"] == "INVALID_FILE_FORMAT"
    session = open_session(server, fmt, len(data))
    assert post_form(session, data).status_code < 300
    created = create(server, session["upload_id"])
    assert created.status_code == 400
    assert created.json()["error"]["code"] == "INVALID_FILE_FORMAT"


def test_a_small_png_through_a_session(server: Served) -> None:
    session = open_session(server, "png", len(png()))
    assert post_form(session, png()).status_code < 300
    assert create(server, session["upload_id"]).status_code == 201
    assert create(server, session["upload_id"]).json()["error"]["code"] == "UPLOAD_ALREADY_USED"
