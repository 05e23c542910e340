"""docs/API.md, row by row, against both entrypoints (see the ``client`` fixture)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from domain.blueprint import MAX_BLUEPRINT_BYTES
from domain.job import JobStatus
from domain.use_cases import UseCases
from tests.blueprints import jpeg, pdf, png
from tests.fakes import OWNER
from tests.helpers import (
    ALLOWED_ORIGIN,
    UNKNOWN,
    assert_envelope,
    assert_error,
    create,
    finish,
)
from tests.http.clients import Client

# -- health ---------------------------------------------------------------------------------


def test_liveness(client: Client) -> None:
    reply = client.request("GET", "/health")
    assert reply.status == 200
    assert_envelope(reply, "success")
    assert reply.data == {"status": "ok"}


def test_readiness(client: Client) -> None:
    reply = client.request("GET", "/health/ready")
    assert reply.status == 200
    assert reply.data == {"status": "ready", "checks": {"job_store": "ok", "blob_store": "ok"}}


# -- creating -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "fmt"),
    [
        (png(), "image/png", "png"),
        (jpeg(), "image/jpeg", "jpg"),
        (pdf(), "application/pdf", "pdf"),
        (pdf(), "application/octet-stream", "pdf"),  # the signature decides
        (jpeg(), "application/octet-stream", "jpg"),
    ],
    ids=["png", "jpg", "pdf", "octet-pdf", "octet-jpg"],
)
def test_create_from_raw_bytes(
    client: Client, service: UseCases, data: bytes, content_type: str, fmt: str
) -> None:
    reply = create(client, data, content_type)
    assert reply.status == 201
    assert_envelope(reply, "success")
    job = reply.data
    assert reply.headers["location"] == f"/api/v1/jobs/{job['job_id']}"
    assert reply.headers["etag"] == '"1"'
    assert job["status"] == "pending"
    assert job["blueprint_format"] == fmt
    assert job["blueprint_hash"] == hashlib.sha256(data).hexdigest()
    assert job["blueprint_size_bytes"] == len(data)
    assert job["request_id"] == reply.headers["x-request-id"]
    assert job["correlation_id"] == job["request_id"]
    assert job["api_version"] == "v1"
    assert job["version"] == 1
    assert job["result_s3_key"] is None
    assert job["error"] is None
    assert set(job) == {
        "job_id", "status", "created_at", "updated_at", "blueprint_format", "blueprint_hash",
        "blueprint_size_bytes", "blueprint_s3_key", "result_s3_key", "error", "request_id",
        "correlation_id", "api_version", "version", "cached_from",
    }  # fmt: skip
    assert job["cached_from"] is None
    assert service.lifecycle.get_job(OWNER, job["job_id"]).blueprint_hash == job["blueprint_hash"]


@pytest.mark.parametrize("fmt", ["jpg", "jpeg", "JPEG", None])
def test_create_from_base64_json(client: Client, fmt: str | None) -> None:
    body: dict[str, str] = {"blueprint": base64.b64encode(jpeg()).decode()}
    if fmt:
        body["format"] = fmt
    reply = client.request("POST", "/api/v1/jobs", json_body=body)
    assert reply.status == 201, reply.body
    assert reply.data["blueprint_format"] == "jpg"


def test_text_renamed_to_png_is_an_invalid_format(client: Client) -> None:
    details = assert_error(
        create(client, b"This is a text file.", "image/png"), 400, "INVALID_FILE_FORMAT"
    )
    assert details == {"detected": None, "declared": "png"}


def test_truncated_png_signature_is_an_invalid_format(client: Client) -> None:
    assert_error(create(client, b"\x89PNG\r\n", "image/png"), 400, "INVALID_FILE_FORMAT")


def test_pdf_declared_as_jpg_is_an_invalid_format(client: Client) -> None:
    body = {"blueprint": base64.b64encode(pdf()).decode(), "format": "jpg"}
    reply = client.request("POST", "/api/v1/jobs", json_body=body)
    assert assert_error(reply, 400, "INVALID_FILE_FORMAT") == {"detected": "pdf", "declared": "jpg"}


@pytest.mark.parametrize("content_type", ["image/gif", "text/plain", "multipart/form-data", ""])
def test_other_content_types_are_unsupported(client: Client, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    reply = client.request("POST", "/api/v1/jobs", headers=headers, body=png())
    assert_error(reply, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"format": "png"}', "blueprint"),
        (b'{"blueprint": 12}', "blueprint"),
        (b'{"blueprint": "@@@not base64@@@"}', "blueprint"),
        (b'{"blueprint": "iVBORw0KGgo=", "name": "x.png"}', "name"),
        (b'{"blueprint": "iVBORw0KGgo=", "format": "gif"}', "format"),
        (b'{"blueprint": ""}', "blueprint"),
    ],
)
def test_malformed_json_bodies(client: Client, body: bytes, field: str) -> None:
    reply = client.request(
        "POST", "/api/v1/jobs", headers={"Content-Type": "application/json"}, body=body
    )
    assert assert_error(reply, 400, "INVALID_REQUEST_BODY")["field"] == field


def test_empty_raw_body_is_an_invalid_request(client: Client) -> None:
    reply = client.request("POST", "/api/v1/jobs", headers={"Content-Type": "image/png"})
    assert_error(reply, 400, "INVALID_REQUEST_BODY")


def test_a_blueprint_over_the_limit_is_refused_and_nothing_is_kept(
    client: Client, blobs: object
) -> None:
    data = pdf() + b"\x00" * (MAX_BLUEPRINT_BYTES + 1 - len(pdf()))
    details = assert_error(create(client, data, "application/pdf"), 413, "FILE_TOO_LARGE")
    assert details["max_bytes"] == MAX_BLUEPRINT_BYTES
    assert blobs.keys() == []  # type: ignore[attr-defined]


def test_a_blueprint_of_exactly_the_limit_is_accepted(client: Client) -> None:
    data = pdf() + b"\x00" * (MAX_BLUEPRINT_BYTES - len(pdf()))
    reply = create(client, data, "application/pdf")
    assert reply.status == 201
    assert reply.data["blueprint_size_bytes"] == MAX_BLUEPRINT_BYTES


# -- reading --------------------------------------------------------------------------------


def test_get_returns_the_job_with_its_etag(client: Client) -> None:
    created = create(client).data
    reply = client.request("GET", f"/api/v1/jobs/{created['job_id']}")
    assert reply.status == 200
    # no-cache, not no-store: a client may keep the job and revalidate it (If-None-Match).
    assert_envelope(reply, "success", cache_control="no-cache")
    assert reply.data == created
    assert reply.headers["etag"] == '"1"'


def test_unknown_job_is_not_found(client: Client) -> None:
    details = assert_error(client.request("GET", f"/api/v1/jobs/{UNKNOWN}"), 404, "JOB_NOT_FOUND")
    assert details == {"job_id": UNKNOWN}


@pytest.mark.parametrize("job_id", ["123", "job_01JDZ5K3A1B2C3D4E5F6G7H8J9", "job_%0A"])
def test_malformed_job_ids_are_refused_without_a_lookup(client: Client, job_id: str) -> None:
    assert_error(client.request("GET", f"/api/v1/jobs/{job_id}"), 400, "INVALID_JOB_ID")


def test_v2_representation(client: Client, service: UseCases) -> None:
    created = client.request(
        "POST", "/api/v2/jobs", headers={"Content-Type": "image/png"}, body=png()
    )
    assert created.status == 201
    assert_envelope(created, "success", "v2")
    job_id = created.data["id"]
    assert created.headers["location"] == f"/api/v2/jobs/{job_id}"
    finish(service, job_id)
    job = client.request("GET", f"/api/v2/jobs/{job_id}").data
    assert job == {
        "id": job_id,
        "status": "completed",
        "done": True,
        "version": 3,
        "created_at": job["created_at"],
        "updated_at": job["updated_at"],
        "blueprint": {
            "format": "png",
            "sha256": hashlib.sha256(png()).hexdigest(),
            "size_bytes": len(png()),
        },
        "result": {"s3_key": f"results/{job_id}.json"},
        "error": None,
        "trace": {
            "request_id": created.headers["x-request-id"],
            "correlation_id": created.headers["x-request-id"],
        },
        "api_version": "v2",
        "cached_from": None,
        "links": {"self": f"/api/v2/jobs/{job_id}", "feedback": f"/api/v2/jobs/{job_id}/feedback"},
    }
    v1 = client.request("GET", f"/api/v1/jobs/{job_id}").data
    assert v1["result_s3_key"] == f"results/{job_id}.json"
    assert v1["api_version"] == "v2"  # the version the job was created through


def test_if_none_match_gives_304_without_a_body(client: Client) -> None:
    job_id = create(client).data["job_id"]
    reply = client.request("GET", f"/api/v1/jobs/{job_id}", headers={"If-None-Match": '"1"'})
    assert reply.status == 304
    assert reply.body == b""
    assert reply.headers["etag"] == '"1"'
    changed = client.request("GET", f"/api/v1/jobs/{job_id}", headers={"If-None-Match": '"7"'})
    assert changed.status == 200


# -- cancelling -----------------------------------------------------------------------------


def test_cancel_and_cancel_again(client: Client) -> None:
    job_id = create(client).data["job_id"]
    first = client.request("DELETE", f"/api/v1/jobs/{job_id}")
    assert first.status == 200
    assert first.data["status"] == "cancelled"
    assert first.data["error"] == {"code": "CANCELLED", "message": "The job was cancelled."}
    assert first.data["version"] == 2
    assert first.headers["etag"] == '"2"'
    again = client.request("DELETE", f"/api/v1/jobs/{job_id}")
    assert again.status == 200
    assert again.data == first.data


@pytest.mark.parametrize("failed", [False, True])
def test_cancel_of_a_finished_job_conflicts(
    client: Client, service: UseCases, failed: bool
) -> None:
    job_id = create(client).data["job_id"]
    finish(service, job_id, failed=failed)
    assert_error(client.request("DELETE", f"/api/v1/jobs/{job_id}"), 409, "JOB_ALREADY_COMPLETED")


def test_cancel_with_a_stale_if_match(client: Client, service: UseCases) -> None:
    job_id = create(client).data["job_id"]
    service.lifecycle.start_processing(job_id)
    stale = client.request("DELETE", f"/api/v1/jobs/{job_id}", headers={"If-Match": '"1"'})
    assert_error(stale, 412, "PRECONDITION_FAILED")
    assert service.lifecycle.get_job(OWNER, job_id).status is JobStatus.PROCESSING
    fresh = client.request("DELETE", f"/api/v1/jobs/{job_id}", headers={"If-Match": '"2"'})
    assert fresh.status == 200


def test_malformed_if_match_is_a_bad_request(client: Client) -> None:
    job_id = create(client).data["job_id"]
    reply = client.request("DELETE", f"/api/v1/jobs/{job_id}", headers={"If-Match": "two"})
    assert assert_error(reply, 400, "INVALID_REQUEST_BODY")["field"] == "If-Match"


def test_cancel_of_an_unknown_job(client: Client) -> None:
    assert_error(client.request("DELETE", f"/api/v1/jobs/{UNKNOWN}"), 404, "JOB_NOT_FOUND")


# -- feedback -------------------------------------------------------------------------------


def test_feedback_on_a_completed_job(client: Client, service: UseCases) -> None:
    job_id = create(client).data["job_id"]
    finish(service, job_id)
    reply = client.request(
        "POST", f"/api/v1/jobs/{job_id}/feedback", json_body={"rating": 5, "comment": "Spot on"}
    )
    assert reply.status == 201
    assert_envelope(reply, "success")
    assert reply.data["job_id"] == job_id
    assert reply.data["rating"] == 5
    assert reply.data["comment"] == "Spot on"
    assert reply.data["feedback_id"].startswith("fb_")
    assert service.feedback.list_feedback(OWNER, job_id)[0].feedback_id == reply.data["feedback_id"]


def test_feedback_on_an_unfinished_job(client: Client) -> None:
    job_id = create(client).data["job_id"]
    reply = client.request("POST", f"/api/v1/jobs/{job_id}/feedback", json_body={"rating": 3})
    assert_error(reply, 409, "JOB_NOT_FINISHED")


@pytest.mark.parametrize(
    "body",
    [
        {"rating": 0},
        {"rating": "5"},
        {},
        {"rating": 5, "comment": "x" * 2001},
        {"rating": 5, "x": 1},
    ],
)
def test_invalid_feedback_is_refused_whatever_the_job(client: Client, body: object) -> None:
    pending = create(client).data["job_id"]
    for job_id in (pending, UNKNOWN):
        reply = client.request("POST", f"/api/v1/jobs/{job_id}/feedback", json_body=body)
        assert_error(reply, 400, "INVALID_REQUEST_BODY")


def test_feedback_must_be_json(client: Client) -> None:
    reply = client.request(
        "POST",
        f"/api/v1/jobs/{UNKNOWN}/feedback",
        headers={"Content-Type": "text/plain"},
        body=b"rating=5",
    )
    assert_error(reply, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_feedback_limit(client: Client, service: UseCases) -> None:
    job_id = create(client).data["job_id"]
    finish(service, job_id)
    for _ in range(100):
        service.feedback.add_feedback(OWNER, job_id, 4)
    reply = client.request("POST", f"/api/v1/jobs/{job_id}/feedback", json_body={"rating": 3})
    assert_error(reply, 409, "FEEDBACK_LIMIT_REACHED")


# -- routing --------------------------------------------------------------------------------


def test_unversioned_paths_are_v1(client: Client) -> None:
    reply = client.request("POST", "/api/jobs", headers={"Content-Type": "image/png"}, body=png())
    assert reply.status == 201
    assert reply.json()["meta"]["api_version"] == "v1"
    assert client.request("GET", f"/api/jobs/{reply.data['job_id']}").status == 200


def test_unsupported_version(client: Client) -> None:
    details = assert_error(
        client.request("GET", f"/api/v3/jobs/{UNKNOWN}"), 404, "UNSUPPORTED_API_VERSION"
    )
    assert details == {"supported_versions": ["v1", "v2"]}


@pytest.mark.parametrize("path", ["/", "/jobs", "/api", "/api/v1", "/api/v1/things", "/health/x"])
def test_unknown_paths(client: Client, path: str) -> None:
    assert_error(client.request("GET", path), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/jobs", "GET, HEAD, POST, OPTIONS"),
        ("PUT", f"/api/v1/jobs/{UNKNOWN}", "GET, HEAD, DELETE, OPTIONS"),
        ("GET", f"/api/v1/jobs/{UNKNOWN}/feedback", "POST, OPTIONS"),
        ("POST", "/health", "GET, HEAD, OPTIONS"),
    ],
)
def test_method_not_allowed_names_the_allowed_ones(
    client: Client, method: str, path: str, allow: str
) -> None:
    reply = client.request(method, path)
    assert_error(reply, 405, "METHOD_NOT_ALLOWED")
    assert reply.headers["allow"] == allow


@pytest.mark.parametrize(
    "path",
    [
        "/health",
        "/health/ready",
        "/api/v1/openapi.json",
        "/api/v2/jobs/{job}",
        "/api/v1/jobs/{job}",
    ],
)
def test_head_is_get_without_the_body(client: Client, path: str) -> None:
    path = path.format(job=create(client).data["job_id"])
    got = client.request("GET", path)
    head = client.request("HEAD", path)
    assert (head.status, head.body) == (got.status, b"")
    volatile = {"x-request-id", "x-correlation-id", "content-length"}
    assert {k: v for k, v in head.headers.items() if k not in volatile} == {
        k: v for k, v in got.headers.items() if k not in volatile
    }
    if client.kind == "lambda":  # the Falcon client drops Content-Length from both
        assert head.headers["content-length"] == str(len(got.body))


def test_head_of_a_missing_job_is_404_without_a_body(client: Client) -> None:
    reply = client.request("HEAD", f"/api/v1/jobs/{UNKNOWN}")
    assert (reply.status, reply.body) == (404, b"")
    assert reply.headers["content-type"] == "application/json"


def test_trailing_slash_is_tolerated(client: Client) -> None:
    reply = client.request(
        "POST", "/api/v1/jobs/", headers={"Content-Type": "image/png"}, body=png()
    )
    assert reply.status == 201
    assert client.request("GET", f"/api/v1/jobs/{reply.data['job_id']}/").status == 200


def test_openapi_document_is_bare(client: Client) -> None:
    for version in ("v1", "v2"):
        reply = client.request("GET", f"/api/{version}/openapi.json")
        assert reply.status == 200
        document = reply.json()
        assert document["openapi"] == "3.1.0"
        assert document["info"]["version"] == version
        assert f"/api/{version}/jobs" in document["paths"]


# -- request identity -----------------------------------------------------------------------


def test_correlation_id_is_kept_echoed_and_stored(client: Client) -> None:
    reply = create(client, **{"X-Correlation-ID": "checkout-42.a:b"})
    assert reply.headers["x-correlation-id"] == "checkout-42.a:b"
    assert reply.data["correlation_id"] == "checkout-42.a:b"


@pytest.mark.parametrize("offered", ["has space", "x" * 129, "semi;colon"])
def test_invalid_correlation_id_becomes_the_request_id(client: Client, offered: str) -> None:
    reply = create(client, **{"X-Correlation-ID": offered})
    assert reply.headers["x-correlation-id"] == reply.headers["x-request-id"]
    assert reply.data["correlation_id"] == reply.headers["x-request-id"]


def test_every_request_gets_a_fresh_id(client: Client) -> None:
    first, second = client.request("GET", "/health"), client.request("GET", "/health")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


# -- CORS -----------------------------------------------------------------------------------


def test_allowed_origin_is_echoed(client: Client) -> None:
    reply = client.request("GET", "/health", headers={"Origin": ALLOWED_ORIGIN})
    assert reply.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert reply.headers["vary"] == "Origin"
    assert reply.headers["access-control-expose-headers"] == (
        "X-Request-ID, X-Correlation-ID, ETag, Location, Retry-After, Idempotent-Replayed, "
        "RateLimit-Policy, RateLimit, WWW-Authenticate"
    )
    assert "access-control-allow-credentials" not in reply.headers


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:5173.evil"])
def test_other_origins_get_no_cors_headers(client: Client, origin: str) -> None:
    reply = client.request("GET", "/health", headers={"Origin": origin})
    assert reply.status == 200
    assert not [name for name in reply.headers if name.startswith("access-control-allow")]
    assert reply.headers["vary"] == "Origin"


def test_errors_carry_cors_headers_too(client: Client) -> None:
    reply = client.request("GET", f"/api/v1/jobs/{UNKNOWN}", headers={"Origin": ALLOWED_ORIGIN})
    assert reply.status == 404
    assert reply.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_preflight_from_an_allowed_origin(client: Client) -> None:
    reply = client.request(
        "OPTIONS",
        f"/api/v1/jobs/{UNKNOWN}",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "DELETE"},
    )
    assert reply.status == 204
    assert reply.body == b""
    assert reply.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert reply.headers["access-control-allow-methods"] == "GET, HEAD, DELETE, OPTIONS"
    # What the job's methods read: If-None-Match to poll with the ETag, If-Match to cancel.
    assert reply.headers["access-control-allow-headers"] == (
        "Authorization, If-Match, If-None-Match, X-Api-Key, X-Correlation-ID"
    )
    assert reply.headers["access-control-max-age"] == "600"


@pytest.mark.parametrize(
    ("path", "needed"),
    [
        ("/api/v1/jobs", {"Content-Type", "Idempotency-Key"}),
        ("/api/v2/uploads", {"Content-Type", "Idempotency-Key"}),
        (f"/api/v1/jobs/{UNKNOWN}/feedback", {"Content-Type", "If-Match"}),
    ],
)
def test_preflights_allow_what_each_route_reads(
    client: Client, path: str, needed: set[str]
) -> None:
    reply = client.request(
        "OPTIONS",
        path,
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    allowed = set(reply.headers["access-control-allow-headers"].split(", "))
    assert needed <= allowed


def test_preflight_from_another_origin_is_forbidden(client: Client) -> None:
    reply = client.request(
        "OPTIONS",
        "/api/v1/jobs",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert_error(reply, 403, "CORS_ORIGIN_NOT_ALLOWED")
    assert "access-control-allow-origin" not in reply.headers


@pytest.mark.parametrize("path", ["/nope", "/api/v1/jbos", "/api/v9/jobs"])
def test_a_preflight_to_an_unknown_path_lets_the_real_request_show_its_404(
    client: Client, path: str
) -> None:
    reply = client.request(
        "OPTIONS",
        path,
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert reply.status == 204
    assert reply.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "GET" in reply.headers["access-control-allow-methods"]
    real = client.request("GET", path, headers={"Origin": ALLOWED_ORIGIN})
    assert real.status == 404
    assert real.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_a_preflight_to_an_unknown_path_from_another_origin_is_forbidden(client: Client) -> None:
    reply = client.request(
        "OPTIONS",
        "/nope",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert_error(reply, 403, "CORS_ORIGIN_NOT_ALLOWED")


def test_plain_options_lists_the_methods(client: Client) -> None:
    reply = client.request("OPTIONS", "/api/v1/jobs")
    assert reply.status == 204
    assert reply.headers["allow"] == "GET, HEAD, POST, OPTIONS"


def test_feedback_with_a_stale_if_match_changes_nothing(client: Client, service: UseCases) -> None:
    job_id = create(client).data["job_id"]
    finish(service, job_id)  # now at version 3
    stale = client.request(
        "POST",
        f"/api/v1/jobs/{job_id}/feedback",
        headers={"If-Match": '"2"'},
        json_body={"rating": 4},
    )
    assert_error(stale, 412, "PRECONDITION_FAILED")
    assert service.feedback.list_feedback(OWNER, job_id) == []
    fresh = client.request(
        "POST",
        f"/api/v1/jobs/{job_id}/feedback",
        headers={"If-Match": '"3"'},
        json_body={"rating": 4},
    )
    assert fresh.status == 201
    assert len(service.feedback.list_feedback(OWNER, job_id)) == 1


def test_if_none_match_accepts_weak_and_lists(client: Client) -> None:
    job_id = create(client).data["job_id"]
    for header in ('W/"1"', '"7", "1"', "*"):
        reply = client.request("GET", f"/api/v1/jobs/{job_id}", headers={"If-None-Match": header})
        assert reply.status == 304, header


def test_a_route_under_api_must_name_the_version_right_after_it() -> None:
    """The router takes the version out of /api/<version>/...; a template that puts it
    elsewhere, or omits it under /api, could never be matched."""
    from entrypoints.http.resources.health import Liveness
    from entrypoints.http.routes import Route

    for template in ("/api/jobs", "/api/jobs/{v}", "/health/{v}"):
        with pytest.raises(ValueError, match="version"):
            Route(template, Liveness, {})
    assert Route("/api/{v}/things", Liveness, {}).versioned
