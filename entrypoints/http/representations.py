"""How a Job looks on the wire in each API version (v1 is the flat dict, lossless both ways)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from domain import ids
from domain.blueprint import MAX_BLUEPRINT_BYTES, BlueprintFormat
from domain.feedback import Feedback
from domain.job import Job, JobError, JobStatus
from domain.timestamps import format_timestamp, parse_timestamp
from domain.upload import UploadSession
from entrypoints.http.schema import TIMESTAMP, nullable, obj, pattern, ref


def job_to_dict(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "status": job.status.value,
        "created_at": format_timestamp(job.created_at),
        "updated_at": format_timestamp(job.updated_at),
        "blueprint_format": job.blueprint_format.value,
        "blueprint_hash": job.blueprint_hash,
        "blueprint_size_bytes": job.blueprint_size_bytes,
        "blueprint_s3_key": job.blueprint_s3_key,
        "result_s3_key": job.result_s3_key,
        "error": None
        if job.error is None
        else {
            "code": job.error.code,
            "message": job.error.message,
        },
        "request_id": job.request_id,
        "correlation_id": job.correlation_id,
        "api_version": job.api_version,
        "version": job.version,
        "cached_from": job.cached_from,
    }


def job_from_dict(data: dict[str, Any], owner: str) -> Job:
    """The job ``data`` shows, given its owner (which no representation shows: the owner is
    the caller)."""
    error = data["error"]
    return Job(
        job_id=data["job_id"],
        owner=owner,
        status=JobStatus(data["status"]),
        created_at=parse_timestamp(data["created_at"]),
        updated_at=parse_timestamp(data["updated_at"]),
        blueprint_format=BlueprintFormat(data["blueprint_format"]),
        blueprint_hash=data["blueprint_hash"],
        blueprint_size_bytes=data["blueprint_size_bytes"],
        blueprint_s3_key=data["blueprint_s3_key"],
        result_s3_key=data["result_s3_key"],
        error=None if error is None else JobError(error["code"], error["message"]),
        request_id=data["request_id"],
        correlation_id=data["correlation_id"],
        api_version=data["api_version"],
        version=data["version"],
        cached_from=data["cached_from"],
    )


def feedback_to_dict(feedback: Feedback) -> dict[str, Any]:
    return {
        "feedback_id": feedback.feedback_id,
        "job_id": feedback.job_id,
        "rating": feedback.rating,
        "comment": feedback.comment,
        "created_at": format_timestamp(feedback.created_at),
    }


def job_v1(job: Job) -> dict[str, Any]:
    return job_to_dict(job)


def job_v2(job: Job) -> dict[str, Any]:
    base = f"/api/v2/jobs/{job.job_id}"
    return {
        "id": job.job_id,
        "status": job.status.value,
        "done": job.done,
        "version": job.version,
        "created_at": format_timestamp(job.created_at),
        "updated_at": format_timestamp(job.updated_at),
        "blueprint": {
            "format": job.blueprint_format.value,
            "sha256": job.blueprint_hash,
            "size_bytes": job.blueprint_size_bytes,
        },
        "result": None if job.result_s3_key is None else {"s3_key": job.result_s3_key},
        "error": None
        if job.error is None
        else {
            "code": job.error.code,
            "message": job.error.message,
        },
        "trace": {"request_id": job.request_id, "correlation_id": job.correlation_id},
        "api_version": job.api_version,
        "cached_from": job.cached_from,
        "links": {"self": base, "feedback": f"{base}/feedback"},
    }


JOB_REPRESENTATIONS: dict[str, Callable[[Job], dict[str, Any]]] = {"v1": job_v1, "v2": job_v2}


def feedback(entry: Feedback) -> dict[str, Any]:
    return feedback_to_dict(entry)


# -- the schemas of the representations above ---------------------------------------------

STATUSES = [status.value for status in JobStatus]
CACHED_FROM = {
    "description": "The completed job with the same blueprint whose result this job took at "
    "creation (the result cache), or null.",
    "oneOf": [{"type": "null"}, {"type": "string", "pattern": f"^{ids.JOB_ID.pattern}$"}],
}


def job_schemas(version: str) -> dict[str, Any]:
    """``Job`` (as ``job_v1`` or ``job_v2`` writes it) and the ``JobError`` it refers to."""
    job_error = obj({"code": {"type": "string"}, "message": {"type": "string"}})
    blueprint_format = {"type": "string", "enum": ["png", "jpg", "pdf"]}
    trace_ids = {
        "request_id": pattern(ids.REQUEST_ID.pattern),
        "correlation_id": pattern(ids.CORRELATION_ID.pattern),
    }
    size = {"type": "integer", "minimum": 1, "maximum": MAX_BLUEPRINT_BYTES}
    if version == "v1":
        job = obj(
            {
                "job_id": pattern(ids.JOB_ID.pattern),
                "status": {"type": "string", "enum": STATUSES},
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
                "blueprint_format": blueprint_format,
                "blueprint_hash": pattern("[0-9a-f]{64}"),
                "blueprint_size_bytes": size,
                "blueprint_s3_key": {"type": "string"},
                "result_s3_key": nullable({"type": "string"}),
                "error": nullable(ref("JobError")),
                **trace_ids,
                "api_version": {"type": "string", "enum": ["v1", "v2"]},
                "version": {"type": "integer", "minimum": 1},
                "cached_from": CACHED_FROM,
            }
        )
    else:
        job = obj(
            {
                "id": pattern(ids.JOB_ID.pattern),
                "status": {"type": "string", "enum": STATUSES},
                "done": {"type": "boolean"},
                "version": {"type": "integer", "minimum": 1},
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
                "blueprint": obj(
                    {
                        "format": blueprint_format,
                        "sha256": pattern("[0-9a-f]{64}"),
                        "size_bytes": size,
                    }
                ),
                "result": nullable(obj({"s3_key": {"type": "string"}})),
                "error": nullable(ref("JobError")),
                "trace": obj(trace_ids),
                "api_version": {"type": "string", "enum": ["v1", "v2"]},
                "cached_from": CACHED_FROM,
                "links": obj({"self": {"type": "string"}, "feedback": {"type": "string"}}),
            }
        )
    return {"Job": job, "JobError": job_error}


def feedback_schema() -> dict[str, Any]:
    return obj(
        {
            "feedback_id": pattern(ids.FEEDBACK_ID.pattern),
            "job_id": pattern(ids.JOB_ID.pattern),
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "comment": nullable({"type": "string"}),
            "created_at": TIMESTAMP,
        }
    )


# -- upload sessions and health, each beside its schema ------------------------------------


def upload_session(session: UploadSession, url: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """The session and the form with which to send the file (``url`` absolute)."""
    return {
        "upload_id": session.upload_id,
        "method": "POST",
        "url": url,
        "fields": dict(fields),
        "expires_at": format_timestamp(session.expires_at),
        "max_bytes": MAX_BLUEPRINT_BYTES,
    }


UPLOAD_SESSION_SCHEMA = obj(
    {
        "upload_id": pattern(ids.UPLOAD_ID.pattern),
        "method": {"const": "POST"},
        "url": {"type": "string", "format": "uri"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "expires_at": TIMESTAMP,
        "max_bytes": {"const": MAX_BLUEPRINT_BYTES},
    }
)
LIVENESS = {"status": "ok"}
LIVENESS_SCHEMA = obj({"status": {"const": "ok"}})


def readiness(checks: Mapping[str, bool]) -> dict[str, Any]:
    """Each store's state; sent as the 503's ``details`` when one is down."""
    return {name: "ok" if healthy else "unavailable" for name, healthy in checks.items()}


READINESS_SCHEMA = obj(
    {
        "status": {"const": "ready"},
        "checks": {"type": "object", "additionalProperties": {"enum": ["ok", "unavailable"]}},
    }
)
