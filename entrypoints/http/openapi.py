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
from entrypoints.http.errors import CLIENT_CODES
from entrypoints.http.openapi_tables import (
    DESCRIPTIONS,
    HEADER_PARAMETERS,
    PATH_PARAMETERS,
    QUERY_PARAMETERS,
    RESPONSE_HEADERS,
    SECURITY_SCHEMES,
    TRACE_HEADERS,
)
from entrypoints.http.pages import MAX_LIMIT, MAX_TOKEN_CHARS
from entrypoints.http.representations import (
    LIVENESS_SCHEMA,
    READINESS_SCHEMA,
    UPLOAD_SESSION_SCHEMA,
    feedback_schema,
    job_schemas,
)
from entrypoints.http.resources import API_ROUTES
from entrypoints.http.routes import Answer, Operation, Route
from entrypoints.http.schema import nullable, obj, pattern, ref

_B64 = "[A-Za-z0-9+/]"
_B64_TAIL = f"(?:{_B64}{{4}})*(?:{_B64}{{2}}==|{_B64}{{3}}=)?$"
# Base64 of each signature, to a whole 4-character group: PNG, JPEG, PDF.
_B64_PREFIX = {
    "png": f"^iVBORw0KGg[o-r]{_B64}",
    "jpg": "^/9j/",
    "pdf": f"^JVBERi[0-3]{_B64}",
}


def _schemas(version: str) -> dict[str, Any]:
    schemas = job_schemas(version)
    meta = obj(
        {
            "request_id": pattern(ids.REQUEST_ID.pattern),
            "api_version": {"type": "string", "enum": ["v1", "v2"]},
        }
    )
    error_codes = list(CLIENT_CODES)

    def envelope(data: dict[str, Any]) -> dict[str, Any]:
        return obj({"status": {"const": "success"}, "data": data, "meta": ref("Meta")})

    token = nullable({"type": "string", "maxLength": MAX_TOKEN_CHARS})
    jobs = {"type": "array", "items": ref("Job"), "maxItems": MAX_LIMIT}
    # v1 keeps ``data`` a list (as the seed's clients expect) and puts the token in ``meta``.
    job_list = (
        obj(
            {
                "status": {"const": "success"},
                "data": jobs,
                "meta": obj({**meta["properties"], "next_page_token": token}),
            }
        )
        if version == "v1"
        else envelope(obj({"jobs": jobs, "next_page_token": token}))
    )

    # Each variant of a create body is a named schema, so that generated clients get a class
    # per variant (``InlinePngBlueprint``), not ``InlineBlueprintType0..3``.
    inline = {
        title: {
            "title": title,
            **obj(
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
        **obj({"upload_id": pattern(ids.UPLOAD_ID.pattern)}),
    }
    return {
        **inline,
        "Meta": meta,
        **schemas,
        # The bare document this route serves (no envelope: tools read it as it is).
        "Document": {"title": "OpenApiDocument", "type": "object"},
        "JobEnvelope": envelope(ref("Job")),
        "JobListEnvelope": job_list,
        "JobResult": obj(
            {
                "job_id": pattern(ids.JOB_ID.pattern),
                "result_key": {"type": "string"},
                "result": {"description": "The detection's JSON document, as it is."},
            }
        ),
        "ResultEnvelope": envelope(ref("JobResult")),
        "InlineBlueprint": {
            "title": "InlineBlueprint",
            "description": "A base64 blueprint (`format`, if given, must match the bytes), or "
            "the `upload_id` of an upload session whose file has been sent.",
            "oneOf": [ref(name) for name in inline],
        },
        "UploadRequest": obj(
            {
                "format": {"type": "string", "enum": ["png", "jpg", "jpeg", "pdf"]},
                "size_bytes": {"type": "integer", "minimum": 1, "maximum": MAX_BLUEPRINT_BYTES},
            }
        ),
        "UploadSession": UPLOAD_SESSION_SCHEMA,
        "UploadEnvelope": envelope(ref("UploadSession")),
        "FeedbackRequest": obj(
            {
                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                "comment": {"type": "string", "maxLength": MAX_COMMENT_CHARS},
            },
            required=["rating"],
        ),
        "Feedback": feedback_schema(),
        "FeedbackEnvelope": envelope(ref("Feedback")),
        "HealthEnvelope": envelope(LIVENESS_SCHEMA),
        "ReadyEnvelope": envelope(READINESS_SCHEMA),
        "Error": obj(
            {
                "status": {"const": "error"},
                "error": obj(
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
                "meta": ref("Meta"),
            }
        ),
    }


def _answer(answer: Answer) -> dict[str, Any]:
    documented: dict[str, Any] = {
        "description": answer.description,
        "headers": {
            **TRACE_HEADERS,
            **{name: RESPONSE_HEADERS[name] for name in answer.headers},
        },
    }
    if answer.schema is not None:
        documented["content"] = {"application/json": {"schema": ref(answer.schema)}}
    return documented


_ERROR_HEADERS = {
    401: ("WWW-Authenticate",),
    403: ("WWW-Authenticate",),
    429: ("Retry-After", "RateLimit-Policy", "RateLimit"),
    503: ("Retry-After",),
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(status): _answer(Answer(DESCRIPTIONS[status], "Error", _ERROR_HEADERS.get(status, ())))
        for status in sorted({*statuses, 404, 405, 500})
    }


def _parameters(where: str, names: Any, table: dict[str, dict[str, Any]]) -> list[Any]:
    return [
        {"name": name, "in": where, "required": where == "path", **table[name]}
        for name in names
        if name in table
    ]


def _operation(route: Route, method: str, operation: Operation) -> dict[str, Any]:
    documented: dict[str, Any] = {"operationId": operation.operation_id}
    documented["summary"] = operation.summary
    parameters = [
        *_parameters("header", route.request_headers(method), HEADER_PARAMETERS),
        *_parameters("query", operation.query, QUERY_PARAMETERS),
    ]
    if parameters:
        documented["parameters"] = parameters
    if operation.body is not None:
        documented["requestBody"] = {"required": True, "content": dict(operation.body)}
    secured = operation.scope is not None
    documented["responses"] = {
        **{str(status): _answer(answer) for status, answer in operation.answers.items()},
        **_errors(*operation.errors, *((401, 403) if secured else ())),
    }
    # Either scheme will do; an operation anyone may call says so with no requirement.
    documented["security"] = [{name: []} for name in SECURITY_SCHEMES] if secured else []
    if secured:
        documented["description"] = f"Needs the `{operation.scope}` scope."
    return documented


def _paths(version: str) -> dict[str, Any]:
    """Every documented route, as its declaration says (``entrypoints/http/resources``)."""
    paths: dict[str, Any] = {}
    for route in API_ROUTES:
        item: dict[str, Any] = {}
        names = [part[1:-1] for part in route.template.split("/") if part[:1] == "{"]
        path_parameters = _parameters("path", names, PATH_PARAMETERS)
        if path_parameters:
            item["parameters"] = path_parameters
        for method, operation in route.operations.items():
            item[method.lower()] = _operation(route, method, operation)
        paths[route.template.replace("{v}", version)] = item
    return paths


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
        "components": {"schemas": _schemas(version), "securitySchemes": SECURITY_SCHEMES},
    }


@functools.cache
def document_bytes(version: str) -> bytes:
    """Encoded once per process and version; served as is."""
    return json.dumps(document(version), separators=(",", ":")).encode()
