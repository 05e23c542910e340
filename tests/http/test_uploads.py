"""Upload sessions on both entrypoints: open, send the form, create the job."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from adapters.memory import MemoryBlobStore
from domain.blueprint import MAX_BLUEPRINT_BYTES
from tests.blueprints import jpeg, pdf, png
from tests.fakes import SteppingClock
from tests.helpers import (
    BOUNDARY,
    assert_envelope,
    assert_error,
    create_from,
    open_session,
    send,
)
from tests.http.clients import Client


def test_open_a_session(client: Client, entrypoint: str) -> None:
    reply = open_session(client)
    assert reply.status == 201
    assert_envelope(reply, "success")
    session = reply.data
    assert session["upload_id"].startswith("upl_")
    assert session["method"] == "POST"
    assert session["max_bytes"] == MAX_BLUEPRINT_BYTES
    assert session["fields"]["key"] == f"uploads/{session['upload_id']}/blueprint"
    scheme = "http" if entrypoint == "falcon" else "https"
    assert session["url"].startswith(f"{scheme}://")
    assert session["url"].endswith("/local-uploads")
    assert session["expires_at"].endswith("Z")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"format": "pdf", "size_bytes": MAX_BLUEPRINT_BYTES + 1}, 413, "FILE_TOO_LARGE"),
        ({"format": "pdf", "size_bytes": 0}, 400, "INVALID_REQUEST_BODY"),
        ({"format": "pdf", "size_bytes": True}, 400, "INVALID_REQUEST_BODY"),
        ({"format": "pdf", "size_bytes": "12"}, 400, "INVALID_REQUEST_BODY"),
        ({"format": "gif", "size_bytes": 12}, 400, "INVALID_REQUEST_BODY"),
        ({"size_bytes": 12}, 400, "INVALID_REQUEST_BODY"),
        ({"format": "pdf"}, 400, "INVALID_REQUEST_BODY"),
        ({"format": "pdf", "size_bytes": 12, "name": "x"}, 400, "INVALID_REQUEST_BODY"),
    ],
)
def test_invalid_session_requests(
    client: Client, body: dict[str, Any], status: int, code: str
) -> None:
    assert_error(client.request("POST", "/api/v1/uploads", json_body=body), status, code)


@pytest.mark.parametrize(("fmt", "data"), [("pdf", pdf()), ("png", png()), ("jpeg", jpeg())])
def test_upload_then_create(client: Client, blobs: MemoryBlobStore, fmt: str, data: bytes) -> None:
    session = open_session(client, fmt, len(data)).data
    sent = send(client, session, data)
    assert sent.status == 204
    assert sent.body == b""
    created = create_from(client, session["upload_id"])
    assert created.status == 201, created.body
    job = created.data
    assert job["blueprint_hash"] == hashlib.sha256(data).hexdigest()
    assert job["blueprint_size_bytes"] == len(data)
    assert created.headers["location"] == f"/api/v1/jobs/{job['job_id']}"
    assert blobs.keys() == [job["blueprint_s3_key"]]  # the upload itself is gone
    assert blobs.read_range(job["blueprint_s3_key"], 0, len(data)) == data


def test_a_session_creates_one_job(client: Client) -> None:
    session = open_session(client).data
    send(client, session, pdf())
    first = create_from(client, session["upload_id"])
    again = create_from(client, session["upload_id"])
    details = assert_error(again, 409, "UPLOAD_ALREADY_USED")
    assert details["job_id"] == first.data["job_id"]


def test_create_before_the_upload_is_incomplete(client: Client) -> None:
    session = open_session(client).data
    assert_error(create_from(client, session["upload_id"]), 409, "UPLOAD_INCOMPLETE")


def test_unknown_and_malformed_upload_ids(client: Client) -> None:
    unknown = "upl_01jdz5k3a1b2c3d4e5f6g7h8j9"
    assert_error(create_from(client, unknown), 404, "UPLOAD_NOT_FOUND")
    details = assert_error(create_from(client, "upl_nope"), 400, "INVALID_REQUEST_BODY")
    assert details["field"] == "upload_id"
    mixed = client.request(
        "POST", "/api/v1/jobs", json_body={"upload_id": unknown, "format": "pdf"}
    )
    assert_error(mixed, 400, "INVALID_REQUEST_BODY")


def test_an_expired_session(client: Client, clock: SteppingClock) -> None:
    session = open_session(client).data
    send(client, session, pdf())
    clock.set(clock.now() + timedelta(minutes=16))
    assert_error(create_from(client, session["upload_id"]), 404, "UPLOAD_NOT_FOUND")


def test_an_expired_form_is_rejected(client: Client, clock: SteppingClock) -> None:
    session = open_session(client).data
    clock.set(clock.now() + timedelta(minutes=16))
    assert_error(send(client, session, pdf()), 403, "UPLOAD_REJECTED")


@pytest.mark.parametrize(
    "override",
    [{"key": "blueprints/job_x/source.pdf"}, {"x-amz-signature": "0" * 64}, {"policy": "e30="}],
)
def test_altered_forms_are_rejected(
    client: Client, blobs: MemoryBlobStore, override: dict[str, str]
) -> None:
    session = open_session(client).data
    assert_error(send(client, session, pdf(), **override), 403, "UPLOAD_REJECTED")
    assert blobs.keys() == []


@pytest.mark.parametrize(
    ("data", "fmt", "detected"),
    [(b"plain text, renamed", "png", None), (b"\x89PNG\r\n", "png", None), (pdf(), "jpg", "pdf")],
)
def test_wrong_formats_through_a_session(
    client: Client, data: bytes, fmt: str, detected: str | None
) -> None:
    session = open_session(client, fmt, len(data)).data
    assert send(client, session, data).status == 204
    details = assert_error(create_from(client, session["upload_id"]), 400, "INVALID_FILE_FORMAT")
    assert details["detected"] == detected


def test_an_empty_file_is_refused_at_upload(client: Client, blobs: MemoryBlobStore) -> None:
    session = open_session(client).data
    assert_error(send(client, session, b""), 400, "INVALID_REQUEST_BODY")
    assert blobs.keys() == []


def test_the_limit_holds_for_uploads(client: Client, blobs: MemoryBlobStore) -> None:
    session = open_session(client, "pdf", MAX_BLUEPRINT_BYTES).data
    exact = pdf() + b"\x00" * (MAX_BLUEPRINT_BYTES - len(pdf()))
    assert send(client, session, exact + b"\x00").status == 413
    assert blobs.keys() == []
    assert send(client, session, exact).status == 204
    created = create_from(client, session["upload_id"])
    assert created.status == 201
    assert created.data["blueprint_size_bytes"] == MAX_BLUEPRINT_BYTES


def test_a_file_of_another_size_than_declared_is_refused_at_upload(
    client: Client, blobs: MemoryBlobStore
) -> None:
    session = open_session(client, "pdf", len(pdf()) + 1).data
    details = assert_error(send(client, session, pdf() + b"\x00\x00"), 413, "FILE_TOO_LARGE")
    assert details["max_bytes"] == len(pdf()) + 1
    assert_error(send(client, session, pdf()), 400, "INVALID_REQUEST_BODY")
    assert blobs.keys() == []
    assert send(client, session, pdf() + b"\x00").status == 204


def test_a_used_form_takes_no_more_files(client: Client, blobs: MemoryBlobStore) -> None:
    session = open_session(client).data
    send(client, session, pdf())
    job = create_from(client, session["upload_id"]).data
    assert_error(send(client, session, pdf()), 403, "UPLOAD_REJECTED")
    assert blobs.keys() == [job["blueprint_s3_key"]]


def test_a_forged_form_learns_nothing_of_the_session_it_names(client: Client) -> None:
    """The form's signature is checked before the session is looked up: a form nobody signed
    is refused alike whether its session exists, is used, or not."""
    session = open_session(client).data
    send(client, session, pdf())
    create_from(client, session["upload_id"])
    forged = {"x-amz-signature": "0" * 64}
    used = send(client, session, pdf(), **forged)
    absent = send(
        client,
        {
            **session,
            "fields": {
                **session["fields"],
                "key": "uploads/upl_01jdz5k3a1b2c3d4e5f6g7h8j9/blueprint",
            },
        },
        pdf(),
        **forged,
    )
    assert_error(used, 403, "UPLOAD_REJECTED")
    assert used.error == absent.error


def test_what_an_expired_form_stored_is_collected(
    client: Client, blobs: MemoryBlobStore, clock: SteppingClock
) -> None:
    """Nobody made a job of it: as S3's lifecycle rule does, the local store lets it go."""
    session = open_session(client).data
    send(client, session, pdf())
    assert blobs.keys() == [session["fields"]["key"]]
    clock.set(clock.now() + timedelta(minutes=16))
    open_session(client)
    assert blobs.keys() == []
    assert_error(create_from(client, session["upload_id"]), 404, "UPLOAD_NOT_FOUND")


def test_a_form_without_a_file(client: Client) -> None:
    session = open_session(client).data
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="key"\r\n\r\n'
        f"{session['fields']['key']}\r\n--{BOUNDARY}--\r\n"
    ).encode()
    reply = client.request(
        "POST",
        "/local-uploads",
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        body=body,
    )
    assert_error(reply, 400, "INVALID_REQUEST_BODY")


def test_a_form_that_is_not_multipart(client: Client) -> None:
    reply = client.request("POST", "/local-uploads", json_body={"file": "x"})
    assert_error(reply, 400, "INVALID_REQUEST_BODY")
