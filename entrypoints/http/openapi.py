"""The OpenAPI 3.1 document of each API version, built from the same tables the code uses.

Patterns, limits, error codes and routes come from the modules that enforce them, so the
document cannot promise what the implementation does not do; tests check the rest.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from domain import ids
from domain.blueprint import MAX_BLUEPRINT_BYTES
from domain.feedback import MAX_COMMENT_CHARS
from domain.job import JobStatus
from entrypoints.http.errors import CLIENT_CODES

_REF = "#/components/schemas/"
_B64 = "[A-Za-z0-9+/]"
_B64_TAIL = f"(?:{_B64}{{4}})*(?:{_B64}{{2}}==|{_B64}{{3}}=)?$"
# Base64 of each signature, to a whole 4-character group: PNG, JPEG, PDF.
_B64_PREFIX = {
    "png": f"^iVBORw0KGg[o-r]{_B64}",
    "jpg": "^/9j/",
    "pdf": f"^JVBERi[0-3]{_B64}",
}
_TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
}
_STATUSES = [status.value for status in JobStatus]
_CACHED_FROM = {
    "description": "The completed job with the same blueprint whose result this job took at "
    "creation (the result cache), or null.",
    "oneOf": [{"type": "null"}, {"type": "string", "pattern": f"^{ids.JOB_ID.pattern}$"}],
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [{"type": "null"}, schema]}


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def _pattern(regex: str) -> dict[str, str]:
    return {"type": "string", "pattern": f"^{regex}$"}


def _schemas(version: str) -> dict[str, Any]:
    job_error = _obj({"code": {"type": "string"}, "message": {"type": "string"}})
    blueprint_format = {"type": "string", "enum": ["png", "jpg", "pdf"]}
    trace_ids = {
        "request_id": _pattern(ids.REQUEST_ID.pattern),
        "correlation_id": _pattern(ids.CORRELATION_ID.pattern),
    }
    size = {"type": "integer", "minimum": 1, "maximum": MAX_BLUEPRINT_BYTES}
    if version == "v1":
        job = _obj(
            {
                "job_id": _pattern(ids.JOB_ID.pattern),
                "status": {"type": "string", "enum": _STATUSES},
                "created_at": _TIMESTAMP,
                "updated_at": _TIMESTAMP,
                "blueprint_format": blueprint_format,
                "blueprint_hash": _pattern("[0-9a-f]{64}"),
                "blueprint_size_bytes": size,
                "blueprint_s3_key": {"type": "string"},
                "result_s3_key": _nullable({"type": "string"}),
                "error": _nullable(_ref("JobError")),
                **trace_ids,
                "api_version": {"type": "string", "enum": ["v1", "v2"]},
                "version": {"type": "integer", "minimum": 1},
                "cached_from": _CACHED_FROM,
            }
        )
    else:
        job = _obj(
            {
                "id": _pattern(ids.JOB_ID.pattern),
                "status": {"type": "string", "enum": _STATUSES},
                "done": {"type": "boolean"},
                "version": {"type": "integer", "minimum": 1},
                "created_at": _TIMESTAMP,
                "updated_at": _TIMESTAMP,
                "blueprint": _obj(
                    {
                        "format": blueprint_format,
                        "sha256": _pattern("[0-9a-f]{64}"),
                        "size_bytes": size,
                    }
                ),
                "result": _nullable(_obj({"s3_key": {"type": "string"}})),
                "error": _nullable(_ref("JobError")),
                "trace": _obj(trace_ids),
                "api_version": {"type": "string", "enum": ["v1", "v2"]},
                "cached_from": _CACHED_FROM,
                "links": _obj({"self": {"type": "string"}, "feedback": {"type": "string"}}),
            }
        )
    meta = _obj(
        {
            "request_id": _pattern(ids.REQUEST_ID.pattern),
            "api_version": {"type": "string", "enum": ["v1", "v2"]},
        }
    )
    error_codes = list(CLIENT_CODES)

    def envelope(data: dict[str, Any]) -> dict[str, Any]:
        return _obj({"status": {"const": "success"}, "data": data, "meta": _ref("Meta")})

    # Each variant of a create body is a named schema, so that generated clients get a class
    # per variant (``InlinePngBlueprint``), not ``InlineBlueprintType0..3``.
    inline = {
        title: {
            "title": title,
            **_obj(
                {
                    "blueprint": {
                        "type": "string",
                        "contentEncoding": "base64",
                        "pattern": _B64_PREFIX[fmt] + _B64_TAIL,
                    },
                    "format": {"type": "string", "enum": names},
                },
                required=["blueprint"],
            ),
        }
        for title, fmt, names in (
            ("InlinePngBlueprint", "png", ["png"]),
            ("InlineJpegBlueprint", "jpg", ["jpg", "jpeg"]),
            ("InlinePdfBlueprint", "pdf", ["pdf"]),
        )
    }
    inline["UploadReference"] = {
        "title": "UploadReference",
        **_obj({"upload_id": _pattern(ids.UPLOAD_ID.pattern)}),
    }
    return {
        **inline,
        "Meta": meta,
        "JobError": job_error,
        "Job": job,
        "JobEnvelope": envelope(_ref("Job")),
        "InlineBlueprint": {
            "title": "InlineBlueprint",
            "description": "A base64 blueprint (`format`, if given, must match the bytes), or "
            "the `upload_id` of an upload session whose file has been sent.",
            "oneOf": [_ref(name) for name in inline],
        },
        "UploadRequest": _obj(
            {
                "format": {"type": "string", "enum": ["png", "jpg", "jpeg", "pdf"]},
                "size_bytes": {"type": "integer", "minimum": 1, "maximum": MAX_BLUEPRINT_BYTES},
            }
        ),
        "UploadSession": _obj(
            {
                "upload_id": _pattern(ids.UPLOAD_ID.pattern),
                "method": {"const": "POST"},
                "url": {"type": "string", "format": "uri"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                "expires_at": _TIMESTAMP,
                "max_bytes": {"const": MAX_BLUEPRINT_BYTES},
            }
        ),
        "UploadEnvelope": envelope(_ref("UploadSession")),
        "FeedbackRequest": _obj(
            {
                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                "comment": {"type": "string", "maxLength": MAX_COMMENT_CHARS},
            },
            required=["rating"],
        ),
        "Feedback": _obj(
            {
                "feedback_id": _pattern(ids.FEEDBACK_ID.pattern),
                "job_id": _pattern(ids.JOB_ID.pattern),
                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                "comment": _nullable({"type": "string"}),
                "created_at": _TIMESTAMP,
            }
        ),
        "FeedbackEnvelope": envelope(_ref("Feedback")),
        "HealthEnvelope": envelope(_obj({"status": {"const": "ok"}})),
        "ReadyEnvelope": envelope(
            _obj(
                {
                    "status": {"const": "ready"},
                    "checks": {
                        "type": "object",
                        "additionalProperties": {"enum": ["ok", "unavailable"]},
                    },
                }
            )
        ),
        "Error": _obj(
            {
                "status": {"const": "error"},
                "error": _obj(
                    {
                        # Open: a client must treat a code it does not know as the status's
                        # general meaning, so new codes never break old clients.
                        "code": {
                            "type": "string",
                            "pattern": "^[A-Z][A-Z_]*$",
                            "description": "A stable, machine-readable code. The ones this "
                            "version answers are listed in `examples`; more may be added.",
                            "examples": error_codes,
                        },
                        "message": {"type": "string"},
                        "details": {"type": "object"},
                    }
                ),
                "meta": _ref("Meta"),
            }
        ),
    }


_TRACE_HEADERS = {
    "X-Request-ID": {"required": True, "schema": _pattern(ids.REQUEST_ID.pattern)},
    "X-Correlation-ID": {"required": True, "schema": {"type": "string"}},
}
_CORRELATION_PARAM = {
    "name": "X-Correlation-ID",
    "in": "header",
    "required": False,
    "description": "Kept if it matches ^[A-Za-z0-9._:-]{1,128}$; otherwise the request id is used.",
    "schema": {"type": "string"},
}
_IDEMPOTENCY_PARAM = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes retries safe: the same key with the same request within 24 hours "
    "returns the first response again (with `Idempotent-Replayed: true`); with another request "
    "422; while the first is still running 409. Bare or as a quoted string.",
    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
}
_FRESH_PARAM = {
    "name": "fresh",
    "in": "query",
    "required": False,
    "description": "`true` asks for a fresh detection even if a completed job already "
    "processed the same blueprint (the result cache). `Cache-Control` does not: browsers "
    "and proxies add it by themselves.",
    "schema": {"type": "string", "enum": ["true", "false", "1", "0"]},
}
_JOB_ID_PARAM = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": _pattern(ids.JOB_ID.pattern),
}
_IF_MATCH_PARAM = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'Act only if the job is still at this version: `"<version>"` or `*`.',
    "schema": {"type": "string", "pattern": r'^(\*|"[0-9]{1,18}"|[0-9]{1,18})$'},
}
_IF_NONE_MATCH_PARAM = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "Answer 304 without a body if the job is still at this ETag.",
    "schema": {"type": "string"},
}

_DESCRIPTIONS = {
    400: "The request is malformed.",
    403: "A preflight from an origin that is not allowed.",
    404: "No such resource.",
    405: "The method is not allowed on this resource.",
    409: "The job's or the upload's state does not allow this.",
    412: "If-Match named another version.",
    413: "The blueprint or body is too large.",
    415: "Unsupported Content-Type.",
    422: "The Idempotency-Key was used for a different request.",
    500: "An internal error; quote the request id.",
    503: "A backing store is unavailable; retry after Retry-After seconds.",
}


def _json_response(description: str, schema: str, headers: dict[str, Any] | None = None) -> Any:
    return {
        "description": description,
        "headers": {**_TRACE_HEADERS, **(headers or {})},
        "content": {"application/json": {"schema": _ref(schema)}},
    }


def _errors(*statuses: int) -> dict[str, Any]:
    result = {}
    for status in (*statuses, 404, 405, 500):
        headers = (
            {"Retry-After": {"required": True, "schema": {"type": "string"}}}
            if status == 503
            else None
        )
        result[str(status)] = _json_response(_DESCRIPTIONS[status], "Error", headers)
    return result


_REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "required": False,
        "description": "`true` on a response replayed for a retried Idempotency-Key.",
        "schema": {"const": "true"},
    }
}


def _etag_header() -> dict[str, Any]:
    return {"ETag": {"required": True, "schema": _pattern('"[0-9]+"')}}


def _paths(version: str) -> dict[str, Any]:
    base = f"/api/{version}"
    # application/octet-stream first: the file's signature decides the format anyway, and
    # generated clients can send bytes under it (they know no image/* body).
    raw_types = {
        media: {"schema": {"type": "string", "format": "binary"}}
        for media in ("application/octet-stream", "image/png", "image/jpeg", "application/pdf")
    }
    return {
        "/health": {
            "get": {
                "operationId": "liveness",
                "summary": "Liveness: no storage call.",
                "responses": {"200": _json_response("Alive.", "HealthEnvelope"), **_errors()},
            }
        },
        "/health/ready": {
            "get": {
                "operationId": "readiness",
                "summary": "Readiness: pings the job store and the blob store.",
                "responses": {"200": _json_response("Ready.", "ReadyEnvelope"), **_errors(503)},
            }
        },
        f"{base}/jobs": {
            "post": {
                "operationId": "createJob",
                "summary": "Create a job from a blueprint (PNG, JPEG or PDF, at most 50 MiB).",
                "parameters": [_CORRELATION_PARAM, _IDEMPOTENCY_PARAM, _FRESH_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {
                        **raw_types,
                        "application/json": {"schema": _ref("InlineBlueprint")},
                    },
                },
                "responses": {
                    "201": _json_response(
                        "Created.",
                        "JobEnvelope",
                        {
                            **_etag_header(),
                            "Location": {"required": True, "schema": {"type": "string"}},
                            **_REPLAYED_HEADER,
                        },
                    ),
                    **_errors(400, 409, 413, 415, 422, 503),
                },
            }
        },
        f"{base}/uploads": {
            "post": {
                "operationId": "openUpload",
                "summary": "Open an upload session: a form with which to send a blueprint of up "
                "to 50 MiB straight to storage, then create the job with its `upload_id`.",
                "parameters": [_CORRELATION_PARAM, _IDEMPOTENCY_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("UploadRequest")}},
                },
                "responses": {
                    "201": _json_response("Opened.", "UploadEnvelope", _REPLAYED_HEADER),
                    **_errors(400, 409, 413, 415, 422, 503),
                },
            }
        },
        f"{base}/jobs/{{job_id}}": {
            "parameters": [_JOB_ID_PARAM, _CORRELATION_PARAM],
            "get": {
                "operationId": "getJob",
                "summary": "Read one job.",
                "parameters": [_IF_NONE_MATCH_PARAM],
                "responses": {
                    "200": _json_response("The job.", "JobEnvelope", _etag_header()),
                    "304": {"description": "Not modified.", "headers": _etag_header()},
                    **_errors(400, 503),
                },
            },
            "delete": {
                "operationId": "cancelJob",
                "summary": "Cancel a pending or processing job (idempotent).",
                "parameters": [_IF_MATCH_PARAM],
                "responses": {
                    "200": _json_response("The cancelled job.", "JobEnvelope", _etag_header()),
                    **_errors(400, 409, 412, 503),
                },
            },
        },
        f"{base}/jobs/{{job_id}}/feedback": {
            "parameters": [_JOB_ID_PARAM, _CORRELATION_PARAM],
            "post": {
                "operationId": "addFeedback",
                "summary": "Rate a completed or failed job.",
                "parameters": [_IF_MATCH_PARAM],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("FeedbackRequest")}},
                },
                "responses": {
                    "201": _json_response("Recorded.", "FeedbackEnvelope"),
                    **_errors(400, 409, 412, 413, 415, 503),
                },
            },
        },
        f"{base}/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document.",
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "headers": _TRACE_HEADERS,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(),
                },
            }
        },
    }


def document(version: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            # One title per version: generated clients are named after it.
            "title": f"blueprint-jobs {version}",
            "version": version,
            "description": "Upload blueprints, follow, cancel and rate detection jobs. Every "
            "body is an envelope with `status`, `data` or `error`, and `meta`.",
        },
        "servers": [{"url": "/"}],
        "paths": _paths(version),
        "components": {"schemas": _schemas(version)},
    }


@functools.cache
def document_bytes(version: str) -> bytes:
    """Encoded once per process and version; served as is."""
    return json.dumps(document(version), separators=(",", ":")).encode()
